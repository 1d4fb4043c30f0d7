"""Expired claims: a rep who claims a pooled lead and does not follow it up in time loses it back to
the pool and is penalized; a lead that came out of the pool by routing costs nobody a penalty."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assignment.services import lead_claim
from leads.models import Lead
from lifecycle.services import activity_log
from lifecycle.sweeps import sweep_run
from tests.factories import LeadFactory, PolicyFactory, lead_hold

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def policy():
    return PolicyFactory(name="抢占跟进", claim_follow_up=timedelta(hours=24))


def claimed(rep):
    result = lead_claim(lead=LeadFactory(status="pooled"), rep=rep, now=T0)
    assert result.ok, result.message
    return result.lead


def test_a_claim_not_followed_up_in_time_goes_back_to_the_pool(rep_a):
    lead = claimed(rep_a)
    assert lead.claim_due == T0 + timedelta(hours=24)
    assert sweep_run(now=T0 + timedelta(hours=24))["claims_lapsed"] == 1
    lead.refresh_from_db()
    assert (lead.status, lead.pool_reason, lead.previous_owner) == (Lead.Status.POOLED, "claim_lapsed", rep_a)
    event = lead.events.exclude(to_status="").first()
    assert event.reason == "Claimed but not followed up within 24 h (policy '抢占跟进'): back to the pool"


def test_the_claimer_is_penalized(rep_a):
    claimed(rep_a)
    sweep_run(now=T0 + timedelta(hours=24))
    rep_a.refresh_from_db()
    assert rep_a.penalty_until is not None
    assert rep_a.penalty_reason == "1 claimed lead lapsed without follow-up"


def test_a_follow_up_call_stops_the_claim_clock(rep_a):
    lead = claimed(rep_a)
    activity_log(lead=lead, kind="call", actor="rep", rep=rep_a, now=T0 + timedelta(hours=5))
    lead.refresh_from_db()
    assert lead.claim_due is None
    assert sweep_run(now=T0 + timedelta(hours=24))["claims_lapsed"] == 0


def test_without_a_policy_window_the_claim_services_window_applies(rep_a, policy):
    policy.delete()
    lead = claimed(rep_a)
    assert lead.claim_due is not None and lead.claim_due > T0


def test_a_lead_routed_out_of_the_pool_starts_no_claim_clock(rep_a):
    lead = lead_hold(lead=LeadFactory(), rep=rep_a, now=T0, kind="route")
    assert lead.claim_due is None
    assert sweep_run(now=T0 + timedelta(hours=24))["claims_lapsed"] == 0
    lead.refresh_from_db()
    assert (lead.status, lead.owner, lead.claim_due) == (Lead.Status.ASSIGNED, rep_a, None)
