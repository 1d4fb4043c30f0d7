"""Distribution and fairness: received vs weight, load vs capacity, recalls, penalties, Gini."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm.selectors import DashboardFilters, DashboardScope, distribution_by_rep, fairness_summary, gini
from tests.factories import LeadEventFactory, LeadFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 14, 12, 0, tzinfo=SH)
AT = NOW - timedelta(days=3)
FILTERS = DashboardFilters(start=date(2026, 3, 1), end=date(2026, 3, 14))
ALL = DashboardScope(team_ids=None)


def event(kind, *, to=None, frm=None, to_status="", from_status="", at=AT, **fields):
    return LeadEventFactory(
        kind=kind, to_owner=to, from_owner=frm, to_status=to_status, from_status=from_status, at=at, **fields
    )


@pytest.fixture
def fairness_set(rep_a, rep_b, outsider, source):
    rep_b.weight = 3
    rep_b.penalty_until = NOW + timedelta(days=1)
    rep_b.penalty_reason = "hoarding without follow-up"
    rep_b.save()
    outsider.status = "away"
    outsider.save()
    for _ in range(3):
        event("route", to=rep_a, to_status="assigned", from_status="new")
        event("route", to=rep_b, to_status="assigned", from_status="new")
    event("claim", to=rep_a, to_status="assigned", from_status="pooled")
    event("transfer", to=rep_a, frm=rep_b, to_status="assigned", from_status="assigned")
    event(
        "reactivate", to=rep_a, frm=rep_a, to_status="assigned", from_status="silent"
    )  # same owner: not received
    event("route", to=rep_a, to_status="assigned", at=NOW - timedelta(days=30))  # before the range
    event("sla_recall", frm=rep_a, to_status="pooled", from_status="assigned", reason="first contact late")
    event("release", frm=rep_a, to_status="pooled", from_status="assigned", reason="not my region")
    event("release", frm=rep_b, to_status="pooled", from_status="silent", reason="silence ended")
    for status in ("assigned", "assigned", "silent"):
        LeadFactory(status=status, owner=rep_a, team=rep_a.team, source=source)


def rows_by_rep(rows):
    return {r["rep_id"]: r for r in rows}


def test_received_is_split_by_how_and_weighed(fairness_set, rep_a, rep_b):
    rows = rows_by_rep(distribution_by_rep(scope=ALL, filters=FILTERS, now=NOW))
    a, b = rows[rep_a.pk], rows[rep_b.pk]
    assert (a["received"], a["routed"], a["claimed"], a["transferred_in"], a["reactivated"]) == (
        5,
        3,
        1,
        1,
        0,
    )
    assert (b["received"], b["routed"]) == (3, 3)
    # weights 1 and 3 among eligible reps (the outsider is away)
    assert (a["weight_share"], b["weight_share"]) == (25.0, 75.0)
    assert (a["routed_share"], a["share_vs_weight"]) == (50.0, 2.0)
    assert (b["routed_share"], b["share_vs_weight"]) == (50.0, 0.67)


def test_load_recalls_and_penalties(fairness_set, rep_a, rep_b):
    rows = rows_by_rep(distribution_by_rep(scope=ALL, filters=FILTERS, now=NOW))
    a, b = rows[rep_a.pk], rows[rep_b.pk]
    assert (a["open_load"], a["capacity"], a["load_pct"]) == (2, 50, 4.0)  # a silent lead is not open
    assert (a["sla_recall"], a["released"], a["released_after_silence"]) == (1, 1, 0)
    assert (b["transferred_out"], b["released"], b["released_after_silence"]) == (1, 0, 1)
    assert b["penalised"] and b["penalty_reason"] == "hoarding without follow-up"
    assert not a["penalised"]


def test_fairness_uses_routed_per_weight_of_eligible_reps(fairness_set):
    summary = fairness_summary(rows=distribution_by_rep(scope=ALL, filters=FILTERS, now=NOW))
    # routed ÷ weight = [3, 1]: Gini = sum|xi - xj| / (2 n² mean) = 4 / 16
    assert summary == {"reps": 2, "gini": 0.25, "max_per_weight": 3.0, "min_per_weight": 1.0, "spread": 3.0}


def test_team_scope_hides_other_teams_reps(fairness_set, rep_a, outsider, team):
    rows = rows_by_rep(
        distribution_by_rep(scope=DashboardScope(team_ids=(team.pk,)), filters=FILTERS, now=NOW)
    )
    assert rep_a.pk in rows and outsider.pk not in rows


@pytest.mark.parametrize(
    ("values", "expected"),
    [([5, 5, 5], 0.0), ([0, 0, 10], 0.667), ([1, 3], 0.25), ([], None), ([0, 0], None)],
)
def test_gini_of_known_distributions(values, expected):
    assert gini(values) == expected
