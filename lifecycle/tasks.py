"""django-q2 entry points of the lifecycle layer: thin wrappers over services."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from crm.services import heartbeat_beat


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Scheduled every minute. Idempotent and safe to lose: the next tick redoes what is due."""
    from lifecycle.sweeps import sweep_run

    now = now or timezone.now()
    heartbeat_beat(name="sweep", now=now)
    return sweep_run(now=now)
