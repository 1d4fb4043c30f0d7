"""Writes on the sales organisation: notifications and heartbeats."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from crm.models import Heartbeat, Notification


def notifications_send(
    *,
    users: Iterable,
    kind: str,
    message: str,
    url: str = "",
    lead_id: int | None = None,
    email: bool = False,
    now: datetime | None = None,
) -> list[Notification]:
    """In-app notifications (set-wise), plus e-mail after commit so a rollback sends nothing."""
    now = now or timezone.now()
    users = [u for u in users if u is not None]
    rows = Notification.objects.bulk_create(
        [
            Notification(user=u, kind=kind, message=message[:500], url=url, lead_id=lead_id, created_at=now)
            for u in users
        ]
    )
    if email:
        messages = [
            (message[:120], message, settings.DEFAULT_FROM_EMAIL, [u.email]) for u in users if u.email
        ]
        if messages:
            transaction.on_commit(lambda: send_mass_mail(messages, fail_silently=True))
    return rows


def notifications_mark_read(*, user, ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=now or timezone.now())


def heartbeat_beat(*, name: str, now: datetime | None = None) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"at": now or timezone.now()})
