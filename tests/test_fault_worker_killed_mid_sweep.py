"""Kill a qcluster in the middle of a sweep and let the other continue: every due lead is moved
exactly once and nothing is lost (heavy: PostgreSQL, real processes)."""

import os
import signal
import time
from datetime import timedelta

import pytest
from django.db.models import Count, Max
from django.utils import timezone

from leads.models import Lead, LeadEvent
from leads.selectors import invariants_violations
from leads.services import TransitionRequest, leads_transition_bulk
from tests.conftest import requires_postgres
from tests.factories import LeadFactory, RepFactory
from tests.processes import cluster_env, processes_stop, start_cluster, sweep_schedule_due_now

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
    sweep_schedule_due_now()
    env = cluster_env("kill")
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
        processes_stop(survivors)
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
