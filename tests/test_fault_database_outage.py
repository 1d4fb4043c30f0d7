"""The database goes away for a few seconds during intake: the API answers 503 with a retryable
message, nothing is half-written, and the scheduler recovers by itself (PostgreSQL, real processes)."""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from crm.models import Heartbeat
from leads.models import Lead, LeadEvent, Source
from tests.conftest import requires_postgres
from tests.loopback_proxy import LoopbackProxy
from tests.processes import processes_stop

pytestmark = [pytest.mark.heavy, requires_postgres]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_lead(port: int, token: str, n: int) -> tuple[int, dict]:
    body = json.dumps({"name": f"客户{n}", "phone": f"+86 139{n:08d}", "company": "恒通科技"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/leads",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.3)
    raise AssertionError("server did not start")


@pytest.mark.django_db(transaction=True)
def test_api_answers_503_while_the_database_is_away_and_nothing_is_half_written():
    from leads.services import source_token_rotate
    from lifecycle.schedules import schedules_ensure

    schedules_ensure()  # transactional tests before this one may have flushed the migration's rows
    source = Source.objects.create(code="outage", name="Outage", channel="api", heat="hot")
    token = source_token_rotate(source=source)
    db = connection.settings_dict
    proxy = LoopbackProxy(int(db["PORT"] or 5432), db["HOST"] or "127.0.0.1")
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}",
        LEADFLOW_DEV="1",
        DEBUG="0",
        SECRET_KEY="test-only-" + uuid.uuid4().hex,
        SECURE_COOKIES="0",
        Q_CLUSTER_NAME=f"outage-{uuid.uuid4().hex[:8]}",
    )
    env.pop("REDIS_URL", None)
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "crm.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--timeout",
            "60",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(port)
        statuses = [post_lead(port, token, n)[0] for n in range(5)]
        assert statuses == [201] * 5

        proxy.cut()
        during = [post_lead(port, token, n) for n in range(5, 10)]
        assert all(status == 503 for status, _ in during), during
        assert all(body.get("retryable") is True for _, body in during)
        time.sleep(3)
        proxy.restore()

        after = [post_lead(port, token, n) for n in range(10, 15)]
        assert [status for status, _ in after] == [201] * 5

        # Nothing half-written: exactly the accepted leads exist, each routed with its events.
        assert Lead.objects.filter(source=source).count() == 10
        assert not Lead.objects.filter(source=source, status="new").exists()
        assert (
            LeadEvent.objects.filter(lead__source=source)
            .exclude(to_status="")
            .values("lead")
            .distinct()
            .count()
            == 10
        )

        # The scheduler recovers by itself: a heartbeat newer than the outage appears.
        Heartbeat.objects.filter(name="scheduler").delete()
        from django_q.models import Schedule

        Schedule.objects.update(next_run=timezone.now() - timedelta(seconds=1))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not Heartbeat.objects.filter(name="scheduler").exists():
            time.sleep(2)
        assert Heartbeat.objects.filter(name="scheduler").exists(), (
            "scheduler did not recover after the outage"
        )
    finally:
        processes_stop([web, cluster], timeout=20)
        proxy.close()
