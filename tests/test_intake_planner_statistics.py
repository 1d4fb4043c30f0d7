"""A bulk import that grows the lead table faster than autovacuum follows refreshes the planner's
statistics itself, so the per-batch dedup lookup keeps using its indexes (PostgreSQL)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lifecycle import intake
from lifecycle.intake import intake_bulk
from tests.conftest import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]


def _rows(count: int) -> list[dict]:
    return [{"name": f"客户{i}", "phone": f"137{i:08d}"} for i in range(count)]


def test_statistics_are_refreshed_once_the_table_has_grown_a_lot(source, monkeypatch):
    monkeypatch.setattr(intake._PlannerStatistics, "MIN_ADDED", 30)
    with CaptureQueriesContext(connection) as queries:
        report = intake_bulk(_rows(100), source=source, batch_size=20)
    assert report.imported == 100
    analyzes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    assert 1 <= len(analyzes) <= 3
    assert all('"phone_normalized"' in sql and '"email_normalized"' in sql for sql in analyzes)


def test_the_refresh_gives_the_planner_the_grown_table_size(source, monkeypatch):
    monkeypatch.setattr(intake._PlannerStatistics, "MIN_ADDED", 30)
    intake_bulk(_rows(100), source=source, batch_size=20)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'leads_lead'::regclass")
        assert cursor.fetchone()[0] >= 60


def test_a_small_import_leaves_the_statistics_to_autovacuum(source):
    with CaptureQueriesContext(connection) as queries:
        intake_bulk(_rows(50), source=source, batch_size=20)
    assert not [q for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
