"""Idempotency: a second sweep at the same instant finds nothing to do and writes nothing, and a
sweep keeps the query count per batch constant (it does not grow with the number of leads)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, LeadEvent
from leads.selectors import invariants_violations
from leads.services import lead_transition
from lifecycle.sweeps import sweep_run
from tests.factories import LeadFactory, PolicyFactory, RepFactory, TeamFactory, lead_hold

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def policy():
    return PolicyFactory(
        name="默认",
        first_contact_sla=timedelta(hours=24),
        validity=timedelta(days=5),
        silence_window=timedelta(days=2),
        warning_lead_time=timedelta(hours=2),
        cascade_window=timedelta(hours=4),
    )


def make_due_mix(reps, n):
    """n leads in each due state at T0 + 7 days."""
    start = T0
    for i in range(n):
        rep = reps[i % len(reps)]
        lead_hold(lead=LeadFactory(), rep=rep, now=start + timedelta(days=6))  # first contact due at +7 d
        lead_hold(lead=LeadFactory(), rep=rep, now=start + timedelta(days=6, hours=1))  # warning due
        silent = lead_hold(lead=LeadFactory(), rep=rep, now=start)
        lead_transition(
            lead=silent,
            status="silent",
            owner=rep,
            kind="silenced",
            reason="t",
            now=start + timedelta(days=5),
        )
        cascading = LeadFactory(status="new")
        lead_transition(
            lead=cascading,
            status="pooled",
            owner=None,
            kind="route",
            reason="t",
            now=start + timedelta(days=6),
            pool_team=TeamFactory(name="Tier 1", tier=1),
            pool_reason="cascade",
            cascade_step=1,
        )


def test_a_second_sweep_at_the_same_instant_does_nothing(rep_a, rep_b):
    make_due_mix([rep_a, rep_b], 3)
    now = T0 + timedelta(days=7)
    first = sweep_run(now=now)
    assert first["first_contact_recalls"] == 3
    assert first["warnings"] == 3
    assert first["released"] == 3
    assert first["cascaded"] == 3
    events = LeadEvent.objects.count()
    snapshot = list(Lead.objects.order_by("pk").values())
    second = sweep_run(now=now)
    assert set(second.values()) == {0}
    assert LeadEvent.objects.count() == events
    assert list(Lead.objects.order_by("pk").values()) == snapshot
    assert list(invariants_violations()) == []


def test_nothing_due_costs_a_fixed_handful_of_queries(rep_a):
    for _ in range(5):
        lead_hold(lead=LeadFactory(), rep=rep_a, now=T0)
    with CaptureQueriesContext(connection) as few:
        sweep_run(now=T0 + timedelta(hours=1))
    for _ in range(20):
        lead_hold(lead=LeadFactory(), rep=rep_a, now=T0)
    with CaptureQueriesContext(connection) as more:
        sweep_run(now=T0 + timedelta(hours=1))
    statements = [q["sql"] for q in more.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(few.captured_queries) == len(more.captured_queries)
    # one round trip of index probes over every due column, plus expiring penalties
    assert len(statements) == 2
    assert not [sql for sql in statements if sql.startswith(('UPDATE "leads', 'INSERT INTO "leads'))]


def test_queries_per_batch_do_not_grow_with_the_batch(rep_a):
    reps = [rep_a, RepFactory(team=rep_a.team)]

    def recall_queries(n):
        for i in range(n):
            lead_hold(lead=LeadFactory(), rep=reps[i % 2], now=T0)
        with CaptureQueriesContext(connection) as ctx:
            counts = sweep_run(now=T0 + timedelta(hours=24))
        assert counts["first_contact_recalls"] == n
        return len(ctx.captured_queries)

    # Both sizes above leads.writing.PG_COPY_FROM: below it, PostgreSQL writes a handful of
    # leads' UPDATE and events in one statement, one query fewer.
    assert recall_queries(10) == recall_queries(40)
