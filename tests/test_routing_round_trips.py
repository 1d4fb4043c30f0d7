"""A single-lead routing ends in one write statement on PostgreSQL: the rule's rotation cursor,
its hit counter and the lead's UPDATE travel as WITH clauses of the event's INSERT
(leads.writing.Writes), the routing mutex is taken by the statement that reads the catalogue
tokens, and the rule's cursor is read and locked by the statement that locks its reps. Whatever
the shape, every write lands, and the next lead sees them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assignment.models import RotationCursor
from assignment.services import lead_route
from leads.models import Lead, LeadEvent, ScoreBand
from lifecycle.intake import lead_intake
from tests.factories import AssignmentRuleFactory, LeadFactory, RuleSetFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_rotation(team, rep_a, rep_b):
    """The live rule set: a default round-robin rule over the team of rep_a and rep_b."""
    return AssignmentRuleFactory(
        rule_set=RuleSetFactory(), strategy="round_robin", target_team=team, is_default=True
    )


def _writes(queries: list[dict]) -> list[str]:
    return [q["sql"] for q in queries if 'UPDATE "' in q["sql"] or 'INSERT INTO "' in q["sql"]]


def test_a_routed_lead_writes_its_owner_event_cursor_and_hit_counter(team_rotation, rep_a, rep_b):
    first = lead_route(lead=LeadFactory(status="new"))
    second = lead_route(lead=LeadFactory(status="new"))

    assert {first.owner, second.owner} == {rep_a, rep_b}  # the cursor moved between the two
    team_rotation.refresh_from_db()
    assert team_rotation.hit_count == 2 and team_rotation.last_matched_at is not None
    cursor = RotationCursor.objects.get(key=f"rule:{team_rotation.pk}")
    assert cursor.state
    for decision in (first, second):
        stored = Lead.objects.get(pk=decision.lead.pk)
        assert (stored.status, stored.owner_id) == ("assigned", decision.owner.pk)
        assert LeadEvent.objects.filter(lead=stored, kind="route", to_owner=decision.owner).count() == 1


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_on_postgresql_the_writes_of_one_routed_lead_are_one_statement(team_rotation):
    lead_route(lead=LeadFactory(status="new"))  # creates the cursor row and the rule snapshot
    lead = LeadFactory(status="new")

    with CaptureQueriesContext(connection) as ctx:
        decision = lead_route(lead=lead)

    writes = _writes(ctx.captured_queries)
    assert len(writes) == 1, writes
    (statement,) = writes
    for part in (
        'UPDATE "assignment_rotationcursor"',
        'UPDATE "assignment_assignmentrule"',
        'UPDATE "leads_lead"',
        'INSERT INTO "leads_leadevent"',
    ):
        assert part in statement
    assert "crm_catalogversion" in ctx.captured_queries[0]["sql"]
    assert "FOR UPDATE" in ctx.captured_queries[0]["sql"]  # the routing mutex, in the same read
    assert decision.event is not None and decision.event.pk is not None


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_on_postgresql_a_picking_rule_reads_its_cursor_with_its_reps(team_rotation, rep_a, rep_b):
    first = lead_route(lead=LeadFactory(status="new"))  # creates the cursor row
    lead = LeadFactory(status="new")

    with CaptureQueriesContext(connection) as ctx:
        second = lead_route(lead=lead)

    reads = [q["sql"] for q in ctx.captured_queries if 'FROM "assignment_rotationcursor"' in q["sql"]]
    # The mutex (with the catalogue tokens) and the rule's cursor (with the rep lock): no read
    # of the cursor on its own.
    assert len(reads) == 2, reads
    assert 'FROM "crm_rep"' in reads[1] and "FOR NO KEY UPDATE" in reads[1]
    assert {first.owner, second.owner} == {rep_a, rep_b}  # the state read that way moved on


def test_a_fresh_intake_lead_carries_the_routing_writes_with_its_insert(team_rotation, rep_a, rep_b):
    source = SourceFactory(code="web", channel="form", heat="hot")
    for tier, minimum in (("high", 80), ("medium", 50), ("low", 0)):  # every tier goes to routing
        ScoreBand.objects.update_or_create(tier=tier, defaults={"min_score": minimum, "action": "route"})
    owners = []
    for i in range(2):
        result = lead_intake(data={"name": f"n{i}", "phone": f"1380013800{i}"}, source=source)
        owners.append(Lead.objects.get(pk=result.lead.pk).owner)

    assert set(owners) == {rep_a, rep_b}
    team_rotation.refresh_from_db()
    assert team_rotation.hit_count == 2
