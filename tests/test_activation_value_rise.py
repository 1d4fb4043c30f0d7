"""Recall on value increase: a nurturing lead whose score rises to high through the customer's own
activity is routed by the 'new' rules at once; the same rise caused by a rep never recalls, and a
lead a rep holds is never taken away because it became valuable (fairness)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads.models import Lead, ScoreBand, ScoringRule
from leads.services import lead_transition
from lifecycle.services import activity_log
from tests.factories import AssignmentRuleFactory, LeadFactory, RuleSetFactory, RuleTargetFactory, lead_hold

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def scoring():
    for tier, min_score, action in [("high", 80, "route"), ("medium", 50, "route"), ("low", 0, "nurture")]:
        ScoreBand.objects.update_or_create(tier=tier, defaults={"min_score": min_score, "action": action})
    ScoringRule.objects.create(name="预约演示", kind="behavioural", activity_kind="demo_request", points=90)
    ScoringRule.objects.create(name="电话", kind="behavioural", activity_kind="call", points=90)


@pytest.fixture
def new_rules(rep_b):
    rule_set = RuleSetFactory(name="新线索分配", trigger="new")
    rule = AssignmentRuleFactory(
        rule_set=rule_set,
        name="高价值",
        position=1,
        strategy="round_robin",
        conditions=[{"field": "tier", "op": "eq", "value": "high"}],
    )
    RuleTargetFactory(rule=rule, rep=rep_b)
    AssignmentRuleFactory(
        rule_set=rule_set, name="低价值 → 孵化", position=2, strategy="nurture", is_default=True
    )
    return rule_set


def nurturing_lead() -> Lead:
    lead = LeadFactory(status="new")
    lead_transition(
        lead=lead, status=Lead.Status.NURTURING, owner=None, kind="route", reason="low value", now=NOW
    )
    lead.refresh_from_db()
    return lead


def test_the_customers_own_rise_to_high_takes_a_nurturing_lead_to_sales(new_rules, rep_b):
    lead = nurturing_lead()
    activity = activity_log(lead=lead, kind="demo_request", actor="customer", now=NOW + timedelta(hours=1))
    assert activity.tier_change == ("low", "high")
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == (Lead.Status.ASSIGNED, rep_b)


def test_a_rise_caused_by_a_reps_outreach_does_not_recall_a_nurturing_lead(new_rules):
    lead = nurturing_lead()
    activity_log(
        lead=lead, kind="demo_request", actor="customer", caused_by_rep=True, now=NOW + timedelta(hours=1)
    )
    lead.refresh_from_db()
    assert lead.tier == "high"
    assert lead.status == Lead.Status.NURTURING


def test_a_rise_caused_by_the_owning_rep_never_recalls_their_lead(new_rules, rep_a):
    lead = lead_hold(lead=LeadFactory(), rep=rep_a, now=NOW)
    activity_log(lead=lead, kind="call", actor="rep", rep=rep_a, now=NOW + timedelta(hours=1))
    activity_log(
        lead=lead, kind="demo_request", actor="customer", caused_by_rep=True, now=NOW + timedelta(hours=2)
    )
    lead.refresh_from_db()
    assert lead.tier == "high"
    assert (lead.status, lead.owner) == (Lead.Status.ASSIGNED, rep_a)
    assert lead.events.exclude(to_status="").count() == 1
