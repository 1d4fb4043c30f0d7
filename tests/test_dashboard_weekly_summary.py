"""The weekly summary e-mail: headline numbers of the last seven days, to managers only.

Reads django.core.mail.outbox directly: the pytest-django mailoutbox list is not the one the
locmem backend appends to in this project's setup."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core import mail

from crm.tasks import dashboard_summary_send
from tests.factories import LeadFactory, UserFactory

NOW = datetime(2026, 3, 16, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday morning


def test_managers_get_last_weeks_headline(manager, team_lead, rep_a, source):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    UserFactory(username="quiet", is_staff=True, is_superuser=True, email="")
    LeadFactory(status="converted", team=rep_a.team, source=source, created_at=NOW - timedelta(days=3))
    LeadFactory(
        status="assigned", owner=rep_a, team=rep_a.team, source=source, created_at=NOW - timedelta(days=2)
    )
    LeadFactory(status="converted", team=rep_a.team, source=source, created_at=NOW - timedelta(days=20))

    mail.outbox = []
    assert dashboard_summary_send(now=NOW) == 2

    assert sorted(m.to[0] for m in mail.outbox) == ["manager@example.com", "root@example.com"]
    message = mail.outbox[0]
    assert "2026-03-09 – 2026-03-15" in message.subject
    assert "Leads created:                 2" in message.body
    assert "Converted:                     1 (50.0%)" in message.body


def test_nobody_to_tell_sends_nothing(rep_a):
    mail.outbox = []
    assert dashboard_summary_send(now=NOW) == 0
    assert mail.outbox == []
