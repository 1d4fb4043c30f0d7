"""Score calibration: conversion per score decile and per band, with counts and a small-cell flag."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from crm.selectors import MIN_LEADS_TO_JUDGE, DashboardFilters, DashboardScope, conversion_by, score_deciles
from tests.factories import LeadFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 14, 12, 0, tzinfo=SH)
FILTERS = DashboardFilters(start=date(2026, 3, 1), end=date(2026, 3, 14))
ALL = DashboardScope(team_ids=None)


def ten_leads(source, *, copies=1):
    for score in range(0, 100, 10):
        for _ in range(copies):
            LeadFactory(
                source=source,
                score=score,
                status="converted" if score >= 70 else "pooled",
                created_at=NOW - timedelta(days=1),
            )


def test_deciles_split_at_score_percentiles(source):
    ten_leads(source)
    rows = score_deciles(scope=ALL, filters=FILTERS)
    # cut d = percentile_cont(d/10) over 0..90 = 9·d: one lead per decile
    assert [(r["decile"], r["min_score"], r["leads"]) for r in rows] == [
        (d, 10 * (d - 1), 1) for d in range(1, 11)
    ]
    assert [r["rate"] for r in rows] == [0.0] * 7 + [100.0] * 3
    assert all(r["too_few"] for r in rows)


def test_bands_use_the_current_thresholds_and_flag_small_cells(source):
    ten_leads(source, copies=MIN_LEADS_TO_JUDGE // 2)
    bands = {r["key"]: r for r in conversion_by(scope=ALL, filters=FILTERS, dimension="band")}
    assert {k: (r["leads"], r["rate"]) for k, r in bands.items()} == {
        "high": (2 * 15, 100.0),
        "medium": (3 * 15, 33.3),
        "low": (5 * 15, 0.0),
    }
    assert {k: r["too_few"] for k, r in bands.items()} == {"high": False, "medium": False, "low": False}


def test_no_leads_gives_no_deciles(db):
    assert score_deciles(scope=ALL, filters=FILTERS) == []
