"""The django-q2 schedules this project needs, created idempotently (migration and command)."""

SCHEDULES = [
    # (name, func, minutes)
    ("lifecycle sweep", "lifecycle.tasks.sweep", 1),
    ("scheduler heartbeat", "crm.tasks.heartbeat", 1),
]


def schedules_ensure(Schedule=None) -> list[str]:
    """Create or repair each schedule by name; running it twice changes nothing."""
    if Schedule is None:
        from django_q.models import Schedule
    done = []
    for name, func, minutes in SCHEDULES:
        obj, created = Schedule.objects.get_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1}
        )
        if not created and (
            obj.func != func or obj.minutes != minutes or obj.schedule_type != "I" or obj.repeats != -1
        ):
            Schedule.objects.filter(pk=obj.pk).update(
                func=func, schedule_type="I", minutes=minutes, repeats=-1
            )
        done.append(f"{name}: {'created' if created else 'present'}")
    return done
