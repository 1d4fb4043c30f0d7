"""Pool figures: 32 concurrent claimers against 1,000 pooled leads (PostgreSQL: threads with
their own connections; claims/s, double-owned leads, cap violations), and the recall of 50,000
leads by filter. Works on the throw-away bench database and commits."""

from __future__ import annotations

import random
import threading
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from bench.timing import bare_pooling_seconds

CLAIMERS = 32
POOLED = 1000
RECALL = 50_000


def _reps(n: int):
    from django.contrib.auth import get_user_model

    from crm.models import Rep, Team

    team = Team.objects.get_or_create(name="bench claimers")[0]
    User = get_user_model()
    reps = []
    for i in range(n):
        user, _ = User.objects.get_or_create(username=f"bench_claimer_{i}")
        rep, _ = Rep.objects.get_or_create(user=user, defaults={"team": team})
        reps.append(rep)
    Rep.objects.filter(pk__in=[r.pk for r in reps]).update(
        team=team, status="active", daily_claim_cap=40, max_open_leads=35, penalty_until=None, level="junior"
    )
    return team, list(Rep.objects.filter(pk__in=[r.pk for r in reps]).select_related("user", "team"))


def _pooled(count: int, *, team, now):
    from leads.models import Lead, Source

    source = Source.objects.first() or Source.objects.create(code="bench", name="bench")
    rows = [
        Lead(
            name=f"pool {i}",
            source=source,
            status="pooled",
            pool_team=team if i % 2 else None,
            created_at=now,
        )
        for i in range(count)
    ]
    return [lead.pk for lead in Lead.objects.bulk_create(rows, batch_size=2000)]


def _claim_race(now) -> list[dict]:
    from assignment.models import ClaimPolicy
    from assignment.services import lead_claim
    from leads.models import Lead, LeadEvent

    ClaimPolicy.objects.update_or_create(
        level="junior", defaults={"daily_claim_cap": 40, "max_untouched": 1000}
    )
    team, reps = _reps(CLAIMERS)
    ids = _pooled(POOLED, team=team, now=now)
    connection.close()
    barrier = threading.Barrier(CLAIMERS)
    wins: list[int] = []
    errors: list[BaseException] = []

    attempts = [0]

    def work(rep, seed):
        """Like a rep on the pool page: look at what is still pooled, click one, repeat."""
        from assignment.selectors import pool_leads_for

        rnd = random.Random(seed)
        try:
            barrier.wait()
            while True:
                visible = list(pool_leads_for(rep).filter(pk__in=ids).values_list("pk", flat=True)[:20])
                if not visible:
                    break
                attempts[0] += 1
                result = lead_claim(lead=Lead(pk=rnd.choice(visible)), rep=rep)
                if result.ok:
                    wins.append(result.lead.pk)
                elif "cap" in result.message or "capacity" in result.message:
                    break
        except BaseException as exc:  # reported as a row below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(rep, i)) for i, rep in enumerate(reps)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    double = (
        LeadEvent.objects.filter(lead_id__in=ids, kind="claim")
        .values("lead_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    over = (
        Lead.objects.filter(pk__in=ids, status="assigned")
        .values("owner_id")
        .annotate(n=Count("id"))
        .filter(n__gt=35)  # every claimer's hard cap (max_open_leads) in this run
        .count()
    )
    rows = [
        {
            "figure": "concurrent claims",
            "workload": f"{CLAIMERS} claimers × {POOLED:,} pooled leads",
            "value": len(wins) / elapsed,
            "unit": "claims/s",
            "baseline": "",
            "ratio": "",
        },
        {
            "figure": "claim race: double-owned leads / cap violations",
            "workload": f"{len(wins)} claims in {attempts[0]} clicks, {len(errors)} errors",
            "value": f"{double} / {over}",
            "unit": "leads / reps",
            "baseline": "0 / 0",
            "ratio": "",
        },
    ]
    return rows


def _recall(now, count: int) -> list[dict]:
    from django.contrib.auth import get_user_model

    from assignment.services import leads_recall
    from leads.models import Lead, LeadEvent

    _team, reps = _reps(CLAIMERS)
    from crm.models import Rep

    Rep.objects.filter(pk__in=[r.pk for r in reps]).update(max_open_leads=0)
    from leads.models import Source

    source_id = (Source.objects.first() or Source.objects.create(code="bench", name="bench")).pk
    marker = f"recall-bench-{int(time.time())}"
    with transaction.atomic():
        rows = [
            Lead(
                name=marker,
                source_id=source_id,
                status="assigned",
                owner=reps[i % len(reps)],
                team_id=reps[i % len(reps)].team_id,
                created_at=now,
                assigned_at=now,
            )
            for i in range(count)
        ]
        leads = Lead.objects.bulk_create(rows, batch_size=5000)
        LeadEvent.objects.bulk_create(
            [
                LeadEvent(lead=lead, kind="route", to_owner_id=lead.owner_id, to_status="assigned", at=now)
                for lead in leads
            ],
            batch_size=5000,
        )
    manager = get_user_model().objects.filter(
        is_superuser=True
    ).first() or get_user_model().objects.create_superuser("bench_admin", "bench@example.com", None)
    bare = bare_pooling_seconds(Lead.objects.filter(name=marker), now=now, chunk=5000)
    started = time.perf_counter()
    result = leads_recall(leads_qs=Lead.objects.filter(name=marker), actor=manager, reason="bench recall")
    elapsed = time.perf_counter() - started
    left = Lead.objects.filter(name=marker).exclude(status="pooled").count()
    return [
        {
            "figure": "recall by filter",
            "workload": f"{count:,} assigned leads → pool ({result.changed:,} moved, {left} left; goal < 10 s)",
            "value": elapsed,
            "unit": "s",
            "baseline": f"bare UPDATE+INSERT {bare:.2f} s",
            "ratio": elapsed / max(bare, 0.001),
        }
    ]


def run(scale: int) -> list[dict]:
    now = timezone.now()
    rows: list[dict] = []
    if settings.IS_POSTGRES:
        rows += _claim_race(now)
    else:
        rows.append(
            {
                "figure": "concurrent claims",
                "workload": f"{CLAIMERS} claimers × {POOLED:,} pooled leads",
                "value": "PostgreSQL only",
                "unit": "",
                "baseline": "",
                "ratio": "",
            }
        )
    rows += _recall(now, RECALL if scale >= 20_000 else max(scale, 1000))
    for row in rows:
        row.setdefault("db", connection.vendor)
    return rows


if __name__ == "__main__":  # pragma: no cover - manual run: DATABASE_URL=... python -m bench.claim_bench
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    django.setup()
    for row in run(20_000):
        print(row)
