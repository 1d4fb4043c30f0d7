"""Outside any transaction, a cold render on PostgreSQL runs speed and the event figures on a second
connection in the exporting transaction's snapshot; the numbers are exactly those of the
one-connection path (inside a caller's transaction), and a lead written meanwhile is in neither."""

from datetime import timedelta

import pytest
from django.db import connection, transaction

from crm import selectors
from crm.selectors import DashboardFilters, DashboardScope, dashboard_metrics
from tests.factories import ActivityFactory, LeadFactory
from tests.test_metrics_event_pass import NOW, RANGE, world  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIPPED ON SQLITE: one connection only"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def contacted(world, rep_a, rep_b, source):  # noqa: F811
    for i in range(12):
        rep = (rep_a, rep_b)[i % 2]
        assigned = NOW - timedelta(days=i * 2, hours=3)
        lead = LeadFactory(
            status="assigned",
            owner=rep,
            team=rep.team,
            source=source,
            created_at=assigned - timedelta(minutes=10),
            assigned_at=assigned,
            first_contact_due=assigned + timedelta(hours=4) if i % 3 else None,
            first_contacted_at=assigned + timedelta(hours=i) if i % 2 else None,
        )
        if i % 4 == 0:
            ActivityFactory(lead=lead, rep=rep, occurred_at=assigned + timedelta(hours=i + 1))


@pytest.fixture
def side_calls(monkeypatch):
    calls = []
    real = selectors._side_figures_on_snapshot

    def spy(snapshot, **kwargs):
        calls.append(snapshot)
        return real(snapshot, **kwargs)

    monkeypatch.setattr(selectors, "_side_figures_on_snapshot", spy)
    return calls


@pytest.mark.parametrize("extra", [{}, {"team_id": "team"}])
def test_the_side_connection_gives_the_one_connection_numbers(contacted, side_calls, team, extra):
    filters = DashboardFilters(**RANGE, **({"team_id": team.pk} if extra else {}))
    scope = DashboardScope(team_ids=None)
    two = dashboard_metrics(scope=scope, filters=filters, now=NOW)
    assert len(side_calls) == 1
    with transaction.atomic():
        one = dashboard_metrics(scope=scope, filters=filters, now=NOW)
    assert len(side_calls) == 1  # inside a transaction: no second connection
    assert two["speed_all"]["assigned"] > 0 and two["distribution"]
    assert two == one


def test_both_connections_read_one_snapshot(contacted, side_calls, rep_a, source, monkeypatch):
    """A lead committed after the snapshot was taken shows in neither connection's figures."""
    filters = DashboardFilters(**RANGE)
    scope = DashboardScope(team_ids=None)
    before = dashboard_metrics(scope=scope, filters=filters, now=NOW)
    real = selectors.dashboard_labels

    def labels_then_write(**kwargs):
        # Runs on the main connection after the export; the write commits on its own connection.
        from concurrent.futures import ThreadPoolExecutor

        def write():
            try:
                LeadFactory(
                    status="assigned",
                    owner=rep_a,
                    team=rep_a.team,
                    source=source,
                    created_at=NOW - timedelta(days=1),
                    assigned_at=NOW - timedelta(days=1),
                    first_contacted_at=NOW - timedelta(hours=20),
                )
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(write).result()
        return real(**kwargs)

    monkeypatch.setattr(selectors, "dashboard_labels", labels_then_write)
    during = dashboard_metrics(scope=scope, filters=filters, now=NOW)
    assert during["speed_all"] == before["speed_all"]
    assert during["headline"]["leads"] == before["headline"]["leads"]
    monkeypatch.setattr(selectors, "dashboard_labels", real)
    after = dashboard_metrics(scope=scope, filters=filters, now=NOW)
    assert after["headline"]["leads"] == before["headline"]["leads"] + 1
    assert after["speed_all"]["assigned"] == before["speed_all"]["assigned"] + 1
