"""Risk control (降权): lapsed claims go back to the pool and penalize the claimer — a reduced
cap or a claiming block — visible on the pool page and expiring on its own."""

from datetime import timedelta

import pytest
from django.utils import timezone

from assignment.models import ClaimPolicy
from assignment.selectors import rep_claim_allowance
from assignment.services import lead_claim, rep_penalize, reps_penalties_expire
from crm.models import Notification
from leads.models import Lead, LeadEvent
from lifecycle.services import activity_log
from lifecycle.sweeps import sweep_run
from tests.factories import ActivityFactory, LeadFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def now():
    return timezone.now()


def test_a_reduce_penalty_lowers_the_cap_until_it_expires(rep_a, now):
    ClaimPolicy.objects.create(
        level="junior", daily_claim_cap=10, penalty_mode="reduce", penalty_factor=0.5, penalty_hours=48
    )
    rep_penalize(rep=rep_a, reason="3 claims lapsed", now=now)
    allowance = rep_claim_allowance(rep_a, now + timedelta(hours=1))
    assert allowance["cap"] == 5 and allowance["penalized"]
    assert any("cap × 0.5" in r and "3 claims lapsed" in r for r in allowance["reasons"])
    assert Notification.objects.filter(user=rep_a.user, kind="penalty").exists()
    assert rep_claim_allowance(rep_a, now + timedelta(hours=49))["cap"] == 10
    assert reps_penalties_expire(now=now + timedelta(hours=49)) == 1
    rep_a.refresh_from_db()
    assert rep_a.penalty_until is None and rep_a.penalty_reason == ""


def test_a_block_penalty_refuses_claims_while_it_runs(rep_a, now):
    ClaimPolicy.objects.create(level="junior", penalty_mode="block", penalty_hours=24)
    rep_penalize(rep=rep_a, reason="hoarding", now=now)
    refused = lead_claim(lead=LeadFactory(status="pooled"), rep=rep_a, now=now + timedelta(hours=2))
    assert not refused.ok and "Claiming is blocked" in refused.message and "hoarding" in refused.message
    assert lead_claim(lead=LeadFactory(status="pooled"), rep=rep_a, now=now + timedelta(hours=25)).ok


def test_lapsed_claims_return_to_the_pool_and_followed_up_ones_stay(rep_a, now):
    ClaimPolicy.objects.create(level="junior", daily_claim_cap=10, max_untouched=10, follow_up_hours=24)
    lapsed, worked = LeadFactory(status="pooled"), LeadFactory(status="pooled")
    for lead in (lapsed, worked):
        assert lead_claim(lead=lead, rep=rep_a, now=now).ok
    activity_log(
        lead=worked,
        kind="call",
        actor="rep",
        rep=rep_a,
        occurred_at=now + timedelta(hours=1),
        now=now + timedelta(hours=1),
    )
    later = now + timedelta(hours=30)
    sweep_run(now=later)  # the life-cycle sweep calls rep_penalize for each lapsed claimer
    lapsed.refresh_from_db()
    assert (lapsed.status, lapsed.pool_reason, lapsed.previous_owner) == ("pooled", "claim_lapsed", rep_a)
    assert LeadEvent.objects.filter(lead=lapsed, kind="claim_lapsed").exists()
    assert Lead.objects.get(pk=worked.pk).owner == rep_a
    # The sweep then calls assignment.services.rep_penalize for the claimer (tested above).


def test_the_adaptive_cap_explains_itself(rep_a, now):
    ClaimPolicy.objects.create(
        level="junior", daily_claim_cap=4, max_untouched=100, adaptive=True, follow_up_hours=24
    )
    rep_a.daily_claim_cap = 100
    rep_a.save()
    for day in range(10):
        at = now - timedelta(days=day + 1)
        lead = LeadFactory(status="pooled")
        assert lead_claim(lead=lead, rep=rep_a, now=at).ok
        ActivityFactory(lead=lead, rep=rep_a, occurred_at=at + timedelta(hours=2))
        Lead.objects.filter(pk=lead.pk).update(last_rep_activity_at=at + timedelta(hours=2))
    allowance = rep_claim_allowance(rep_a, now)
    assert allowance["cap"] == 6
    assert any("followed up 100% of 10 claims in 14 days" in r for r in allowance["reasons"])
