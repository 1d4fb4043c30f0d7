"""The django-q2 schedules this project needs, created idempotently (migration and command)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

# (name, func, schedule type, minutes): "I" = every N minutes, "W" = weekly from the first run.
SCHEDULES = [
    ("lifecycle sweep", "lifecycle.tasks.sweep", "I", 1),
    ("scheduler heartbeat", "crm.tasks.heartbeat", "I", 1),
    ("dashboard cache warm", "crm.tasks.dashboard_cache_warm", "I", 1),
    ("dashboard weekly summary", "crm.tasks.dashboard_summary_send", "W", None),
    ("idempotency keys expire", "leads.tasks.idempotency_keys_expire", "I", 60),
    ("import files expire", "leads.tasks.import_files_expire", "I", 60),
]


def _first_run(schedule_type: str, now: datetime) -> datetime:
    if schedule_type != "W":
        return now
    # Weekly summaries go out on Monday at 09:00 local time.
    local = timezone.localtime(now)
    monday = local.date() + timedelta(days=(7 - local.weekday()) % 7)
    first = timezone.make_aware(datetime.combine(monday, time(9, 0)))
    return first if first > now else first + timedelta(days=7)


def schedules_ensure(Schedule=None, *, now: datetime | None = None) -> list[str]:
    """Create or repair each schedule by name; running it twice changes nothing."""
    if Schedule is None:
        from django_q.models import Schedule
    now = now or timezone.now()
    done = []
    for name, func, schedule_type, minutes in SCHEDULES:
        wanted = {"func": func, "schedule_type": schedule_type, "minutes": minutes, "repeats": -1}
        obj, created = Schedule.objects.get_or_create(
            name=name, defaults={**wanted, "next_run": _first_run(schedule_type, now)}
        )
        if not created and any(getattr(obj, key) != value for key, value in wanted.items()):
            Schedule.objects.filter(pk=obj.pk).update(**wanted)
        done.append(f"{name}: {'created' if created else 'present'}")
    return done
