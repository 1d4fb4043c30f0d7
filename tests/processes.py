"""Helpers for the heavy tests that start real qcluster/web processes against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta

from django.db import connection
from django.utils import timezone


def test_database_url() -> str:
    """The URL of the database this test runs on, for child processes (PostgreSQL only)."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def cluster_env(prefix: str, **extra: str) -> dict:
    """Environment for child processes: the test database and a cluster name of their own, so
    clusters of concurrent test runs never share a broker queue."""
    return dict(
        os.environ,
        DATABASE_URL=test_database_url(),
        Q_CLUSTER_NAME=f"{prefix}-{uuid.uuid4().hex[:8]}",
        LEADFLOW_DEV="1",
        **extra,
    )


def start_cluster(env: dict, log=None) -> subprocess.Popen:
    """`log`: an open file for the cluster's output (diagnosis when a heavy test fails)."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        env=env,
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
        start_new_session=True,
    )


def processes_stop(procs: list[subprocess.Popen], *, timeout: float = 30) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def sweep_schedule_due_now() -> None:
    """Replace every schedule with the per-minute sweep, due at once."""
    from django_q.models import Schedule

    Schedule.objects.all().delete()
    Schedule.objects.create(
        name="lifecycle sweep",
        func="lifecycle.tasks.sweep",
        schedule_type=Schedule.MINUTES,
        minutes=1,
        repeats=-1,
        next_run=timezone.now() - timedelta(seconds=1),
    )
