"""Automatic recall when a rep does not follow up in time: no first contact within the SLA, or no
progress for too long. The policy's on_breach says where the lead goes; the reason names the
window and the policy in words a manager understands."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads.models import Lead
from lifecycle.services import activity_log
from lifecycle.sweeps import sweep_run
from tests.factories import (
    AssignmentRuleFactory,
    LeadFactory,
    PolicyFactory,
    RepFactory,
    RuleSetFactory,
    RuleTargetFactory,
    SourceFactory,
    TeamFactory,
    lead_hold,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def hot():
    return SourceFactory(code="web", heat="hot")


@pytest.fixture
def hot_policy():
    return PolicyFactory(
        name="Hot form leads",
        heat="hot",
        first_contact_sla=timedelta(hours=24),
        progress_window=timedelta(days=4),
    )


def test_no_first_contact_within_24_h_recalls_to_the_pool(hot, hot_policy, rep_a):
    lead = lead_hold(lead=LeadFactory(source=hot), rep=rep_a, now=T0)
    assert sweep_run(now=T0 + timedelta(hours=23, minutes=59))["first_contact_recalls"] == 0
    assert sweep_run(now=T0 + timedelta(hours=24))["first_contact_recalls"] == 1
    lead.refresh_from_db()
    assert (lead.status, lead.owner, lead.previous_owner) == (Lead.Status.POOLED, None, rep_a)
    assert lead.pool_reason == "recalled"
    event = lead.events.exclude(to_status="").first()
    assert event.kind == "sla_recall"
    assert event.reason == "No first contact within 24 h (policy 'Hot form leads'): back to the pool"
    assert rep_a.user.notifications.filter(kind="recalled", lead_id=lead.pk).exists()


def test_a_cold_lead_gets_its_own_longer_window(hot_policy, rep_a):
    PolicyFactory(name="Expo cards", heat="cold", first_contact_sla=timedelta(days=7))
    lead = lead_hold(lead=LeadFactory(source=SourceFactory(code="expo", heat="cold")), rep=rep_a, now=T0)
    assert lead.first_contact_due == T0 + timedelta(days=7)
    assert sweep_run(now=T0 + timedelta(days=2))["first_contact_recalls"] == 0


def test_no_progress_for_more_than_the_window_recalls(hot, hot_policy, rep_a):
    lead = lead_hold(lead=LeadFactory(source=hot), rep=rep_a, now=T0)
    activity_log(lead=lead, kind="call", actor="rep", rep=rep_a, now=T0 + timedelta(hours=3))
    lead.refresh_from_db()
    assert lead.progress_due == T0 + timedelta(hours=3, days=4)
    counts = sweep_run(now=T0 + timedelta(hours=3, days=4))
    assert counts["progress_recalls"] == 1
    event = lead.events.exclude(to_status="").first()
    assert event.reason == "No progress for more than 4 days (policy 'Hot form leads'): back to the pool"


def test_a_colleagues_call_is_not_the_holders_first_contact(hot, hot_policy, rep_a, rep_b):
    lead = lead_hold(lead=LeadFactory(source=hot), rep=rep_a, now=T0)
    activity_log(lead=lead, kind="call", actor="rep", rep=rep_b, now=T0 + timedelta(hours=1))
    lead.refresh_from_db()
    assert lead.first_contact_due == T0 + timedelta(hours=24)


def test_reroute_on_breach_gives_the_lead_to_someone_else_by_the_recycled_rules(hot, rep_a, rep_b):
    PolicyFactory(
        name="Hot form leads", heat="hot", first_contact_sla=timedelta(hours=24), on_breach="reroute"
    )
    rule_set = RuleSetFactory(name="回收", trigger="recycled")
    rule = AssignmentRuleFactory(
        rule_set=rule_set, position=1, strategy="round_robin", target_team=rep_a.team
    )
    RuleTargetFactory(rule=rule, rep=rep_a)
    RuleTargetFactory(rule=rule, rep=rep_b)
    AssignmentRuleFactory(rule_set=rule_set, position=2, strategy="pool", is_default=True)
    lead = lead_hold(lead=LeadFactory(source=hot), rep=rep_a, now=T0)
    counts = sweep_run(now=T0 + timedelta(hours=24))
    assert (counts["first_contact_recalls"], counts["rerouted"]) == (1, 1)
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == (Lead.Status.ASSIGNED, rep_b)
    assert lead.first_contact_due == T0 + timedelta(hours=48)


def test_next_tier_on_breach_offers_the_lead_to_the_next_tiers_pool(hot, team):
    tier2 = TeamFactory(name="Tier two", tier=2)
    PolicyFactory(
        name="Hot form leads",
        heat="hot",
        first_contact_sla=timedelta(hours=24),
        on_breach="next_tier",
        cascade_window=timedelta(hours=4),
    )
    rep = RepFactory(team=team)
    lead = lead_hold(lead=LeadFactory(source=hot), rep=rep, now=T0)
    sweep_run(now=T0 + timedelta(hours=24))
    lead.refresh_from_db()
    assert (lead.status, lead.pool_team, lead.pool_reason) == (Lead.Status.POOLED, tier2, "cascade")
    assert lead.cascade_due == T0 + timedelta(hours=28)


def test_top_performer_on_breach_gives_the_lead_to_the_best_rep_of_the_team_but_never_back(hot, rep_a, rep_b):
    PolicyFactory(
        name="Hot form leads", heat="hot", first_contact_sla=timedelta(hours=24), on_breach="top_performer"
    )
    lead = lead_hold(lead=LeadFactory(source=hot), rep=rep_a, now=T0)
    counts = sweep_run(now=T0 + timedelta(hours=24))
    assert (counts["first_contact_recalls"], counts["rerouted"]) == (1, 1)
    lead.refresh_from_db()
    assert (lead.status, lead.owner, lead.previous_owner) == (Lead.Status.ASSIGNED, rep_b, rep_a)
    recall = lead.events.filter(kind="sla_recall").get()
    assert recall.reason == (
        "No first contact within 24 h (policy 'Hot form leads'): to the best-converting rep of the team"
    )
