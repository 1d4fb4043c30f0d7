"""activity_record stores the activity, moves the activity clocks and re-scores the lead."""

from datetime import timedelta

from django.utils import timezone

from leads.models import ScoringRule
from leads.services import activity_record
from lifecycle.services import activity_log
from tests.factories import LeadFactory


def test_a_customer_activity_moves_last_activity_but_not_the_rep_clock(db):
    lead = LeadFactory()
    now = timezone.now()

    activity_record(lead=lead, kind="webinar", actor="customer", occurred_at=now, now=now)

    lead.refresh_from_db()
    assert (lead.last_activity_at, lead.last_rep_activity_at) == (now, None)


def test_a_rep_activity_moves_both_clocks(db, rep_a):
    lead = LeadFactory()
    now = timezone.now()

    activity_record(lead=lead, kind="call", actor="rep", rep=rep_a, occurred_at=now, now=now)

    lead.refresh_from_db()
    assert lead.last_rep_activity_at == lead.last_activity_at == now


def test_an_older_activity_does_not_move_the_clock_back(db):
    now = timezone.now()
    lead = LeadFactory(last_activity_at=now)

    activity_record(lead=lead, kind="note", actor="system", occurred_at=now - timedelta(days=3), now=now)

    lead.refresh_from_db()
    assert lead.last_activity_at == now


def test_behaviour_rescores_and_reports_the_tier_change(db):
    ScoringRule.objects.create(name="demo", kind="behavioural", activity_kind="demo_request", points=85)
    lead = LeadFactory()

    activity = activity_log(lead=lead, kind="demo_request", actor="customer")

    lead.refresh_from_db()
    assert activity.tier_change == ("low", "high")
    assert (lead.score, lead.tier) == (85, "high")
    assert lead.score_breakdown == [
        {"rule": "demo", "rule_id": ScoringRule.objects.get().pk, "points": 85, "count": 1}
    ]


def test_rescoring_does_not_touch_owner_or_status(db, rep_a):
    lead = LeadFactory(status="pooled")

    activity_record(lead=lead, kind="webinar", actor="customer")

    lead.refresh_from_db()
    assert (lead.status, lead.owner) == ("pooled", None)
