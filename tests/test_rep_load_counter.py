"""Routing reads a rep's open leads from counters that database triggers keep on the lead
table (leads.models.RepLoad): every way a lead can enter or leave a rep's open leads, through
the waist or behind it, must move the counter as a fresh count would move."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignment.routing import RoutingContext
from assignment.services import lead_claim, lead_release, lead_route, leads_route_bulk
from leads.loads import rep_loads, rep_loads_fold
from leads.models import Lead, RepLoad, RepLoadDelta
from leads.selectors import open_lead_statuses
from leads.services import TransitionRequest, lead_transition, leads_create_bulk, leads_transition_bulk
from leads.writing import rows_insert, rows_update
from tests.factories import AssignmentRuleFactory, LeadFactory, RepFactory, RuleSetFactory

pytestmark = pytest.mark.django_db


def _counted() -> dict[int, int]:
    loads: dict[int, int] = {}
    for owner_id in Lead.objects.filter(status__in=open_lead_statuses(), owner__isnull=False).values_list(
        "owner_id", flat=True
    ):
        loads[owner_id] = loads.get(owner_id, 0) + 1
    return loads


def _kept(*reps) -> dict[int, int]:
    return rep_loads([rep.pk for rep in reps])[0]


def _assert_counters_match(*reps):
    counted = _counted()
    assert _kept(*reps) == {rep.pk: counted[rep.pk] for rep in reps if counted.get(rep.pk)}


def test_every_way_into_and_out_of_a_reps_open_leads_moves_the_counter(source, rep_a, rep_b):
    now = timezone.now()
    leads = LeadFactory.create_batch(6, status="pooled", source=source)
    lead_transition(lead=leads[0], status="assigned", owner=rep_a, kind="route", reason="r")
    leads_transition_bulk(
        [
            TransitionRequest(lead=lead, status="assigned", owner=rep_b, kind="route", reason="")
            for lead in leads[1:4]
        ]
    )
    _assert_counters_match(rep_a, rep_b)
    assert _kept(rep_a, rep_b) == {rep_a.pk: 1, rep_b.pk: 3}

    lead_transition(lead=leads[1], status="assigned", owner=rep_a, kind="transfer", reason="r")  # b -> a
    lead_transition(lead=leads[2], status="silent", owner=rep_b, kind="silence", reason="r")  # frozen
    lead_transition(lead=leads[3], status="pooled", owner=None, kind="recall", reason="r")  # out
    leads_create_bulk(
        [
            TransitionRequest(
                lead=Lead(source=source, status="new"),
                status="assigned",
                owner=rep_b,
                kind="route",
                reason="",
            )
        ]
    )
    unlogged = rows_insert([Lead(source=source, status="assigned", owner=rep_a, created_at=now)])[0]
    _assert_counters_match(rep_a, rep_b)
    assert _kept(rep_a, rep_b) == {rep_a.pk: 3, rep_b.pk: 1}

    # behind the waist: a queryset update, a save of every column, the lean writer, deletes
    Lead.objects.filter(pk=leads[0].pk).update(owner=rep_b)
    leads[4].status, leads[4].owner = "assigned", rep_a
    leads[4].save()
    leads[5].status, leads[5].owner = "assigned", rep_b
    rows_update([leads[5]], ["status", "owner"])
    Lead.objects.filter(pk=unlogged.pk).delete()  # (leads with events are protected)
    Lead.objects.filter(pk=leads[2].pk).update(name="renamed")  # neither owner nor status
    _assert_counters_match(rep_a, rep_b)

    rep_loads_fold()
    assert not RepLoadDelta.objects.exists()
    _assert_counters_match(rep_a, rep_b)


def test_claims_and_releases_move_the_counter(source, rep_a):
    lead = LeadFactory(status="pooled", source=source)
    assert lead_claim(lead=lead, rep=rep_a).ok
    assert _kept(rep_a) == {rep_a.pk: 1}
    lead_release(lead=lead, rep=rep_a, reason="not for me")
    assert _kept(rep_a) == {}
    _assert_counters_match(rep_a)


def test_routing_sees_the_counter_not_a_count(source, team, rep_a, rep_b):
    rule_set = RuleSetFactory(trigger="new", is_active=True)
    AssignmentRuleFactory(rule_set=rule_set, position=1, strategy="least_loaded", target_team=team)
    AssignmentRuleFactory(rule_set=rule_set, position=2, strategy="pool", is_default=True)
    held = LeadFactory.create_batch(2, status="pooled", source=source)
    leads_transition_bulk(
        [
            TransitionRequest(lead=lead, status="assigned", owner=rep_a, kind="route", reason="")
            for lead in held
        ]
    )
    decisions = leads_route_bulk([LeadFactory(status="new", source=source) for _ in range(4)])
    # least loaded: b takes leads until level with a (2:0 -> 2:2), then one each
    owners = [d.owner for d in decisions]
    assert owners[:2] == [rep_b, rep_b] and sorted(r.pk for r in owners[2:]) == sorted([rep_a.pk, rep_b.pk])
    _assert_counters_match(rep_a, rep_b)
    with CaptureQueriesContext(connection) as queries:
        RoutingContext(trigger="new", now=timezone.now(), lock=False).preload()
    assert not any("COUNT(" in q["sql"].upper() and "leads_lead" in q["sql"] for q in queries)


def test_a_fold_keeps_every_load_and_empties_the_deltas(source, team):
    reps = RepFactory.create_batch(5, team=team)
    for i, rep in enumerate(reps):
        for lead in LeadFactory.create_batch(i + 1, status="pooled", source=source):
            lead_transition(lead=lead, status="assigned", owner=rep, kind="route", reason="r")
    before = _kept(*reps)
    folded = rep_loads_fold()
    assert _kept(*reps) == before == {rep.pk: i + 1 for i, rep in enumerate(reps)}
    if connection.vendor == "postgresql":
        assert folded > 0 and not RepLoadDelta.objects.exists()
    else:
        assert folded == 0  # SQLite's triggers keep the counters themselves


def test_a_counter_written_wrong_is_reported_by_check_invariants(rep_a, capsys):
    lead = LeadFactory(status="pooled")
    lead_transition(lead=lead, status="assigned", owner=rep_a, kind="route", reason="r")
    rep_loads_fold()
    RepLoad.objects.filter(rep_id=rep_a.pk).update(open_leads=7)
    with pytest.raises(CommandError):
        call_command("check_invariants")
    assert f"rep {rep_a.pk}: load counter says 7 open leads, the leads say 1" in capsys.readouterr().out


def test_the_scheduled_sweep_folds_the_deltas(rep_a):
    from lifecycle.tasks import sweep

    lead = LeadFactory(status="pooled")
    lead_transition(lead=lead, status="assigned", owner=rep_a, kind="route", reason="r")
    sweep(now=timezone.now())
    assert not RepLoadDelta.objects.exists()
    assert _kept(rep_a) == {rep_a.pk: 1}


def test_single_lead_routing_reads_loads_in_one_statement(source, team, rep_a):
    rule_set = RuleSetFactory(trigger="new", is_active=True)
    AssignmentRuleFactory(rule_set=rule_set, position=1, strategy="least_loaded", target_team=team)
    AssignmentRuleFactory(rule_set=rule_set, position=2, strategy="pool", is_default=True)
    lead = LeadFactory(status="new", source=source)
    with CaptureQueriesContext(connection) as queries:
        assert lead_route(lead=lead).owner == rep_a
    assert not any("COUNT(" in q["sql"].upper() and 'FROM "leads_lead"' in q["sql"] for q in queries)


def test_loads_of_more_reps_than_one_statement_binds_are_read_in_chunks(rep_a):
    lead = LeadFactory(status="pooled")
    lead_transition(lead=lead, status="assigned", owner=rep_a, kind="route", reason="r")
    loads, _ = rep_loads([rep_a.pk, *range(10**6, 10**6 + 1200)])
    assert loads == {rep_a.pk: 1}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's triggers keep no deltas")
def test_routing_that_read_many_deltas_folds_them_after_its_commit(
    source, team, rep_a, monkeypatch, django_capture_on_commit_callbacks
):
    import leads.loads

    monkeypatch.setattr(leads.loads, "FOLD_FROM", 1)
    rule_set = RuleSetFactory(trigger="new", is_active=True)
    AssignmentRuleFactory(rule_set=rule_set, position=1, strategy="least_loaded", target_team=team)
    AssignmentRuleFactory(rule_set=rule_set, position=2, strategy="pool", is_default=True)
    lead = LeadFactory(status="pooled", source=source)
    lead_transition(lead=lead, status="assigned", owner=rep_a, kind="route", reason="r")
    assert RepLoadDelta.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert lead_route(lead=LeadFactory(status="new", source=source)).owner == rep_a
    # the fold ran once the routing committed (here: when the captured block ended)
    assert not RepLoadDelta.objects.exists()
    assert _kept(rep_a) == {rep_a.pk: 2} and RepLoad.objects.get(rep_id=rep_a.pk).open_leads == 2
