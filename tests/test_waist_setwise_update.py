"""The bulk waist writes a batch in one set-wise UPDATE: shared values once, each lead's own
owner, team and clocks per row — and every row ends with exactly its own values."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Lead
from leads.services import TransitionRequest, leads_transition_bulk
from tests.factories import LeadFactory, RepFactory, TeamFactory


@pytest.mark.django_db
def test_each_lead_gets_its_own_owner_team_and_values_in_one_update():
    teams = [TeamFactory(name="east"), TeamFactory(name="west")]
    reps = [RepFactory(team=teams[i % 2]) for i in range(3)]
    leads = LeadFactory.create_batch(7, status="pooled")
    now = timezone.now()
    requests = [
        TransitionRequest(
            lead=lead,
            status="assigned",
            owner=reps[i % 3],
            kind="route",
            reason="r",
            fields={"score": 10 * i, "score_breakdown": [{"rule": f"r{i}", "points": i}]},
        )
        for i, lead in enumerate(leads)
    ]

    with CaptureQueriesContext(connection) as ctx:
        events = leads_transition_bulk(requests, now=now)

    # One statement updates the leads (on PostgreSQL it also carries the events' INSERT).
    updates = [q for q in ctx.captured_queries if 'UPDATE "leads_lead"' in q["sql"]]
    assert len(updates) == 1 and len(events) == 7
    for i, lead in enumerate(leads):
        stored = Lead.objects.get(pk=lead.pk)
        assert (stored.status, stored.owner_id, stored.team_id) == (
            "assigned",
            reps[i % 3].pk,
            reps[i % 3].team_id,
        )
        assert stored.score == 10 * i
        assert stored.score_breakdown == [{"rule": f"r{i}", "points": i}]
        assert stored.assigned_at == now and stored.updated_at == now


@pytest.mark.django_db
def test_a_batch_where_some_values_are_empty_keeps_each_rows_own(rep_a):
    team = TeamFactory(name="pool team")
    leads = LeadFactory.create_batch(5, status="assigned", owner=rep_a)
    now = timezone.now()

    leads_transition_bulk(
        [
            TransitionRequest(
                lead=lead,
                status="pooled",
                owner=None,
                kind="recall",
                reason="r",
                fields={"pool_team": team if i % 2 else None, "pool_reason": "recall" if i % 2 else ""},
            )
            for i, lead in enumerate(leads)
        ],
        now=now,
    )

    for i, lead in enumerate(leads):
        stored = Lead.objects.get(pk=lead.pk)
        assert (stored.status, stored.owner_id, stored.previous_owner_id) == ("pooled", None, rep_a.pk)
        assert stored.pool_team_id == (team.pk if i % 2 else None)
        assert stored.pool_reason == ("recall" if i % 2 else "")
        assert stored.pooled_at == now


@pytest.mark.django_db
def test_a_batch_larger_than_the_backends_parameter_limit_is_written_whole(monkeypatch):
    reps = [RepFactory(team=TeamFactory(name=f"t{i}")) for i in range(3)]
    leads = LeadFactory.create_batch(9, status="pooled")
    monkeypatch.setattr(connection.features, "max_query_params", 12)

    leads_transition_bulk(
        [
            TransitionRequest(lead=lead, status="assigned", owner=reps[i % 3], kind="route", reason="r")
            for i, lead in enumerate(leads)
        ]
    )

    for i, lead in enumerate(leads):
        stored = Lead.objects.get(pk=lead.pk)
        assert (stored.owner_id, stored.team_id) == (reps[i % 3].pk, reps[i % 3].team_id)
