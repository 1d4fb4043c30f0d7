"""The narrow waist: every owner/status change writes exactly one event, atomically."""

import pytest
from django.db import transaction

from leads.models import Lead, LeadEvent
from leads.services import TransitionError, TransitionRequest, lead_transition, leads_transition_bulk
from tests.factories import LeadFactory


@pytest.mark.django_db
def test_transition_changes_owner_and_writes_one_event(rep_a, manager):
    lead = LeadFactory(status="pooled")
    event = lead_transition(
        lead=lead, status="assigned", owner=rep_a, kind="claim", reason="claimed", actor=manager
    )
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == ("assigned", rep_a)
    assert lead.team == rep_a.team and lead.assigned_at is not None
    assert LeadEvent.objects.filter(lead=lead).count() == 1
    assert (event.from_status, event.to_status, event.from_owner, event.to_owner) == (
        "pooled",
        "assigned",
        None,
        rep_a,
    )
    assert event.actor == manager and event.reason == "claimed"


@pytest.mark.django_db
def test_pooling_remembers_the_previous_owner(rep_a):
    lead = LeadFactory(status="pooled")
    lead_transition(lead=lead, status="assigned", owner=rep_a, kind="route", reason="r")
    lead_transition(lead=lead, status="pooled", owner=None, kind="recall", reason="no follow-up")
    lead.refresh_from_db()
    assert lead.previous_owner == rep_a and lead.owner is None and lead.pooled_at is not None
    assert LeadEvent.objects.filter(lead=lead).count() == 2


@pytest.mark.django_db
def test_transition_to_an_impossible_state_changes_nothing(rep_a):
    lead = LeadFactory(status="pooled")
    with pytest.raises(TransitionError):
        lead_transition(lead=lead, status="assigned", owner=None, kind="route", reason="r")
    with pytest.raises(TransitionError):
        lead_transition(lead=lead, status="pooled", owner=rep_a, kind="route", reason="r")
    lead.refresh_from_db()
    assert lead.status == "pooled" and not LeadEvent.objects.filter(lead=lead).exists()


@pytest.mark.django_db
def test_lead_and_event_roll_back_together_when_the_caller_fails(rep_a):
    lead = LeadFactory(status="pooled")
    with pytest.raises(RuntimeError), transaction.atomic():
        lead_transition(lead=lead, status="assigned", owner=rep_a, kind="claim", reason="r")
        raise RuntimeError("boom after the transition")
    lead.refresh_from_db()
    assert lead.status == "pooled" and lead.owner is None
    assert not LeadEvent.objects.filter(lead=lead).exists()


@pytest.mark.django_db
def test_compare_and_set_does_nothing_when_someone_acted_first(rep_a, rep_b):
    lead = LeadFactory(status="pooled")
    lead_transition(lead=lead, status="assigned", owner=rep_a, kind="claim", reason="first")
    stale = Lead.objects.get(pk=lead.pk)
    stale.status = "pooled"  # what the second claimer saw before the first one won
    assert (
        lead_transition(
            lead=stale,
            status="assigned",
            owner=rep_b,
            kind="claim",
            reason="second",
            expect_status=["pooled"],
        )
        is None
    )
    lead.refresh_from_db()
    assert lead.owner == rep_a and LeadEvent.objects.filter(lead=lead).count() == 1


@pytest.mark.django_db
def test_bulk_transition_writes_one_event_per_lead_with_constant_queries(
    rep_a, django_assert_max_num_queries
):
    leads = LeadFactory.create_batch(50, status="pooled")
    requests = [
        TransitionRequest(lead=lead, status="assigned", owner=rep_a, kind="transfer", reason="bulk")
        for lead in leads
    ]
    with django_assert_max_num_queries(8):
        events = leads_transition_bulk(requests)
    assert len(events) == 50
    assert Lead.objects.filter(owner=rep_a, status="assigned").count() == 50
    assert LeadEvent.objects.filter(to_owner=rep_a, kind="transfer").count() == 50


@pytest.mark.django_db
def test_bulk_transition_skips_leads_no_longer_in_the_expected_status(rep_a, rep_b):
    first, second = LeadFactory.create_batch(2, status="pooled")
    lead_transition(lead=first, status="assigned", owner=rep_b, kind="claim", reason="won the race")
    requests = [
        TransitionRequest(lead=lead, status="assigned", owner=rep_a, kind="transfer", reason="bulk")
        for lead in (first, second)
    ]
    events = leads_transition_bulk(requests, expect_status=["pooled"])
    assert [e.lead_id for e in events] == [second.pk]
    first.refresh_from_db()
    assert first.owner == rep_b


@pytest.mark.django_db
def test_bulk_transition_writes_each_leads_own_values_when_they_vary(django_assert_max_num_queries):
    from django.utils import timezone

    from tests.factories import RepFactory

    reps = RepFactory.create_batch(12)
    leads = LeadFactory.create_batch(60, status="pooled")
    now = timezone.now()
    requests = [
        TransitionRequest(
            lead=lead,
            status="assigned",
            owner=reps[i % 12],
            kind="route",
            reason=f"r{i}",
            fields={"score": i},
        )
        for i, lead in enumerate(leads)
    ]
    with django_assert_max_num_queries(8):
        leads_transition_bulk(requests, now=now)
    for i, lead in enumerate(leads):
        lead.refresh_from_db()
        assert lead.owner_id == reps[i % 12].pk and lead.team_id == reps[i % 12].team_id
        assert lead.score == i
        assert lead.status == "assigned" and lead.assigned_at == now


@pytest.mark.django_db
def test_refused_bulk_and_unknown_field_leave_the_callers_transaction_usable(rep_a):
    lead = LeadFactory(status="pooled")
    with pytest.raises(TransitionError):
        leads_transition_bulk(
            [TransitionRequest(lead=lead, status="assigned", owner=None, kind="r", reason="")]
        )
    with pytest.raises(TransitionError):
        lead_transition(lead=lead, status="assigned", owner=rep_a, kind="r", reason="", name="x")
    lead.refresh_from_db()  # would raise TransactionManagementError if the refusal had poisoned it
    assert lead.status == "pooled" and not LeadEvent.objects.filter(lead=lead).exists()


@pytest.mark.django_db
def test_a_transition_inside_the_callers_transaction_adds_no_savepoint(rep_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lead = LeadFactory(status="pooled")
    with CaptureQueriesContext(connection) as ctx:
        lead_transition(lead=lead, status="assigned", owner=rep_a, kind="claim", reason="r")
        leads_transition_bulk(
            [TransitionRequest(lead=lead, status="pooled", owner=None, kind="recall", reason="r")]
        )
    assert not [q for q in ctx.captured_queries if "SAVEPOINT" in q["sql"].upper()]
    assert LeadEvent.objects.filter(lead=lead).count() == 2


@pytest.mark.django_db
def test_a_bulk_transition_works_from_the_stored_row_not_the_callers_stale_copy(rep_a, rep_b):
    lead = LeadFactory(status="assigned", owner=rep_a)
    stale = Lead.objects.select_related("owner").get(pk=lead.pk)
    Lead.objects.filter(pk=lead.pk).update(owner=rep_b, name="renamed meanwhile")

    leads_transition_bulk(
        [TransitionRequest(lead=stale, status="pooled", owner=None, kind="recall", reason="r")]
    )

    event = LeadEvent.objects.get(lead=lead)
    assert event.from_owner == rep_b  # the locked row's owner, not the copy's
    assert (stale.status, stale.owner, stale.previous_owner_id, stale.name) == (
        "pooled",
        None,
        rep_b.pk,
        "renamed meanwhile",
    )


@pytest.mark.django_db
def test_a_skipped_lead_still_shows_what_is_stored(rep_a):
    lead = LeadFactory(status="pooled")
    stale = Lead.objects.get(pk=lead.pk)
    Lead.objects.filter(pk=lead.pk).update(status="assigned", owner=rep_a)

    events = leads_transition_bulk(
        [TransitionRequest(lead=stale, status="assigned", owner=rep_a, kind="claim", reason="r")],
        expect_status=["pooled"],
    )

    assert events == [] and not LeadEvent.objects.filter(lead=lead).exists()
    assert (stale.status, stale.owner) == ("assigned", rep_a)
