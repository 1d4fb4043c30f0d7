"""django-q2 tasks of the crm layer."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db.models import Q
from django.utils import timezone

from crm.rules import user_is_manager
from crm.selectors import DashboardFilters, DashboardScope, dashboard_metrics
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
