"""Warnings before deadlines: the holder hears once, ahead of the deadline by the policy's lead time
("first contact due in 2 h"), and the next warning is scheduled for the next deadline."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lifecycle.sweeps import sweep_run
from tests.factories import LeadFactory, PolicyFactory, lead_hold

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 8, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def policy():
    return PolicyFactory(
        name="默认",
        first_contact_sla=timedelta(hours=24),
        validity=timedelta(days=5),
        warning_lead_time=timedelta(hours=2),
    )


def test_the_holder_is_warned_once_two_hours_before_first_contact_is_due(policy, rep_a):
    lead = lead_hold(lead=LeadFactory(), rep=rep_a, now=T0)
    assert lead.warn_at == T0 + timedelta(hours=22)
    assert sweep_run(now=T0 + timedelta(hours=21, minutes=59))["warnings"] == 0
    assert sweep_run(now=T0 + timedelta(hours=22))["warnings"] == 1
    assert sweep_run(now=T0 + timedelta(hours=22))["warnings"] == 0
    note = rep_a.user.notifications.get(kind="warning")
    assert note.message == f"{lead} (#{lead.pk}): first contact due in 2 h"
    assert note.lead_id == lead.pk
    lead.refresh_from_db()
    assert lead.warn_at == T0 + timedelta(days=5) - timedelta(hours=2)


def test_deadlines_inside_the_lead_time_at_assignment_are_warned_at_once(rep_a):
    PolicyFactory(name="急", first_contact_sla=timedelta(hours=1), warning_lead_time=timedelta(hours=2))
    lead = lead_hold(lead=LeadFactory(), rep=rep_a, now=T0)
    assert lead.warn_at == T0
    assert sweep_run(now=T0)["warnings"] == 1
    lead.refresh_from_db()
    assert lead.warn_at is None
    assert "first contact due in 1 h" in rep_a.user.notifications.get(kind="warning").message
