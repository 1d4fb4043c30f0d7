"""The django-q2 schedules exist after migrating and setup_schedules is idempotent."""

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from lifecycle.schedules import SCHEDULES


@pytest.mark.django_db
def test_setup_schedules_creates_every_schedule_once():
    # Migration 0002 runs the same function; transactional tests may have flushed its rows.
    call_command("setup_schedules")
    call_command("setup_schedules")
    assert sorted(Schedule.objects.values_list("name", flat=True)) == sorted(name for name, *_ in SCHEDULES)


@pytest.mark.django_db
def test_setup_schedules_twice_changes_nothing_and_repairs_edits(capsys):
    Schedule.objects.filter(name="lifecycle sweep").update(minutes=60)
    call_command("setup_schedules")
    before = list(
        Schedule.objects.order_by("name").values("name", "func", "minutes", "schedule_type", "next_run")
    )
    call_command("setup_schedules")
    after = list(
        Schedule.objects.order_by("name").values("name", "func", "minutes", "schedule_type", "next_run")
    )
    assert before == after
    assert Schedule.objects.get(name="lifecycle sweep").minutes == 1


@pytest.mark.django_db
def test_weekly_summary_runs_on_monday_morning():
    from django.utils import timezone

    call_command("setup_schedules")
    run = timezone.localtime(Schedule.objects.get(name="dashboard weekly summary").next_run)
    assert run.weekday() == 0 and (run.hour, run.minute) == (9, 0)
