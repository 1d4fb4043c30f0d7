"""Shared measuring helpers for the bench modules."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def measure(fn: Callable[[], object], *, repeat: int = 20, warmup: int = 2) -> dict:
    """Wall-clock samples in ms plus the query count of one call."""
    for _ in range(warmup):
        fn()
    with CaptureQueriesContext(connection) as ctx:
        fn()
    queries = len(ctx.captured_queries)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "p50": statistics.median(samples),
        "p95": percentile(samples, 95),
        "queries": queries,
    }


def tables_analyze() -> None:
    """Refresh planner statistics after a bench created rows inside its own transaction: a
    real database has autovacuum's ANALYZE behind it, a bench transaction does not."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("ANALYZE leads_leadevent")
        cursor.execute("ANALYZE crm_rep")


class _Rollback(Exception):
    pass


def bare_pooling_seconds(leads_qs, *, now, chunk: int = 1000) -> float:
    """Same-run baseline for figures that move leads to the pool (recall, sweeps): the set-wise
    minimum such a move must write — one UPDATE and one bulk INSERT of events per chunk — timed
    and rolled back, so the figure that follows starts from the same rows."""
    from django.db import transaction

    from leads.models import Lead, LeadEvent

    started = time.perf_counter()
    try:
        with transaction.atomic():
            ids = list(leads_qs.values_list("pk", flat=True))
            for start in range(0, len(ids), chunk):
                part = ids[start : start + chunk]
                Lead.objects.filter(pk__in=part).update(status=Lead.Status.POOLED, owner=None, pooled_at=now)
                LeadEvent.objects.bulk_create(
                    [
                        LeadEvent(
                            lead_id=pk, kind="recall", from_status="assigned", to_status="pooled", at=now
                        )
                        for pk in part
                    ]
                )
            raise _Rollback
    except _Rollback:
        pass
    return time.perf_counter() - started
