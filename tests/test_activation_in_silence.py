"""静默期内激活: activity during silence. Rep-caused → the old rep, always; customer-caused → a
senior/expert old rep gets it back, a junior one's lead is re-routed by the 'reactivated' rules."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads.models import Lead
from lifecycle.services import activity_log
from lifecycle.sweeps import sweep_run
from tests.factories import (
    AssignmentRuleFactory,
    LeadFactory,
    RepFactory,
    RuleSetFactory,
    RuleTargetFactory,
    UserFactory,
    fund_lead_type,
    lead_hold,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SILENT_AT = T0 + timedelta(days=5)
DURING = SILENT_AT + timedelta(hours=12)


@pytest.fixture
def fund():
    return fund_lead_type()


@pytest.fixture
def reactivated_rules(rep_b):
    rule_set = RuleSetFactory(name="激活线索", trigger="reactivated")
    rule = AssignmentRuleFactory(rule_set=rule_set, name="激活 → 轮询", position=1, strategy="round_robin")
    RuleTargetFactory(rule=rule, rep=rep_b)
    AssignmentRuleFactory(rule_set=rule_set, name="默认 → 公海", position=2, strategy="pool", is_default=True)
    return rule_set


def silent_lead(*, fund, rep) -> Lead:
    lead = lead_hold(lead=LeadFactory(lead_type=fund), rep=rep, now=T0)
    activity_log(lead=lead, kind="call", actor="rep", rep=rep, now=T0 + timedelta(hours=1))
    assert sweep_run(now=SILENT_AT)["silenced"] == 1
    lead.refresh_from_db()
    assert lead.status == Lead.Status.SILENT
    return lead


def test_a_reply_to_the_junior_reps_outreach_returns_the_lead_to_them(fund, rep_a, reactivated_rules):
    lead = silent_lead(fund=fund, rep=rep_a)
    activity_log(lead=lead, kind="reply", actor="customer", caused_by_rep=True, now=DURING)
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == (Lead.Status.ASSIGNED, rep_a)
    assert lead.valid_until == DURING + timedelta(days=5)
    assert lead.silent_until is None
    assert lead.first_contact_due is None  # already contacted in this holding
    event = lead.events.exclude(to_status="").first()
    assert event.kind == "activated"
    assert "own outreach" in event.reason
    assert rep_a.user.notifications.filter(kind="reactivated", lead_id=lead.pk).exists()


def test_the_customers_own_activity_restores_a_senior_reps_lead(fund, reactivated_rules):
    senior = RepFactory(user=UserFactory(username="senior"), level="senior")
    lead = silent_lead(fund=fund, rep=senior)
    activity_log(lead=lead, kind="app_visit", actor="customer", now=DURING)
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == (Lead.Status.ASSIGNED, senior)
    assert "is senior: restored" in lead.events.exclude(to_status="").first().reason


def test_the_customers_own_activity_reroutes_a_junior_reps_lead(fund, rep_a, rep_b, reactivated_rules):
    lead = silent_lead(fund=fund, rep=rep_a)
    activity_log(lead=lead, kind="ad_click", actor="customer", now=DURING)
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == (Lead.Status.ASSIGNED, rep_b)
    assert lead.previous_owner == rep_a
    assert lead.events.exclude(to_status="").first().data["trigger"] == "reactivated"


def test_system_activity_does_not_wake_a_silent_lead(fund, rep_a, reactivated_rules):
    lead = silent_lead(fund=fund, rep=rep_a)
    activity_log(lead=lead, kind="note", actor="system", now=DURING)
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == (Lead.Status.SILENT, rep_a)
