"""`manage.py sweep --at ISO` runs the same sweep at any instant and prints counts per transition;
the scheduled task does the same and beats its heartbeat."""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from crm.models import Heartbeat
from leads.models import Lead
from lifecycle.tasks import sweep
from tests.factories import LeadFactory, PolicyFactory, lead_hold

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_command_time_travels_and_prints_counts(rep_a):
    PolicyFactory(name="默认", first_contact_sla=timedelta(hours=24))
    lead = lead_hold(lead=LeadFactory(), rep=rep_a, now=T0)
    out = StringIO()
    call_command("sweep", "--at", "2026-01-02T09:00:00+08:00", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "sweep at 2026-01-02T09:00:00+08:00"
    assert "  first_contact_recalls  1" in lines
    lead.refresh_from_db()
    assert lead.status == Lead.Status.POOLED


def test_a_bad_instant_is_refused():
    with pytest.raises(CommandError):
        call_command("sweep", "--at", "next tuesday", stdout=StringIO())


def test_the_task_beats_the_heartbeat():
    counts = sweep(now=T0)
    assert set(counts.values()) == {0}
    assert Heartbeat.objects.get(name="sweep").at == T0
