"""Conversion, sales cycle and the stage funnel against a hand-computed set."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm.selectors import DashboardFilters, DashboardScope, conversion_by, sales_cycle_by_team, stage_funnel
from tests.factories import LeadEventFactory, LeadFactory, LeadTypeFactory, SourceFactory, StageFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 14, 12, 0, tzinfo=SH)
FILTERS = DashboardFilters(start=date(2026, 2, 1), end=date(2026, 3, 14))
ALL = DashboardScope(team_ids=None)


def by_key(rows):
    return {r["key"]: r for r in rows}


@pytest.fixture
def stages(db):
    fund = LeadTypeFactory(code="fund", name="基金")
    return {
        "type": fund,
        "s1": StageFactory(lead_type=fund, name="开场白", position=1),
        "s2": StageFactory(lead_type=fund, name="待支付", position=2),
        "won": StageFactory(lead_type=fund, name="已成交", position=3, is_won=True),
    }


@pytest.fixture
def outcome_set(rep_a, rep_b, source, stages):
    expo = SourceFactory(code="expo", name="Expo", channel="event")
    created = NOW - timedelta(days=10)
    common = {"created_at": created, "team": rep_a.team}
    # rep_a: converted by status, converted by a won stage, lost, open -> 2 / 4
    LeadFactory(owner=None, status="converted", source=source, score=90, tier="high", **common)
    LeadFactory(
        owner=rep_a, status="assigned", stage=stages["won"], source=source, score=85, tier="high", **common
    )
    LeadFactory(owner=None, status="lost", source=expo, score=20, tier="low", **common)
    LeadFactory(owner=rep_a, status="assigned", source=expo, score=60, tier="medium", **common)
    # rep_b: converted, open -> 1 / 2
    LeadFactory(owner=None, status="converted", source=expo, score=55, tier="medium", **common)
    LeadFactory(owner=rep_b, status="assigned", source=source, score=10, tier="low", **common)
    # created before the range: not counted
    LeadFactory(owner=None, status="converted", source=source, created_at=NOW - timedelta(days=400))
    return {"expo": expo}


def test_conversion_per_source_and_channel(outcome_set, source):
    rows = by_key(conversion_by(scope=ALL, filters=FILTERS, dimension="source"))
    web, expo = rows[source.pk], rows[outcome_set["expo"].pk]
    assert (web["leads"], web["converted"], web["lost"], web["open"], web["rate"]) == (3, 2, 0, 1, 66.7)
    assert (expo["leads"], expo["converted"], expo["lost"], expo["open"], expo["rate"]) == (3, 1, 1, 1, 33.3)
    channels = by_key(conversion_by(scope=ALL, filters=FILTERS, dimension="channel"))
    assert channels["form"]["rate"] == 66.7
    assert channels["event"]["rate"] == 33.3


def test_conversion_per_rep_counts_the_current_owner(outcome_set, rep_a, rep_b):
    rows = by_key(conversion_by(scope=ALL, filters=FILTERS, dimension="rep"))
    assert rows[rep_a.pk]["converted"] == 1  # the won-stage lead; terminal leads have no owner here
    assert rows[None]["leads"] == 3


def test_conversion_per_tier_and_band_flags_small_cells(outcome_set):
    tiers = by_key(conversion_by(scope=ALL, filters=FILTERS, dimension="tier"))
    assert (tiers["high"]["leads"], tiers["high"]["rate"]) == (2, 100.0)
    assert (tiers["medium"]["leads"], tiers["medium"]["rate"]) == (2, 50.0)
    assert (tiers["low"]["leads"], tiers["low"]["rate"]) == (2, 0.0)
    assert all(r["too_few"] for r in tiers.values())
    bands = by_key(conversion_by(scope=ALL, filters=FILTERS, dimension="band"))  # default bands 80 / 50
    assert {k: r["leads"] for k, r in bands.items()} == {"high": 2, "medium": 2, "low": 2}


def test_sales_cycle_of_converted_leads_closed_in_the_range(rep_a, source, team):
    for created_days_ago, closed_days_ago in ((10, 8), (20, 14), (30, 20)):
        LeadFactory(
            status="converted",
            source=source,
            team=team,
            created_at=NOW - timedelta(days=created_days_ago),
            closed_at=NOW - timedelta(days=closed_days_ago),
        )
    LeadFactory(status="lost", source=source, team=team, created_at=NOW - timedelta(days=9), closed_at=NOW)
    cycle = sales_cycle_by_team(scope=ALL, filters=FILTERS)
    # [2, 6, 10] days -> avg 6, median 6, p90 = 6 + 4 * 0.8
    assert cycle["all"] == {"converted": 3, "avg_days": 6.0, "median_days": 6.0, "p90_days": 9.2}
    assert cycle[team.pk]["median_days"] == 6.0


def test_stage_funnel_entries_and_dwell(rep_a, source, stages):
    t0 = NOW - timedelta(days=20)
    x = LeadFactory(
        status="assigned", owner=rep_a, team=rep_a.team, source=source, stage=stages["s2"], created_at=t0
    )
    y = LeadFactory(
        status="converted",
        team=rep_a.team,
        source=source,
        stage=stages["won"],
        created_at=t0,
        closed_at=t0 + timedelta(days=4),
    )
    for lead, moves in (
        (x, [("s1", 0), ("s2", 2)]),
        (y, [("s1", 0), ("s2", 1), ("won", 4)]),
    ):
        for key, day in moves:
            LeadEventFactory(
                lead=lead, kind="stage", data={"to": stages[key].pk}, at=t0 + timedelta(days=day)
            )
    funnel = {r["stage"]: r for r in stage_funnel(scope=ALL, filters=FILTERS, now=NOW)}
    s1, s2, won = funnel["开场白"], funnel["待支付"], funnel["已成交"]
    # S1 stays: 2 d and 1 d -> median 1.5, p90 1.9
    assert (s1["entered"], s1["dwell_median_days"], s1["dwell_p90_days"], s1["still_there"]) == (
        2,
        1.5,
        1.9,
        0,
    )
    # S2: y stayed 3 d; x is still there
    assert (s2["entered"], s2["dwell_median_days"], s2["still_there"], s2["now_in_stage"]) == (2, 3.0, 1, 1)
    assert (won["entered"], won["dwell_median_days"], won["now_in_stage"]) == (1, 0.0, 1)
