"""django-q2 tasks of the crm layer."""

from crm.services import heartbeat_beat


def heartbeat() -> None:
    """Scheduled every minute: /healthz reports the scheduler alive when this is recent."""
    heartbeat_beat(name="scheduler")
