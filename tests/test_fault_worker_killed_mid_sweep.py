"""Kill a qcluster in the middle of a sweep and let the other continue: every due lead is moved
exactly once and nothing is lost (heavy: PostgreSQL, real processes)."""

import os
import signal
import subprocess
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone
from django_q.models import Schedule

from leads.models import Lead, LeadEvent
from leads.selectors import invariants_violations
from leads.services import TransitionRequest, leads_transition_bulk
from tests.conftest import requires_postgres
from tests.factories import LeadFactory, RepFactory
from tests.test_scale_two_clusters import start_cluster

pytestmark = [pytest.mark.heavy, requires_postgres]

DUE = 20_000


@pytest.mark.django_db(transaction=True)
def test_sweep_survives_a_killed_worker_without_losing_or_repeating_a_lead():
    reps = RepFactory.create_batch(10, max_open_leads=10_000)
    source = LeadFactory().source
    Lead.objects.all().delete()
    leads = Lead.objects.bulk_create(
        [
            LeadFactory.build(
                source=source, status="pooled", phone=f"+86139{i:08d}", phone_normalized=f"+86139{i:08d}"
            )
            for i in range(DUE)
        ],
        batch_size=2000,
    )
    leads_transition_bulk(
        [
            TransitionRequest(lead=lead, status="assigned", owner=reps[i % 10], kind="route", reason="setup")
            for i, lead in enumerate(leads)
        ]
    )
    Lead.objects.update(
        first_contact_due=timezone.now() - timedelta(days=2),
        progress_due=None,
        valid_until=None,
        warn_at=None,
        claim_due=None,
    )
    setup_max = LeadEvent.objects.aggregate(m=Max("id"))["m"]
    Schedule.objects.all().delete()
    Schedule.objects.create(
        name="lifecycle sweep",
        func="lifecycle.tasks.sweep",
        schedule_type=Schedule.MINUTES,
        minutes=1,
        repeats=-1,
        next_run=timezone.now() - timedelta(seconds=1),
    )
    db = connection.settings_dict
    env = dict(
        os.environ,
        LEADFLOW_DEV="1",
        Q_CLUSTER_NAME=f"kill-{uuid.uuid4().hex[:8]}",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
    )
    first, second = start_cluster(env), start_cluster(env)
    survivors = [second]
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not LeadEvent.objects.filter(id__gt=setup_max).exists():
            time.sleep(0.2)
        os.killpg(first.pid, signal.SIGKILL)  # mid-sweep: some batches committed, one maybe in flight
        first.wait(timeout=10)
        deadline = time.monotonic() + 200
        while time.monotonic() < deadline and Lead.objects.filter(status="assigned").exists():
            time.sleep(2)
    finally:
        for proc in survivors:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    assert not Lead.objects.filter(status="assigned").exists(), "the surviving worker finished the due work"
    left_assigned = (
        LeadEvent.objects.filter(id__gt=setup_max, from_status="assigned")
        .exclude(to_status="")
        .values("lead")
        .order_by()
        .annotate(n=Count("id"))
    )
    assert left_assigned.count() == DUE, "every due lead left 'assigned' once"
    assert not left_assigned.filter(n__gt=1).exists(), "no lead was moved twice"
    assert list(invariants_violations()) == []
