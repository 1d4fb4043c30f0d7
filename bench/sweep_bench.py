"""Sweep figures: one sweep with nothing due (target < 50 ms at 1M leads on PostgreSQL) and one with
1% of the leads due (target < 10 s), plus queries per batch (must not grow with the due set).

The due leads are built with bulk_create plus a matching transition event each, so invariants
hold; everything runs inside a transaction that is rolled back, so the bench database keeps its
demo state for the other figures.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Min, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.timing import bare_pooling_seconds, measure, tables_analyze

NOTHING_DUE_TARGET_MS = 50.0
ONE_PERCENT_TARGET_S = 10.0
DUE_COLUMNS = (
    "first_contact_due",
    "progress_due",
    "claim_due",
    "valid_until",
    "silent_until",
    "cascade_due",
    "warn_at",
)


class _Rollback(Exception):
    pass


def _idle_instant():
    """An instant just before the earliest clock in the database: nothing is due then."""
    from leads.models import Lead

    mins = Lead.objects.aggregate(**{name: Min(name) for name in DUE_COLUMNS})
    earliest = min((value for value in mins.values() if value is not None), default=None)
    now = timezone.now()
    return min(now, earliest - timedelta(seconds=1)) if earliest else now


def _reps(count: int):
    from django.contrib.auth import get_user_model

    from crm.models import Rep, Team

    reps = list(Rep.objects.exclude(status="departed").order_by("pk")[:count])
    team = Team.objects.order_by("tier", "pk").first() or Team.objects.create(name="bench sweep team")
    User = get_user_model()
    for i in range(len(reps), count):
        user = User.objects.create_user(f"bench_sweep_rep_{i}", password=None)
        reps.append(Rep.objects.create(user=user, team=team, max_open_leads=1_000_000))
    return reps


def _policy():
    from lifecycle.models import Policy

    Policy.objects.update_or_create(
        lead_type=None,
        rep_level="",
        heat="",
        defaults={
            "name": "bench default",
            "first_contact_sla": timedelta(hours=24),
            "validity": timedelta(days=5),
            "silence_window": timedelta(days=2),
            "progress_window": timedelta(days=7),
            "warning_lead_time": timedelta(hours=2),
        },
    )


def _due_leads(count: int, *, at, reps, batch: int = 5000) -> int:
    """`count` leads due at `at`: a third each past first contact, past validity, past silence."""
    from leads.models import Lead, LeadEvent, Source

    source = Source.objects.first() or Source.objects.create(code="bench-sweep", name="bench sweep")
    past = at - timedelta(hours=1)
    made = 0
    while made < count:
        rows = []
        for i in range(made, min(count, made + batch)):
            rep = reps[i % len(reps)]
            kind = i % 3
            lead = Lead(
                name=f"sweep bench {i}",
                phone=f"+86139{i:08d}",
                phone_normalized=f"+86139{i:08d}",
                source=source,
                owner=rep,
                team_id=rep.team_id,
                created_at=past - timedelta(days=8),
                assigned_at=past - timedelta(days=6),
            )
            if kind == 0:
                lead.status, lead.first_contact_due = Lead.Status.ASSIGNED, past
            elif kind == 1:
                lead.status, lead.first_contacted_at, lead.valid_until = (
                    Lead.Status.ASSIGNED,
                    past - timedelta(days=5),
                    past,
                )
            else:
                lead.status, lead.silent_until = Lead.Status.SILENT, past
            rows.append(lead)
        Lead.objects.bulk_create(rows, batch_size=batch)
        LeadEvent.objects.bulk_create(
            [
                LeadEvent(
                    lead=lead,
                    kind="route",
                    to_owner=lead.owner,
                    from_status="new",
                    to_status=lead.status,
                    reason="bench",
                    at=lead.assigned_at,
                )
                for lead in rows
            ],
            batch_size=batch,
        )
        made += len(rows)
    return made


def _bare_moves(now) -> float:
    """Same-run baseline for the 1% figure: the minimum the sweep must write for the same due
    leads (see bench.timing.bare_pooling_seconds)."""
    from leads.models import Lead

    due = Q(status=Lead.Status.ASSIGNED, first_contacted_at__isnull=True, first_contact_due__lte=now)
    due |= Q(status=Lead.Status.ASSIGNED, valid_until__lte=now)
    due |= Q(status=Lead.Status.SILENT, silent_until__lte=now)
    return bare_pooling_seconds(Lead.objects.filter(due), now=now)


def run(scale: int) -> list[dict]:
    from leads.models import Lead
    from lifecycle.sweeps import BATCH_SIZE, sweep_run

    db = connection.vendor
    rows: list[dict] = []
    try:
        with transaction.atomic():
            _policy()
            total = Lead.objects.count()
            now = _idle_instant()
            idle = measure(lambda: sweep_run(now=now), repeat=20, warmup=2)
            probe = measure(lambda: Lead.objects.filter(first_contact_due__lte=now).exists(), repeat=20)
            rows.append(
                {
                    "figure": "sweep, nothing due",
                    "workload": f"{total:,} leads (goal < {NOTHING_DUE_TARGET_MS:.0f} ms at 1M)",
                    "db": db,
                    "value": idle["p50"],
                    "unit": f"ms p50 ({idle['queries']} queries)",
                    "baseline": f"one indexed EXISTS {probe['p50']:.2f} ms",
                    "ratio": idle["p50"] / max(probe["p50"], 0.001),
                }
            )
            due = max(1, scale // 100)
            _due_leads(due, at=now, reps=_reps(50))
            tables_analyze()
            bare = _bare_moves(now)
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                counts = sweep_run(now=now)
                elapsed = time.perf_counter() - started
            moved = counts["first_contact_recalls"] + counts["silenced"] + counts["released"]
            batches = sum(-(-n // BATCH_SIZE) for n in (due // 3 + 1, due // 3 + 1, due // 3 + 1))
            rows.append(
                {
                    "figure": "sweep, 1% due",
                    "workload": f"{moved:,} transitions over {total + due:,} leads (goal < {ONE_PERCENT_TARGET_S:.0f} s at 1M)",
                    "db": db,
                    "value": elapsed,
                    "unit": f"s ({len(ctx.captured_queries) / max(1, batches):.0f} queries/batch of {BATCH_SIZE})",
                    "baseline": f"bare UPDATE+INSERT {bare:.2f} s",
                    "ratio": elapsed / max(bare, 0.001),
                }
            )
            again = sweep_run(now=now)
            rows.append(
                {
                    "figure": "sweep, same instant again",
                    "workload": "idempotency",
                    "db": db,
                    "value": sum(again.values()),
                    "unit": "transitions (must be 0)",
                    "baseline": 0,
                    "ratio": "",
                }
            )
            raise _Rollback
    except _Rollback:
        pass
    return rows


if __name__ == "__main__":  # pragma: no cover - manual run: DATABASE_URL=... python -m bench.sweep_bench
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    django.setup()
    for row in run(20_000):
        print(row)
