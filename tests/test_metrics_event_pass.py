"""event_pass (one statement over the range's events on PostgreSQL) gives exactly what
received_by_rep, takebacks_by_rep, rule_hits, lifecycle_weekly and takeback_reasons give on their
own, for every scope and filter; and lead_cube agrees with the per-figure selectors under each
filter too. On SQLite event_pass is None and the selectors run their own queries."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from crm.selectors import (
    CONVERSION_DIMENSIONS,
    DashboardFilters,
    DashboardScope,
    conversion_by,
    event_pass,
    lead_cube,
    lifecycle_weekly,
    received_by_rep,
    rule_hits,
    score_deciles,
    takeback_reasons,
    takebacks_by_rep,
)
from tests.factories import (
    AssignmentRuleFactory,
    LeadEventFactory,
    LeadFactory,
    LeadTypeFactory,
    RuleSetFactory,
    SourceFactory,
    StageFactory,
)

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 14, 12, 0, tzinfo=SH)
RANGE = {"start": date(2026, 2, 1), "end": date(2026, 3, 14)}

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SKIPPED ON SQLITE: event_pass is the PostgreSQL path"
)


@pytest.fixture
def world(team, other_team, rep_a, rep_b, outsider, source):
    expo = SourceFactory(code="expo", name="Expo", channel="event")
    b2b, b2c = LeadTypeFactory(code="b2b"), LeadTypeFactory(code="b2c")
    stage = StageFactory(lead_type=b2b, name="介绍产品")
    won = StageFactory(lead_type=b2b, name="已成交", is_won=True)
    rule_set = RuleSetFactory(name="Live", is_active=True)
    rules = [
        AssignmentRuleFactory(rule_set=rule_set, name="East", position=1),
        AssignmentRuleFactory(rule_set=rule_set, name="Default", position=2, is_default=True),
        None,
    ]
    reps = [rep_a, rep_b, outsider, None]
    teams = [team, other_team, None]
    # Equal counts on purpose, so the order of reasons depends on the tie-break by kind and reason.
    reasons = ["first contact late", "First contact late", "经理清理", "manager cleanup", ""]
    statuses = ["new", "pooled", "assigned", "silent", "converted", "lost"]
    leads = []
    for i in range(24):
        owner = reps[i % 4]
        leads.append(
            LeadFactory(
                status="assigned" if owner else ("pooled", "converted", "lost")[i % 3],
                owner=owner,
                team=teams[i % 3],
                source=expo if i % 2 else source,
                lead_type=(b2b, b2c, None)[i % 3],
                stage=(stage, won, None)[i % 3],
                score=(i * 37) % 101,
                tier=("high", "medium", "low")[i % 3],
                created_at=NOW - timedelta(days=(i * 3) % 50, hours=i % 24),
            )
        )
    kinds = [
        "intake",
        "route",
        "claim",
        "transfer",
        "reactivate",
        "recall",
        "sla_recall",
        "progress_recall",
        "claim_lapsed",
        "release",
        "silence",
        "convert",
        "lost",
    ]
    for i in range(260):
        kind = kinds[i % len(kinds)]
        frm, to = reps[i % 4], reps[(i // 4) % 4]
        LeadEventFactory(
            lead=leads[i % len(leads)],
            kind=kind,
            from_owner=frm,
            to_owner=to,
            from_status=statuses[i % 6],
            to_status=statuses[(i // 6) % 6] if i % 5 else "assigned",
            rule=rules[i % 3] if kind in ("intake", "route") else None,
            reason=reasons[i % 5] if i % 7 else reasons[(i // 7) % 5],
            at=NOW - timedelta(days=i % 55, hours=i % 13),  # some before the range
        )


def variants(team, other_team):
    yield DashboardScope(team_ids=None), {}
    yield DashboardScope(team_ids=(team.pk,)), {}
    yield DashboardScope(team_ids=(team.pk, other_team.pk)), {"team_id": other_team.pk}
    yield DashboardScope(team_ids=None), {"team_id": team.pk}


def filter_sets():
    from leads.models import LeadType, Source

    yield {}
    yield {"source_id": Source.objects.get(code="expo").pk}
    yield {"lead_type_id": LeadType.objects.get(code="b2b").pk}


@postgres_only
def test_the_event_pass_matches_every_event_figure(world, team, other_team):
    for scope, extra in variants(team, other_team):
        for more in filter_sets():
            filters = DashboardFilters(**RANGE, **extra, **more)
            ev = event_pass(scope=scope, filters=filters)
            where = (scope, filters)
            assert ev["received"] == received_by_rep(scope=scope, filters=filters), where
            assert ev["takebacks"] == takebacks_by_rep(scope=scope, filters=filters), where
            assert rule_hits(
                scope=scope, filters=filters, hits=ev["hits"], no_rule=ev["no_rule"]
            ) == rule_hits(scope=scope, filters=filters), where
            assert lifecycle_weekly(scope=scope, filters=filters, flows=ev["flows"]) == lifecycle_weekly(
                scope=scope, filters=filters
            ), where
            assert takeback_reasons(scope=scope, filters=filters, rows=ev["reasons"]) == takeback_reasons(
                scope=scope, filters=filters
            ), where
            assert takeback_reasons(
                scope=scope, filters=filters, limit=3, rows=ev["reasons"]
            ) == takeback_reasons(scope=scope, filters=filters, limit=3), where


@postgres_only
def test_the_fixture_exercises_every_event_figure(world, team, other_team):
    ev = event_pass(scope=DashboardScope(team_ids=None), filters=DashboardFilters(**RANGE))
    assert ev["received"] and ev["takebacks"] and ev["hits"] and ev["no_rule"] and ev["flows"]
    assert len(ev["reasons"]) >= 5


def test_elsewhere_there_is_no_event_pass(world):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL has the event pass")
    assert event_pass(scope=DashboardScope(team_ids=None), filters=DashboardFilters(**RANGE)) is None


def test_the_cube_matches_every_figure_under_each_filter(world, team, other_team):
    def normalised(rows):
        return sorted(rows, key=lambda r: str(r["key"]))

    for scope, extra in variants(team, other_team):
        for more in filter_sets():
            filters = DashboardFilters(**RANGE, **extra, **more)
            cube = lead_cube(scope=scope, filters=filters)
            for dim in (*CONVERSION_DIMENSIONS, "band"):
                assert normalised(cube["conversion"][dim]) == normalised(
                    conversion_by(scope=scope, filters=filters, dimension=dim)
                ), (dim, scope, filters)
            assert cube["deciles"] == score_deciles(scope=scope, filters=filters), (scope, filters)
