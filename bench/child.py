"""One database's bench run (a child process of bench/__main__.py)."""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import time
import traceback

import django


def emit(row: dict) -> None:
    row.setdefault("db", os.environ.get("BENCH_DB_LABEL", ""))
    print("ROW\t" + json.dumps(row, default=str), flush=True)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from bench.__main__ import MODULES

    scale = int(sys.argv[1])
    only = sys.argv[2:]
    if settings.IS_POSTGRES:
        _recreate_postgres_database(settings.DATABASES["default"])
    call_command("migrate", verbosity=0)
    call_command("demo", "--leads", "0", "--reps", "200", stdout=io.StringIO())
    started = time.monotonic()
    call_command("demo", "--leads", str(scale), stdout=io.StringIO())
    elapsed = time.monotonic() - started
    emit(
        {
            "figure": "demo build (bulk intake path)",
            "workload": f"{scale:,} leads",
            "value": scale / elapsed,
            "unit": "leads/s",
            "baseline": "",
            "ratio": "",
        }
    )
    with connection.cursor() as cursor:  # as autovacuum would have done on a live database
        # VACUUM sets the visibility map, without which PostgreSQL's index-only scans (rep
        # loads, pool counts) fetch every heap row of a freshly loaded table.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    connection.close()
    for name in MODULES:
        if only and name.split(".")[-1] not in only and name not in only:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            emit(
                {
                    "figure": name.split(".")[-1],
                    "workload": "-",
                    "value": "not available",
                    "unit": "",
                    "baseline": "",
                    "ratio": "",
                }
            )
            continue
        try:
            for row in module.run(scale):
                emit(row)
        except Exception:
            traceback.print_exc()
            emit(
                {
                    "figure": name.split(".")[-1],
                    "workload": "-",
                    "value": "FAILED",
                    "unit": "",
                    "baseline": "",
                    "ratio": "",
                }
            )


def _recreate_postgres_database(cfg: dict) -> None:
    import psycopg

    admin = psycopg.connect(
        host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"], dbname="postgres", autocommit=True
    )
    name = cfg["NAME"]
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()


if __name__ == "__main__":
    main()
