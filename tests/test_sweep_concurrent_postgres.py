"""Two workers sweeping the same due set at the same instant (real threads, real PostgreSQL row
locks): every lead moves exactly once, and the counts add up to the due set."""

import threading
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from leads.models import Lead, LeadEvent
from leads.selectors import invariants_violations
from leads.services import lead_transition
from lifecycle.sweeps import sweep_run
from tests.conftest import requires_postgres
from tests.factories import LeadFactory, PolicyFactory, RepFactory, lead_hold

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
N = 120


def sweep_together(now, workers=2):
    barrier = threading.Barrier(workers)
    results, errors = [], []

    def work():
        try:
            barrier.wait()
            results.append(sweep_run(now=now, batch_size=25))
        except Exception as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_move_each_due_lead_exactly_once(team):
    PolicyFactory(name="默认", first_contact_sla=timedelta(hours=24), silence_window=timedelta(days=2))
    reps = [RepFactory(team=team) for _ in range(4)]
    for i in range(N):
        lead_hold(lead=LeadFactory(), rep=reps[i % 4], now=T0)
        silent = lead_hold(lead=LeadFactory(), rep=reps[i % 4], now=T0 - timedelta(days=3))
        lead_transition(
            lead=silent,
            status="silent",
            owner=reps[i % 4],
            kind="silenced",
            reason="t",
            now=T0 - timedelta(days=2),
        )

    results = sweep_together(T0 + timedelta(hours=24))

    assert sum(r["first_contact_recalls"] for r in results) == N
    assert sum(r["released"] for r in results) == N
    per_lead = Counter(
        LeadEvent.objects.filter(kind__in=["sla_recall", "released"]).values_list("lead_id", flat=True)
    )
    assert len(per_lead) == 2 * N
    assert set(per_lead.values()) == {1}
    assert Lead.objects.filter(status="pooled").count() == 2 * N
    assert list(invariants_violations()) == []
    assert set(sweep_run(now=T0 + timedelta(hours=24)).values()) == {0}
