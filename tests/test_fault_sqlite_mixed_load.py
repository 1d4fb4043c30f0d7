"""The demo setup (SQLite, web server and scheduler writing at once) gives users no "database is
locked" errors under a bounded mixed load on loopback. Duration: SQLITE_LOAD_SECONDS (default 300)."""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.conf import settings

from tests.processes import processes_stop
from tests.test_fault_database_outage import free_port, wait_for

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.skipif(
        settings.IS_POSTGRES, reason="exercises the SQLite demo setup; runs in the SQLite pass"
    ),
]


def test_sqlite_demo_setup_serves_a_mixed_load_without_lock_errors(tmp_path):
    duration = float(os.environ.get("SQLITE_LOAD_SECONDS", "300"))
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{tmp_path / 'load.sqlite3'}",
        LEADFLOW_DEV="1",
        DEBUG="1",
        Q_CLUSTER_NAME=f"load-{uuid.uuid4().hex[:8]}",
    )
    env.pop("REDIS_URL", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    subprocess.run(
        [*manage, "demo", "--leads", "500", "--reps", "12"], env=env, check=True, capture_output=True
    )
    token = (
        subprocess.run(
            [
                *manage,
                "shell",
                "-c",
                "from leads.models import Source; from leads.services import source_token_rotate; "
                # The per-source rate limit is not under test here: lift it for the load.
                "Source.objects.filter(code='web').update(rate_limit_per_minute=1000000); "
                "print(source_token_rotate(source=Source.objects.get(code='web')))",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    subprocess.run(
        [
            *manage,
            "shell",
            "-c",
            "from django.utils import timezone; from datetime import timedelta; from django_q.models import Schedule; "
            "Schedule.objects.update(next_run=timezone.now() - timedelta(seconds=1))",
        ],
        env=env,
        check=True,
    )
    port = free_port()
    web = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    cluster = subprocess.Popen(
        [*manage, "qcluster"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    failures: list[str] = []
    counts = {"ok": 0}
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def client(worker: int) -> None:
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            if n % 3:
                body = json.dumps(
                    {"name": f"负载{worker}-{n}", "phone": f"+86 137{worker:02d}{n:06d}"}
                ).encode()
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/v1/leads",
                    data=body,
                    method="POST",
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                )
            else:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/healthz")
            try:
                with urllib.request.urlopen(req, timeout=60) as response:
                    response.read()
                with lock:
                    counts["ok"] += 1
            except urllib.error.HTTPError as err:
                text = err.read().decode(errors="replace")
                with lock:
                    failures.append(f"{err.code}: {text[:200]}")
            except OSError as err:
                with lock:
                    failures.append(f"connection: {err}")

    try:
        wait_for(port)
        threads = [threading.Thread(target=client, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(duration + 120)
    finally:
        processes_stop([web, cluster], timeout=20)
    assert counts["ok"] > 0
    assert not [f for f in failures if "locked" in f.lower()], failures[:5]
    assert not failures, failures[:5]
    check = subprocess.run([*manage, "check_invariants"], env=env, capture_output=True, text=True)
    assert check.stdout.strip().endswith("invariants: 0 violations"), check.stdout[-2000:]
