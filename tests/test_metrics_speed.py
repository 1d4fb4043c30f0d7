"""Speed metrics (time to first contact, SLA rate, overdue now) against a hand-computed set."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm.selectors import DashboardFilters, DashboardScope, overdue_now_by_owner, speed_by, speed_levels
from leads.models import Activity
from tests.factories import ActivityFactory, LeadFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 14, 12, 0, tzinfo=SH)
T0 = NOW - timedelta(days=5)
FILTERS = DashboardFilters(start=date(2026, 3, 1), end=date(2026, 3, 14))
ALL = DashboardScope(team_ids=None)


def held(rep, *, assigned_at=T0, due_after=timedelta(hours=2), **fields):
    fields.setdefault("created_at", assigned_at - timedelta(hours=1))
    fields.setdefault("first_contact_due", assigned_at + due_after)
    return LeadFactory(status="assigned", owner=rep, team=rep.team, assigned_at=assigned_at, **fields)


def contact(lead, *, at, kind=Activity.Kind.CALL, actor=Activity.Actor.REP):
    return ActivityFactory(lead=lead, kind=kind, actor=actor, rep=lead.owner, occurred_at=at)


@pytest.fixture
def speed_set(rep_a, rep_b, outsider, source):
    # rep_a: 1 h (column), 3 h (activity), 5 h (customer activity ignored), one overdue,
    # one with a running clock, one old overdue lead created before the range.
    held(rep_a, source=source, first_contacted_at=T0 + timedelta(hours=1))
    contact(held(rep_a, source=source), at=T0 + timedelta(hours=3))
    third = held(rep_a, source=source)
    contact(third, at=T0 + timedelta(minutes=30), actor=Activity.Actor.CUSTOMER, kind=Activity.Kind.FORM)
    contact(third, at=T0 + timedelta(hours=5), kind=Activity.Kind.EMAIL)
    held(rep_a, source=source)  # never contacted, past due: overdue
    running = held(rep_a, source=source, assigned_at=NOW - timedelta(hours=1))
    contact(running, at=NOW - timedelta(minutes=30), kind=Activity.Kind.NOTE)  # a note is no contact
    held(rep_a, source=source, created_at=NOW - timedelta(days=200), assigned_at=NOW - timedelta(days=199))
    # rep_b: 2 h (an earlier owner's contact is ignored), 6 h.
    earlier = held(
        rep_b, source=source, due_after=timedelta(hours=4), first_contacted_at=T0 - timedelta(days=1)
    )
    contact(earlier, at=T0 + timedelta(hours=2))
    held(rep_b, source=source, due_after=timedelta(hours=4), first_contacted_at=T0 + timedelta(hours=6))
    # outsider (another team): 10 h.
    held(outsider, source=source, due_after=timedelta(hours=24), first_contacted_at=T0 + timedelta(hours=10))


def test_per_rep_median_and_p90_follow_percentile_cont(speed_set, rep_a, rep_b):
    rows = speed_by(scope=ALL, filters=FILTERS, group="owner_id", now=NOW)
    # rep_a: [1, 3, 5] h -> median 3, p90 = 3 + (5 - 3) * 0.8
    assert rows[rep_a.pk]["median_hours"] == 3.0
    assert rows[rep_a.pk]["p90_hours"] == 4.6
    # rep_b: [2, 6] h -> median 4, p90 = 2 + 4 * 0.9
    assert rows[rep_b.pk]["median_hours"] == 4.0
    assert rows[rep_b.pk]["p90_hours"] == 5.6


def test_per_rep_counts_and_sla_rate(speed_set, rep_a, rep_b):
    rows = speed_by(scope=ALL, filters=FILTERS, group="owner_id", now=NOW)
    a = rows[rep_a.pk]
    assert (a["assigned"], a["contacted"], a["not_contacted"]) == (5, 3, 2)
    # within: only the 1 h lead; judged: three contacted + one past due (the running clock waits)
    assert (a["within_sla"], a["sla_judged"], a["within_sla_rate"]) == (1, 4, 25.0)
    b = rows[rep_b.pk]
    assert (b["within_sla"], b["sla_judged"], b["within_sla_rate"]) == (1, 2, 50.0)


def test_per_team_and_overall(speed_set, team, other_team):
    teams = speed_by(scope=ALL, filters=FILTERS, group="team_id", now=NOW)
    # East: [1, 2, 3, 5, 6] -> median 3, p90 = 5 + (6 - 5) * 0.6
    assert teams[team.pk]["median_hours"] == 3.0
    assert teams[team.pk]["p90_hours"] == 5.6
    assert teams[team.pk]["within_sla_rate"] == 33.3
    assert teams[other_team.pk]["median_hours"] == 10.0
    everyone = speed_by(scope=ALL, filters=FILTERS, group=None, now=NOW)[None]
    # [1, 2, 3, 5, 6, 10] -> median 4, p90 = 6 + 4 * 0.5
    assert (everyone["median_hours"], everyone["p90_hours"]) == (4.0, 8.0)


def test_team_scope_leaves_other_teams_out(speed_set, team):
    scoped = speed_by(scope=DashboardScope(team_ids=(team.pk,)), filters=FILTERS, group=None, now=NOW)[None]
    assert scoped["assigned"] == 7
    assert scoped["median_hours"] == 3.0


def test_overdue_now_counts_any_creation_date_but_not_running_clocks(speed_set, rep_a, rep_b):
    assert overdue_now_by_owner(scope=ALL, filters=FILTERS, now=NOW) == {rep_a.pk: 2}


def test_a_deadline_cleared_at_first_contact_counts_as_on_time(rep_a, source):
    # The life cycle clears first_contact_due when the rep makes contact.
    held(rep_a, source=source, first_contacted_at=T0 + timedelta(hours=8), first_contact_due=None)
    row = speed_by(scope=ALL, filters=FILTERS, group=None, now=NOW)[None]
    assert (row["within_sla"], row["sla_judged"], row["median_hours"]) == (1, 1, 8.0)


def test_all_levels_at_once_match_each_level(speed_set):
    """On PostgreSQL speed_levels is one GROUPING SETS query; it must agree with speed_by."""
    levels = speed_levels(scope=ALL, filters=FILTERS, now=NOW)
    assert levels["rep"] == speed_by(scope=ALL, filters=FILTERS, group="owner_id", now=NOW)
    assert levels["team"] == speed_by(scope=ALL, filters=FILTERS, group="team_id", now=NOW)
    assert levels["all"] == speed_by(scope=ALL, filters=FILTERS, group=None, now=NOW)[None]
