"""`make bench`: build data through the bulk path, run every figure, print ratios, keep RESULTS.md.

Scale: BENCH_SCALE=small (default, ~20k leads, a few minutes), 100k, or 1m. Databases:
BENCH_DB=sqlite|postgres|both (default: both when PostgreSQL answers on 127.0.0.1:5432).
Each database gets a throw-away bench database built by `demo --leads N`.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCALES = {"small": 20_000, "100k": 100_000, "1m": 1_000_000}
MODULES = [
    "bench.import_bench",
    "bench.routing_bench",
    "bench.claim_bench",
    "bench.sweep_bench",
    "bench.pages_bench",
    "bench.dashboard_bench",
]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def database_urls(choice: str) -> list[tuple[str, str]]:
    out = []
    if choice in ("sqlite", "both"):
        path = HERE / "out" / "bench.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        out.append(("sqlite", f"sqlite:///{path}"))
    if choice in ("postgres", "both") and port_open(5432):
        out.append(
            (
                "postgresql",
                os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/leadflow_bench"),
            )
        )
    return out


def run_one_database(db_label: str, url: str, scale: int, only: list[str]) -> list[dict]:
    """Runs in a child process so each database gets a clean Django setup."""
    # DEBUG off, as in production: with it on (the Makefile's default for the demo) every query
    # is logged, which slows the figures and fills Django's query log so that the query counts
    # (CaptureQueriesContext) read zero.
    env = dict(
        os.environ, DATABASE_URL=url, LEADFLOW_DEV="1", DEBUG="0", BENCH_CHILD="1", BENCH_DB_LABEL=db_label
    )
    args = [sys.executable, "-m", "bench.child", str(scale), *only]
    proc = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    sys.stderr.write(proc.stderr[-4000:])
    rows = []
    for line in proc.stdout.splitlines():
        if line.startswith("ROW\t"):
            import json

            rows.append(json.loads(line[4:]))
        else:
            print(line)
    if proc.returncode != 0:
        rows.append(
            {
                "figure": "bench run",
                "workload": "-",
                "db": db_label,
                "value": "FAILED",
                "unit": "",
                "baseline": "",
                "ratio": "",
            }
        )
    return rows


def machine_description() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f"{int(fh.readline().split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem}, Python {platform.python_version()}, {platform.system()}"


def table(rows: list[dict]) -> str:
    cols = ["figure", "workload", "db", "value", "unit", "baseline", "ratio"]
    fmt = []
    for r in rows:
        fmt.append([_fmt(r.get(c, "")) for c in cols])
    widths = [max(len(c), *(len(f[i]) for f in fmt)) if fmt else len(c) for i, c in enumerate(cols)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for f in fmt:
        lines.append("| " + " | ".join(v.ljust(w) for v, w in zip(f, widths, strict=True)) + " |")
    return "\n".join(lines)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default=os.environ.get("BENCH_SCALE", "small"))
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "both"))
    parser.add_argument("only", nargs="*", help="module names to run (default: all)")
    ns = parser.parse_args()
    scale = SCALES.get(ns.scale) or int(ns.scale)
    started = time.monotonic()
    rows: list[dict] = []
    for label, url in database_urls(ns.db):
        print(f"== {label}: building {scale:,} leads and running figures...", flush=True)
        rows += run_one_database(label, url, scale, ns.only)
    out = table(rows)
    print(out)
    # The default run keeps RESULTS.md; other scales keep their own file (RESULTS-1m.md, ...).
    results = HERE / ("RESULTS.md" if ns.scale == "small" else f"RESULTS-{ns.scale}.md")
    modules = f" Modules: {', '.join(ns.only)}." if ns.only else ""
    results.write_text(
        "# Latest `make bench` results\n\n"
        f"Scale: {scale:,} leads ({ns.scale}). Machine: {machine_description()}. "
        f"Run took {time.monotonic() - started:,.0f} s.{modules}\n\n"
        "Ratios compare against a baseline measured in the same run (absolute times on this shared "
        "machine are noisy).\n\n" + out + "\n"
    )
    print(f"\nwritten to {results.relative_to(ROOT)}")
    return 1 if any(r.get("value") == "FAILED" for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
