"""Who is skipped and why: away, busy, departed, penalized, outside working hours, at capacity,
over the rolling 24 h quota — and a rep back from leave gets no catch-up burst."""

from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from assignment.services import lead_route
from leads.models import Lead
from tests.factories import AssignmentRuleFactory, LeadFactory, RepFactory, RuleSetFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def rule(team):
    rs = RuleSetFactory()
    rule = AssignmentRuleFactory(
        rule_set=rs, name="Team", position=1, strategy="round_robin", target_team=team
    )
    AssignmentRuleFactory(rule_set=rs, name="Default", position=2, strategy="pool", is_default=True)
    return rule


def _skips(decision):
    return {row["name"]: row.get("skip") for row in decision.explanation["rules"][0]["candidates"]}


@pytest.mark.parametrize("status", ["away", "busy", "departed"])
def test_unavailable_reps_are_skipped_with_their_status(rule, rep_a, rep_b, status):
    rep_a.status = status
    rep_a.save()
    decision = lead_route(lead=LeadFactory(status="new"))
    assert decision.owner == rep_b
    if status != "departed":  # a departed rep has left the team's scope altogether
        assert _skips(decision)[rep_a.display_name] == status


def test_a_penalized_rep_is_skipped_until_the_penalty_ends(rule, rep_a, rep_b):
    rep_a.penalty_until = MONDAY_10 + timedelta(hours=1)
    rep_a.save()
    first = lead_route(lead=LeadFactory(status="new"), now=MONDAY_10)
    assert first.owner == rep_b and _skips(first)[rep_a.display_name] == "penalized"
    later = lead_route(lead=LeadFactory(status="new"), now=MONDAY_10 + timedelta(hours=2))
    assert later.owner == rep_a


def test_working_hours_are_read_in_the_reps_time_zone(rule, rep_a, rep_b):
    rep_a.work_start, rep_a.work_end, rep_a.work_days = time(9), time(18), [1, 2, 3, 4, 5]
    rep_a.timezone = "Europe/Berlin"  # 10:00 in Shanghai is 03:00 in Berlin
    rep_a.save()
    decision = lead_route(lead=LeadFactory(status="new"), now=MONDAY_10)
    assert decision.owner == rep_b
    assert _skips(decision)[rep_a.display_name] == "off_hours"
    saturday = MONDAY_10 + timedelta(days=5, hours=8)  # Saturday 18:00 Shanghai = 11:00 Berlin
    assert lead_route(lead=LeadFactory(status="new"), now=saturday).owner == rep_b


def test_everyone_away_at_3_am_still_leaves_the_lead_in_a_defined_place(rule, rep_a, rep_b):
    for rep in (rep_a, rep_b):
        rep.work_start, rep.work_end = time(9), time(18)
        rep.save()
    three_am = datetime(2026, 11, 24, 3, 0, tzinfo=SHANGHAI)
    lead = LeadFactory(status="new")
    decision = lead_route(lead=lead, now=three_am)
    lead.refresh_from_db()
    assert (lead.status, lead.pool_reason) == ("pooled", "default")
    assert decision.explanation["rules"][0]["outcome"] == "no_eligible"


def test_capacity_is_a_hard_cap(rule, rep_a, rep_b):
    rep_a.max_open_leads = 2
    rep_a.save()
    for _ in range(8):
        lead_route(lead=LeadFactory(status="new"))
    counts = Counter(Lead.objects.filter(status="assigned").values_list("owner_id", flat=True))
    assert counts[rep_a.pk] == 2 and counts[rep_b.pk] == 6
    decision = lead_route(lead=LeadFactory(status="new"))
    assert decision.explanation["rules"][0]["candidates"][0]["detail"] == "2/2 open leads"


def test_the_daily_quota_counts_a_rolling_24_hours(rule, rep_a, rep_b):
    rep_a.daily_assign_quota = 1
    rep_a.save()
    assert lead_route(lead=LeadFactory(status="new"), now=MONDAY_10).owner == rep_a
    assert lead_route(lead=LeadFactory(status="new"), now=MONDAY_10 + timedelta(hours=1)).owner == rep_b
    # Still inside the window: running the assignment often never gives more than the quota.
    decision = lead_route(lead=LeadFactory(status="new"), now=MONDAY_10 + timedelta(hours=23))
    assert decision.owner == rep_b and _skips(decision)[rep_a.display_name] == "quota"
    assert lead_route(lead=LeadFactory(status="new"), now=MONDAY_10 + timedelta(hours=25)).owner == rep_a


def test_a_rep_back_from_leave_rejoins_the_rotation_without_a_catch_up_burst(rule, rep_a, rep_b):
    rep_c = RepFactory(team=rep_a.team)
    rep_a.status = "away"
    rep_a.save()
    for _ in range(6):
        lead_route(lead=LeadFactory(status="new"))
    rep_a.status = "active"
    rep_a.save()
    leads = [LeadFactory(status="new") for _ in range(6)]
    for lead in leads:
        lead_route(lead=lead)
    owners = Counter(Lead.objects.filter(pk__in=[x.pk for x in leads]).values_list("owner_id", flat=True))
    assert owners == {rep_a.pk: 2, rep_b.pk: 2, rep_c.pk: 2}
