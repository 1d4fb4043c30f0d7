"""django-q2 tasks of the crm layer."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db.models import Q
from django.utils import timezone

from crm.rules import user_is_manager
from crm.selectors import (
    CACHE_SECONDS,
    DashboardFilters,
    DashboardScope,
    dashboard_filters_default,
    dashboard_metrics,
    dashboard_metrics_cached,
    dashboard_scopes_in_use,
)
from crm.services import heartbeat_beat


def heartbeat() -> None:
    """Scheduled every minute: /healthz reports the scheduler alive when this is recent."""
    heartbeat_beat(name="scheduler")


def dashboard_summary_send(now: datetime | None = None) -> int:
    """Scheduled weekly: e-mail every manager the dashboard's headline numbers for the last seven
    days, so trends are seen without opening the page. Returns the number of e-mails sent.

    Idempotent enough for django-q2's at-least-once delivery: a repeat only sends the same
    summary again; it changes no data.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    filters = DashboardFilters(start=today - timedelta(days=7), end=today - timedelta(days=1))
    headline = dashboard_metrics(scope=DashboardScope(team_ids=None), filters=filters, now=now)["headline"]
    candidates = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(is_staff=True))
        .exclude(email="")
    )
    recipients = [u.email for u in candidates if user_is_manager(u)]
    if not recipients:
        return 0

    def show(value, unit=""):
        return "—" if value is None else f"{value}{unit}"

    subject = f"Leadflow weekly summary {filters.start:%Y-%m-%d} – {filters.end:%Y-%m-%d}"
    body = "\n".join(
        [
            subject,
            "",
            f"Leads created:                 {headline['leads']}",
            f"Assigned:                      {headline['assigned']}",
            f"Median time to first contact:  {show(headline['median_response_hours'], ' h')}",
            f"p90 time to first contact:     {show(headline['p90_response_hours'], ' h')}",
            f"First contact within SLA:      {show(headline['within_sla_rate'], '%')}",
            f"Overdue now:                   {headline['overdue_now']}",
            f"Converted:                     {headline['converted']} ({show(headline['conversion_rate'], '%')})",
            f"Median sales cycle:            {show(headline['median_cycle_days'], ' days')}",
            f"Routed by the default rule:    {show(headline['default_rule_share'], '%')}",
            f"Routing fairness (Gini):       {show(headline['gini'])}",
            f"Released after silence:        {headline['released']}",
            f"Reactivated:                   {headline['reactivated']}",
            "",
            "Details, definitions and CSV downloads: /dashboard/",
        ]
    )
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in recipients]
    return send_mass_mail(messages, fail_silently=False)


def dashboard_cache_warm(now: datetime | None = None) -> int:
    """Scheduled every minute when the cache is shared (Redis, database): recompute the default
    dashboard view of every scope in use, so managers never wait for a cold render of millions of
    leads. A process-local cache (LocMemCache) would warm only this worker, so it does nothing.
    Returns the number of views warmed; safe to run twice (it only overwrites cache entries)."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend.endswith(("LocMemCache", "DummyCache")):
        return 0
    now = now or timezone.now()
    filters = dashboard_filters_default(now=now)
    scopes = dashboard_scopes_in_use()
    for scope in scopes:
        # Two minutes, so an entry never lapses between two runs of a one-minute schedule.
        dashboard_metrics_cached(
            scope=scope, filters=filters, now=now, refresh=True, timeout=2 * CACHE_SECONDS
        )
    return len(scopes)
