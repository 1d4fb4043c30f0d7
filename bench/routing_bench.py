"""Routing figures: single-lead p50 with 50 rules × 200 reps (writes included), bulk leads/s,
and queries per bulk batch (must not grow with the batch). Runs inside a transaction that is
rolled back, so the bench database keeps its demo state for the other figures."""

from __future__ import annotations

import json
import random
import statistics
import time

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.timing import tables_analyze

RULES = 50
REPS = 200


class _Rollback(Exception):
    pass


def _setup(now):
    from django.contrib.auth import get_user_model

    from assignment.models import AssignmentRule, RuleSet
    from crm.models import Rep, Team
    from leads.models import Source

    reps = list(Rep.objects.exclude(status="departed").order_by("pk")[:REPS])
    User = get_user_model()
    teams = list(Team.objects.all()) or [Team.objects.create(name="bench team")]
    for i in range(len(reps), REPS):
        user = User.objects.create_user(f"bench_rep_{i}", password=None)
        reps.append(Rep.objects.create(user=user, team=teams[i % len(teams)], max_open_leads=100_000))
    Rep.objects.filter(pk__in=[r.pk for r in reps]).update(
        status="active",
        max_open_leads=100_000,
        work_start=None,
        work_end=None,
        work_days=[],
        penalty_until=None,
    )
    bench_teams = [Team.objects.get_or_create(name=f"bench team {i}")[0] for i in range(10)]
    for i, rep in enumerate(reps):
        rep.team = bench_teams[i % 10]
    Rep.objects.bulk_update(reps, ["team"])
    RuleSet.objects.filter(trigger="new", is_active=True).update(is_active=False)
    rule_set = RuleSet.objects.create(name="bench", trigger="new", is_active=True)
    strategies = ["round_robin", "weighted", "least_loaded", "profile_match"]
    regions = [f"R{i}" for i in range(RULES - 1)]
    AssignmentRule.objects.bulk_create(
        [
            AssignmentRule(
                rule_set=rule_set,
                position=i + 1,
                name=f"bench rule {i + 1}",
                strategy=strategies[i % len(strategies)],
                target_team=bench_teams[i % 10],
                conditions=[
                    {"field": "region", "op": "eq", "value": regions[i]},
                    {"field": "score", "op": "gte", "value": 0},
                ],
            )
            for i in range(RULES - 1)
        ]
        + [
            AssignmentRule(
                rule_set=rule_set, position=RULES, name="default", strategy="pool", is_default=True
            )
        ]
    )
    source = Source.objects.first() or Source.objects.create(code="bench", name="bench")
    return regions, source


def _leads(count: int, *, regions, source, now, rnd):
    from leads.models import Lead

    rows = [
        Lead(
            name=f"bench {i}",
            region=rnd.choice(regions),
            industry="SaaS",
            source=source,
            status="new",
            created_at=now,
        )
        for i in range(count)
    ]
    return Lead.objects.bulk_create(rows, batch_size=2000)


def _bare_single(leads, reps, now) -> list[float]:
    """The least any routing of one lead must write: lock the row, set owner and status, insert
    one event, in its own transaction. Same-run baseline for the single-lead figure."""
    from leads.models import Lead, LeadEvent

    times = []
    for i, lead in enumerate(leads):
        rep = reps[i % len(reps)]
        started = time.perf_counter()
        with transaction.atomic():
            list(Lead.objects.select_for_update().filter(pk=lead.pk).values_list("pk"))
            Lead.objects.filter(pk=lead.pk).update(status="assigned", owner=rep, assigned_at=now)
            LeadEvent.objects.create(
                lead=lead, kind="route", from_status="new", to_status="assigned", to_owner=rep, at=now
            )
        times.append((time.perf_counter() - started) * 1000)
    return times


def _bare_bulk(leads, reps, now) -> float:
    """Set-wise minimum for a batch: one UPDATE per rep, one bulk INSERT of events (leads/s)."""
    from leads.models import Lead, LeadEvent

    started = time.perf_counter()
    for start in range(0, len(leads), 1000):
        chunk = leads[start : start + 1000]
        with transaction.atomic():
            by_rep: dict[int, list[int]] = {}
            for i, lead in enumerate(chunk):
                by_rep.setdefault(reps[i % len(reps)].pk, []).append(lead.pk)
            for rep_id, ids in by_rep.items():
                Lead.objects.filter(pk__in=ids).update(status="assigned", owner_id=rep_id, assigned_at=now)
            LeadEvent.objects.bulk_create(
                [
                    LeadEvent(
                        lead_id=lead.pk,
                        kind="route",
                        from_status="new",
                        to_status="assigned",
                        to_owner_id=reps[i % len(reps)].pk,
                        at=now,
                        data={"explanation": {"v": 2}},
                    )
                    for i, lead in enumerate(chunk)
                ]
            )
    return len(leads) / (time.perf_counter() - started)


def run(scale: int) -> list[dict]:
    from assignment.services import lead_route, leads_route_bulk
    from crm.models import Rep

    db = connection.vendor
    rows: list[dict] = []
    rnd = random.Random(7)
    now = timezone.now()
    try:
        with transaction.atomic():
            regions, source = _setup(now)
            reps = list(Rep.objects.filter(status="active").order_by("pk")[:REPS])
            bare = _bare_single(_leads(200, regions=regions, source=source, now=now, rnd=rnd), reps, now)
            bare_p50 = statistics.median(bare[20:])
            singles = _leads(300, regions=regions, source=source, now=now, rnd=rnd)
            tables_analyze()
            times = []
            for lead in singles:
                started = time.perf_counter()
                with transaction.atomic():
                    lead_route(lead=lead)
                times.append((time.perf_counter() - started) * 1000)
            p50 = statistics.median(times[20:])
            rows.append(
                {
                    "figure": "single-lead routing p50",
                    "workload": f"{RULES} rules × {REPS} reps, incl. writes (goal < 5 ms)",
                    "db": db,
                    "value": p50,
                    "unit": "ms",
                    "baseline": f"bare lock+update+event {bare_p50:.2f} ms",
                    "ratio": p50 / bare_p50,
                }
            )
            bulk_n = min(max(scale // 2, 5_000), 20_000)
            bare_rate = _bare_bulk(
                _leads(bulk_n, regions=regions, source=source, now=now, rnd=rnd), reps, now
            )
            bulk = _leads(bulk_n, regions=regions, source=source, now=now, rnd=rnd)
            started = time.perf_counter()
            for start in range(0, len(bulk), 1000):
                leads_route_bulk(bulk[start : start + 1000])
            rate = bulk_n / (time.perf_counter() - started)
            rows.append(
                {
                    "figure": "bulk routing",
                    "workload": f"{bulk_n:,} leads in batches of 1,000 (goal ≥ 10,000/s)",
                    "db": db,
                    "value": rate,
                    "unit": "leads/s",
                    "baseline": f"bare UPDATE+INSERT {bare_rate:,.0f}/s",
                    "ratio": rate / bare_rate,
                }
            )
            # The engine alone (decisions in memory, as the simulation runs it): separates the
            # routing cost from the cost of the waist's set-wise writes.
            from assignment.routing import RoutingContext, lead_decide

            dry = _leads(5000, regions=regions, source=source, now=now, rnd=rnd)
            ctx = RoutingContext(trigger="new", now=now, lock=False)
            started = time.perf_counter()
            for lead in dry:
                lead_decide(lead=lead, ctx=ctx)
            decide_rate = len(dry) / (time.perf_counter() - started)
            rows.append(
                {
                    "figure": "routing decisions only (no writes)",
                    "workload": "5,000 leads, one context",
                    "db": db,
                    "value": decide_rate,
                    "unit": "leads/s",
                    "baseline": f"bare UPDATE+INSERT {bare_rate:,.0f}/s",
                    "ratio": decide_rate / bare_rate,
                }
            )
            sizes = []
            from leads.models import LeadEvent

            for event in LeadEvent.objects.filter(lead__in=bulk[:200]).only("data"):
                sizes.append(len(json.dumps(event.data, ensure_ascii=False).encode()))
            rows.append(
                {
                    "figure": "stored explanation size (mean)",
                    "workload": f"{RULES} rules, lead matching rule ~25 on average",
                    "db": db,
                    "value": statistics.mean(sizes) / 1024 if sizes else 0,
                    "unit": "KB per lead",
                    "baseline": "",
                    "ratio": "",
                }
            )
            counts = {}
            for size in (200, 1000):
                batch = _leads(size, regions=regions, source=source, now=now, rnd=rnd)
                with CaptureQueriesContext(connection) as ctx:
                    leads_route_bulk(batch)
                counts[size] = len(ctx.captured_queries)
            rows.append(
                {
                    "figure": "queries per bulk batch",
                    "workload": "200 vs 1,000 leads",
                    "db": db,
                    "value": f"{counts[200]} / {counts[1000]}",
                    "unit": "queries",
                    "baseline": "",
                    "ratio": "",
                }
            )
            raise _Rollback
    except _Rollback:
        pass
    return rows


if __name__ == "__main__":  # pragma: no cover - manual run: DATABASE_URL=... python -m bench.routing_bench
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    django.setup()
    for row in run(20_000):
        print(row)
