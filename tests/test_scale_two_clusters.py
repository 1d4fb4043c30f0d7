"""Two qcluster processes against one PostgreSQL database: each scheduled tick runs once and no
lead is moved twice (heavy: real processes, about three minutes)."""

import time
from datetime import timedelta

import pytest
from django.db.models import Max
from django.utils import timezone
from django_q.models import Schedule, Success, Task

from leads.models import Lead, LeadEvent
from leads.services import lead_transition
from tests.conftest import requires_postgres
from tests.factories import LeadFactory
from tests.processes import cluster_env, processes_stop, start_cluster, sweep_schedule_due_now

pytestmark = [pytest.mark.heavy, requires_postgres]


@pytest.mark.django_db(transaction=True)
def test_two_clusters_run_each_tick_once_and_move_each_due_lead_once(rep_a, tmp_path):
    rep_a.max_open_leads = 1000
    rep_a.save()
    leads = LeadFactory.create_batch(60, status="pooled")
    for lead in leads:
        lead_transition(lead=lead, status="assigned", owner=rep_a, kind="route", reason="setup")
    past = timezone.now() - timedelta(days=3)
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
        first_contact_due=past, progress_due=None, valid_until=None, warn_at=None
    )
    setup_max = LeadEvent.objects.aggregate(m=Max("id"))["m"]
    sweep_schedule_due_now()
    Schedule.objects.create(
        name="probe",
        func="tests.probe_tasks.record_tick",
        schedule_type=Schedule.MINUTES,
        minutes=1,
        repeats=-1,
        next_run=timezone.now() - timedelta(seconds=1),
        intended_date_kwarg="tick",
    )
    env = cluster_env("test", Q_WORKERS="2")
    log = open(tmp_path / "clusters.log", "w")  # noqa: SIM115 - closed after the clusters stop
    clusters = [start_cluster(env, log), start_cluster(env, log)]
    try:
        deadline = time.monotonic() + 240
        ids = [lead.pk for lead in leads]
        while time.monotonic() < deadline:
            if (
                Success.objects.filter(group="probe").count() >= 2
                and Success.objects.filter(group="lifecycle sweep").exists()
                and not Lead.objects.filter(pk__in=ids, status="assigned").exists()
            ):
                break
            time.sleep(2)
    finally:
        processes_stop(clusters)
        log.close()
    output = (tmp_path / "clusters.log").read_text(errors="replace")[-3000:]
    ticks = list(Success.objects.filter(group="probe").values_list("result", flat=True))
    assert len(ticks) >= 2, (
        f"the schedule should have fired at least twice in the window; clusters said: {output}"
    )
    assert len(ticks) == len(set(ticks)), f"a tick ran twice: {ticks}"
    moved = {
        lead.pk: LeadEvent.objects.filter(lead=lead, id__gt=setup_max, from_status="assigned")
        .exclude(to_status="")
        .count()
        for lead in leads
    }
    sweeps = list(Task.objects.filter(group="lifecycle sweep").values_list("success", "result"))
    assert set(moved.values()) == {1}, f"every due lead left 'assigned' exactly once; sweep runs: {sweeps}"
    assert not Lead.objects.filter(pk__in=[lead.pk for lead in leads], status="assigned").exists()
