"""定向分配: after release, configured events inside the window route the lead back to the rep who
earned it; outside the window, or for other events, the lead stays in the pool."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads.models import Activity, Lead
from lifecycle.services import activity_log
from lifecycle.sweeps import sweep_run
from tests.factories import LeadFactory, PolicyFactory, fund_lead_type, lead_hold

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
RELEASED_AT = T0 + timedelta(days=7)  # 5 days valid + 2 days silent


@pytest.fixture
def released(rep_a):
    fund = fund_lead_type()
    PolicyFactory(
        name="续费与企微",
        reactivation_window=timedelta(days=30),
        reactivation_kinds=["renewal_lapsed", "wecom_referral"],
    )
    lead = lead_hold(lead=LeadFactory(lead_type=fund), rep=rep_a, now=T0)
    activity_log(lead=lead, kind="wecom", actor="rep", rep=rep_a, now=T0 + timedelta(hours=1))
    sweep_run(now=T0 + timedelta(days=5))
    sweep_run(now=RELEASED_AT)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.POOLED
    return lead


def test_release_remembers_the_previous_owner_and_opens_the_window(released, rep_a):
    assert released.previous_owner == rep_a
    assert released.released_at == RELEASED_AT
    assert released.reactivation_until == RELEASED_AT + timedelta(days=30)
    assert released.pool_reason == "released"


def test_a_lapsed_renewal_inside_the_window_goes_back_to_the_rep_who_earned_it(released, rep_a):
    activity_log(lead=released, kind="renewal_lapsed", actor="system", now=RELEASED_AT + timedelta(days=29))
    released.refresh_from_db()
    assert (released.status, released.owner) == (Lead.Status.ASSIGNED, rep_a)
    event = released.events.exclude(to_status="").first()
    assert event.kind == "reactivated"
    lapsed = Activity.Kind.RENEWAL_LAPSED.label
    assert (
        event.reason
        == f"Directed reactivation: {lapsed} within 30 days of release (policy '续费与企微'): back to Wei Li"
    )
    assert released.reactivation_until is None and released.released_at is None


def test_the_same_event_after_the_window_leaves_the_lead_in_the_pool(released):
    activity_log(lead=released, kind="renewal_lapsed", actor="system", now=RELEASED_AT + timedelta(days=31))
    released.refresh_from_db()
    assert (released.status, released.owner) == (Lead.Status.POOLED, None)


def test_an_event_that_is_not_configured_leaves_the_lead_in_the_pool(released):
    activity_log(lead=released, kind="app_visit", actor="customer", now=RELEASED_AT + timedelta(days=1))
    released.refresh_from_db()
    assert released.status == Lead.Status.POOLED


def test_a_departed_rep_gets_nothing_back(released, rep_a):
    rep_a.status = "departed"
    rep_a.save()
    activity_log(lead=released, kind="wecom_referral", actor="customer", now=RELEASED_AT + timedelta(days=1))
    released.refresh_from_db()
    assert released.status == Lead.Status.POOLED
