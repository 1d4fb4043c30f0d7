"""The manager dashboard: p95 server time of a cold render (cache cleared before every call, so
every metric query runs), of a warm render (the minute cache), of the JSON feed, and the query
count, with /healthz as the same-run baseline (ratio = p95 / healthz p95).

`make bench` builds its data through `demo` (every lead created at one instant). To measure the
real target — 1M leads spread over a year, 90-day range, on PostgreSQL — fill a database with
`python -m bench.dashboard_bench --synthesize 1000000` (PostgreSQL only, set DATABASE_URL) and
then `python -m bench.dashboard_bench --measure`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from django.conf import settings
from django.core.cache import cache
from django.test import Client

from bench.timing import measure


def run(scale: int) -> list[dict]:
    from django.contrib.auth import get_user_model

    from crm.models import Team
    from leads.models import Lead, LeadType, Source

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.DEBUG = False
    db = "postgresql" if settings.IS_POSTGRES else "sqlite"
    workload = f"{Lead.objects.count():,} leads, default 90-day range"
    rows: list[dict] = []

    anon = Client()
    baseline = measure(lambda: anon.get("/healthz"))
    rows.append(_row("healthz (baseline)", workload, db, baseline, baseline))

    manager = Client()
    user = get_user_model().objects.filter(is_superuser=True).first()
    if user is None:
        return rows
    manager.force_login(user)

    def cold(url: str):
        cache.clear()
        return _ok(manager.get(url))

    repeat = 5 if scale >= 500_000 else 10
    rows.append(
        _row(
            "dashboard cold",
            workload,
            db,
            measure(lambda: cold("/dashboard/"), repeat=repeat, warmup=1),
            baseline,
        )
    )
    rows.append(
        _row(
            "dashboard warm (cached)",
            workload,
            db,
            measure(lambda: _ok(manager.get("/dashboard/"))),
            baseline,
        )
    )
    rows.append(
        _row(
            "dashboard JSON cold",
            workload,
            db,
            measure(lambda: cold("/dashboard/api/metrics.json"), repeat=repeat, warmup=1),
            baseline,
        )
    )
    # A cold render is what a manager gets after every filter change: one of each filter.
    team = Team.objects.order_by("pk").first()
    source = Source.objects.order_by("pk").first()
    lead_type = LeadType.objects.order_by("pk").first()
    for label, query in (
        ("one team", f"team={team.pk}" if team else ""),
        ("one source", f"source={source.pk}" if source else ""),
        ("one lead type", f"lead_type={lead_type.pk}" if lead_type else ""),
    ):
        if query:
            rows.append(
                _row(
                    f"dashboard cold, {label}",
                    workload,
                    db,
                    measure(lambda q=query: cold(f"/dashboard/?{q}"), repeat=repeat, warmup=1),
                    baseline,
                )
            )
    return rows


def _ok(response):
    if response.status_code != 200:
        raise RuntimeError(f"{response.request['PATH_INFO']} answered {response.status_code}")
    return response


def _row(figure: str, workload: str, db: str, m: dict, baseline: dict) -> dict:
    return {
        "figure": f"{figure} p95 ({m['queries']} queries; p50 {m['p50']:.0f} ms)",
        "workload": workload,
        "db": db,
        "value": m["p95"],
        "unit": "ms",
        "baseline": f"healthz p95 {baseline['p95']:.1f} ms",
        "ratio": m["p95"] / baseline["p95"] if baseline["p95"] else "",
    }


# ---------------------------------------------------------------------------------------------
# A realistic spread for the 1M-lead target (PostgreSQL only; generate_series, not the ORM, so a
# million rows take a minute rather than an hour).


def _fill_required(cursor, table: str, given: dict[str, str]) -> tuple[str, str]:
    """Column list and SELECT expressions, filling every NOT NULL column we did not name with an
    empty value of its type, so the synthesizer survives columns other layers add."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL",
        [table],
    )
    empty = {"jsonb": "'{}'::jsonb", "boolean": "false", "integer": "0", "smallint": "0", "bigint": "0"}
    cols = dict(given)
    for name, dtype in cursor.fetchall():
        if name not in cols and name != "id":
            cols[name] = empty.get(dtype, "''")
    return ", ".join(f'"{c}"' for c in cols), ", ".join(cols.values())


def synthesize(n: int) -> None:
    from django.db import connection, transaction

    from crm.demo import demo_organisation_create

    if connection.vendor != "postgresql":
        raise SystemExit("--synthesize needs PostgreSQL")
    demo_organisation_create(reps=200)
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as c:
        c.execute("SET LOCAL synchronous_commit = off")
        c.execute(
            "CREATE TEMP TABLE r AS SELECT row_number() OVER (ORDER BY id) AS k, id, team_id FROM crm_rep "
            "WHERE status <> 'departed'"
        )
        c.execute("CREATE TEMP TABLE s AS SELECT row_number() OVER (ORDER BY id) AS k, id FROM leads_source")
        c.execute(
            "CREATE TEMP TABLE st AS SELECT row_number() OVER (ORDER BY s.id) AS k, s.id, s.lead_type_id "
            "FROM lifecycle_stage s"
        )
        c.execute(
            "CREATE TEMP TABLE ru AS SELECT row_number() OVER (ORDER BY a.id) AS k, a.id FROM assignment_assignmentrule a"
        )
        c.execute(
            "SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM s), (SELECT count(*) FROM st), (SELECT count(*) FROM ru)"
        )
        nr, ns, nst, nru = c.fetchone()
        status = (
            "(CASE WHEN g % 20 < 2 THEN 'converted' WHEN g % 20 = 2 THEN 'lost' WHEN g % 20 IN (3, 4) THEN 'pooled' "
            "WHEN g % 20 = 5 THEN 'silent' WHEN g % 20 = 6 THEN 'nurturing' ELSE 'assigned' END)"
        )
        # Rows go in oldest first, as real intake does, so a date range is a contiguous slice.
        created = f"(now() - (({int(n)} - g) * 525600 / {int(n)}) * interval '1 minute')"
        given = {
            "name": "'synthetic ' || g",
            "phone": "'+86139' || lpad(g::text, 8, '0')",
            "phone_normalized": "'+86139' || lpad(g::text, 8, '0')",
            "email": "'s' || g || '@example.cn'",
            "email_normalized": "'s' || g || '@example.cn'",
            "source_id": "s.id",
            "score": "(g * 37) % 101",
            "tier": "(CASE WHEN (g * 37) % 101 >= 80 THEN 'high' WHEN (g * 37) % 101 >= 50 THEN 'medium' ELSE 'low' END)",
            "status": status,
            "owner_id": f"(CASE WHEN {status} IN ('assigned', 'silent') THEN r.id END)",
            "team_id": "r.team_id",
            "lead_type_id": "st.lead_type_id",
            "stage_id": "(CASE WHEN g % 3 = 0 THEN st.id END)",
            "created_at": created,
            "updated_at": "now()",
            "assigned_at": f"(CASE WHEN g % 20 NOT IN (3, 4, 6) THEN {created} + interval '10 minutes' END)",
            "first_contact_due": f"(CASE WHEN g % 20 NOT IN (3, 4, 6) THEN {created} + interval '24 hours 10 minutes' END)",
            "first_contacted_at": f"(CASE WHEN g % 20 NOT IN (3, 4, 6) AND g % 10 < 7 "
            f"THEN {created} + ((g * 13) % 48) * interval '1 hour' + interval '10 minutes' END)",
            "closed_at": f"(CASE WHEN g % 20 < 3 THEN {created} + ((g * 11) % 60) * interval '1 day' END)",
        }
        cols, exprs = _fill_required(c, "leads_lead", given)
        c.execute(
            f"INSERT INTO leads_lead ({cols}) SELECT {exprs} FROM generate_series(1::bigint, {int(n)}) g "
            f"JOIN r ON r.k = 1 + g % {nr} JOIN s ON s.k = 1 + g % {ns} LEFT JOIN st ON st.k = 1 + g % {max(nst, 1)}",
        )
        print(f"leads: {n:,} in {time.monotonic() - started:.0f}s", flush=True)
        c.execute("SELECT min(id) FROM leads_lead WHERE name LIKE 'synthetic %'")
        (first_id,) = c.fetchone()
        ev_given = {
            "lead_id": "l.id",
            "kind": "'route'",
            "to_owner_id": "l.owner_id",
            "from_status": "'new'",
            "to_status": "'assigned'",
            "rule_id": "ru.id",
            "reason": "''",
            "data": "'{}'::jsonb",
            "at": "l.assigned_at",
        }
        cols, exprs = _fill_required(c, "leads_leadevent", ev_given)
        c.execute(
            f"INSERT INTO leads_leadevent ({cols}) SELECT {exprs} FROM leads_lead l "
            f"LEFT JOIN ru ON ru.k = 1 + l.id % {max(nru, 1)} WHERE l.id >= {int(first_id)} AND l.assigned_at IS NOT NULL",
        )
        ev_given.update(
            kind="'sla_recall'",
            rule_id="NULL::bigint",
            from_owner_id="r.id",
            to_owner_id="NULL",
            from_status="'assigned'",
            to_status="'pooled'",
            reason="'first contact late'",
            at="l.created_at + interval '1 day'",
        )
        cols, exprs = _fill_required(c, "leads_leadevent", ev_given)
        c.execute(
            f"INSERT INTO leads_leadevent ({cols}) SELECT {exprs} FROM leads_lead l "
            f"JOIN r ON r.k = 1 + l.id % {nr} WHERE l.id >= {int(first_id)} AND l.status = 'pooled'",
        )
        ev_given.update(
            kind="'stage'",
            from_owner_id="l.owner_id",
            to_owner_id="l.owner_id",
            from_status="''",
            to_status="''",
            reason="''",
            rule_id="NULL::bigint",
            data="jsonb_build_object('to', l.stage_id)",
            at="coalesce(l.assigned_at, l.created_at) + interval '2 days'",
        )
        cols, exprs = _fill_required(c, "leads_leadevent", ev_given)
        c.execute(
            f"INSERT INTO leads_leadevent ({cols}) SELECT {exprs} FROM leads_lead l "
            f"WHERE l.id >= {int(first_id)} AND l.stage_id IS NOT NULL",
        )
        act_given = {
            "lead_id": "l.id",
            "kind": "'call'",
            "actor": "'rep'",
            "rep_id": "l.owner_id",
            "occurred_at": "l.assigned_at + ((l.id * 7) % 30) * interval '1 hour'",
            "created_at": "now()",
        }
        cols, exprs = _fill_required(c, "leads_activity", act_given)
        c.execute(
            f"INSERT INTO leads_activity ({cols}) SELECT {exprs} FROM leads_lead l "
            f"WHERE l.id >= {int(first_id)} AND l.assigned_at IS NOT NULL AND l.first_contacted_at IS NULL AND l.id % 2 = 0",
        )
        # What the life cycle does: first contact clears the deadline, and the sweep recalls most
        # leads whose deadline passed (a few stay overdue, as between two sweeps).
        c.execute(
            f"UPDATE leads_lead SET first_contact_due = NULL WHERE id >= {int(first_id)} AND first_contacted_at IS NOT NULL"
        )
        c.execute(
            "UPDATE leads_lead SET status = 'pooled', owner_id = NULL, pooled_at = first_contact_due "
            f"WHERE id >= {int(first_id)} AND status = 'assigned' AND first_contacted_at IS NULL "
            "AND first_contact_due < now() AND id % 50 <> 0"
        )
    with connection.cursor() as c:
        c.execute("ANALYZE")
    print(f"synthesized {n:,} leads with events and activities in {time.monotonic() - started:.0f}s")


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    os.environ.setdefault("LEADFLOW_DEV", "1")
    django.setup()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synthesize", type=int, default=0, help="add N synthetic leads (PostgreSQL)")
    parser.add_argument("--measure", action="store_true", help="print the bench rows for this database")
    ns = parser.parse_args()
    if ns.synthesize:
        synthesize(ns.synthesize)
    if ns.measure:
        from leads.models import Lead

        for row in run(Lead.objects.count()):
            print(row, flush=True)
    if not ns.synthesize and not ns.measure:
        parser.print_help(sys.stderr)


if __name__ == "__main__":
    main()
