"""lead_cube (one GROUPING SETS pass on PostgreSQL) gives exactly what the per-figure selectors
give; on SQLite it is those selectors."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm.selectors import (
    CONVERSION_DIMENSIONS,
    DashboardFilters,
    DashboardScope,
    conversion_by,
    lead_cube,
    lifecycle_weekly,
    score_deciles,
    stage_funnel,
)
from tests.factories import LeadFactory, SourceFactory, StageFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 14, 12, 0, tzinfo=SH)
FILTERS = DashboardFilters(start=date(2026, 2, 1), end=date(2026, 3, 14))


@pytest.fixture
def mixed(rep_a, rep_b, outsider, source):
    expo = SourceFactory(code="expo", name="Expo", channel="event")
    stage = StageFactory(name="介绍产品")
    won = StageFactory(lead_type=stage.lead_type, name="已成交", is_won=True)
    statuses = ["assigned", "converted", "lost", "pooled", "silent", "nurturing", "assigned"]
    reps = [rep_a, rep_b, outsider, None]
    for i in range(60):
        rep = reps[i % 4]
        status = statuses[i % 7]
        if rep is None and status in ("assigned", "silent"):
            status = "pooled"
        if rep is not None and status in ("pooled", "nurturing"):
            rep = None
        LeadFactory(
            status=status,
            owner=rep,
            team=(reps[i % 4] or rep_a).team if i % 5 else None,
            source=expo if i % 3 else source,
            score=(i * 37) % 101,
            tier=("high", "medium", "low")[i % 3],
            stage=(stage, won, None)[i % 3],
            created_at=NOW - timedelta(days=i % 40, hours=i % 24),
        )


def normalised(rows):
    return sorted(rows, key=lambda r: str(r["key"]))


@pytest.mark.parametrize("scope", [DashboardScope(team_ids=None), "team"])
def test_the_cube_matches_every_figure(mixed, team, scope):
    scope = DashboardScope(team_ids=(team.pk,)) if scope == "team" else scope
    cube = lead_cube(scope=scope, filters=FILTERS)
    for dim in (*CONVERSION_DIMENSIONS, "band"):
        assert normalised(cube["conversion"][dim]) == normalised(
            conversion_by(scope=scope, filters=FILTERS, dimension=dim)
        ), dim
    assert cube["deciles"] == score_deciles(scope=scope, filters=FILTERS)
    if cube["current_stage"] is not None:
        assert stage_funnel(
            scope=scope, filters=FILTERS, now=NOW, current=cube["current_stage"]
        ) == stage_funnel(scope=scope, filters=FILTERS, now=NOW)
        assert lifecycle_weekly(
            scope=scope, filters=FILTERS, created=cube["created_weekly"]
        ) == lifecycle_weekly(scope=scope, filters=FILTERS)
