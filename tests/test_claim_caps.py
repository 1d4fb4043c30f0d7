"""Claiming from the pool: first come first served, only from pools open to the rep, within
the daily cap of the rep's level, the untouched-claims limit and the hard open-lead cap."""

from datetime import timedelta

import pytest
from django.utils import timezone

from assignment.models import ClaimPolicy
from assignment.selectors import pool_leads_for, rep_claim_allowance
from assignment.services import lead_claim, lead_release
from leads.models import Lead, LeadEvent
from leads.selectors import invariants_violations
from tests.factories import LeadFactory, RepFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_a_rep_claims_a_pooled_lead_and_the_claim_clock_starts(rep_a):
    ClaimPolicy.objects.create(level="junior", follow_up_hours=24)
    lead = LeadFactory(status="pooled")
    result = lead_claim(lead=lead, rep=rep_a)
    assert result.ok, result.message
    lead.refresh_from_db()
    assert (lead.status, lead.owner, lead.claim_due is not None) == ("assigned", rep_a, True)
    assert LeadEvent.objects.get(lead=lead).kind == "claim"
    assert list(invariants_violations()) == []


def test_the_second_claimer_is_told_who_took_it(rep_a, rep_b):
    lead = LeadFactory(status="pooled")
    assert lead_claim(lead=lead, rep=rep_a).ok
    second = lead_claim(lead=lead, rep=rep_b)
    assert not second.ok and second.message == f"Already taken by {rep_a.display_name}."
    assert Lead.objects.get(pk=lead.pk).owner == rep_a


def test_a_rep_cannot_claim_from_another_teams_pool(rep_a, outsider):
    lead = LeadFactory(status="pooled", pool_team=rep_a.team)
    result = lead_claim(lead=lead, rep=outsider)
    assert not result.ok and "not in a pool open to you" in result.message
    assert Lead.objects.get(pk=lead.pk).status == "pooled"
    assert lead not in pool_leads_for(outsider) and lead in pool_leads_for(rep_a)


@pytest.mark.parametrize("level, cap", [("junior", 2), ("senior", 4)])
def test_the_daily_claim_cap_follows_the_reps_level(team, level, cap):
    ClaimPolicy.objects.create(level="junior", daily_claim_cap=2, max_untouched=50)
    ClaimPolicy.objects.create(level="senior", daily_claim_cap=4, max_untouched=50)
    rep = RepFactory(team=team, level=level, daily_claim_cap=100)
    leads = [LeadFactory(status="pooled") for _ in range(cap + 1)]
    results = [lead_claim(lead=lead, rep=rep) for lead in leads]
    assert [r.ok for r in results] == [True] * cap + [False]
    assert f"({cap}/{cap} in the last 24 h)" in results[-1].message
    allowance = rep_claim_allowance(rep)
    assert allowance["remaining"] == 0 and allowance["cap"] == cap
    # A rolling window: tomorrow the rep may claim again.
    later = timezone.now() + timedelta(hours=25)
    assert lead_claim(lead=leads[-1], rep=rep, now=later).ok


def test_too_many_untouched_claims_stop_further_claims(rep_a):
    ClaimPolicy.objects.create(level="junior", daily_claim_cap=10, max_untouched=1)
    first, second = LeadFactory(status="pooled"), LeadFactory(status="pooled")
    assert lead_claim(lead=first, rep=rep_a).ok
    refused = lead_claim(lead=second, rep=rep_a)
    assert not refused.ok and "Follow up your claimed leads first (1/1 untouched)" in refused.message


def test_claims_never_break_the_open_lead_cap(rep_a):
    rep_a.max_open_leads = 1
    rep_a.save()
    assert lead_claim(lead=LeadFactory(status="pooled"), rep=rep_a).ok
    refused = lead_claim(lead=LeadFactory(status="pooled"), rep=rep_a)
    assert not refused.ok and "1/1 open leads" in refused.message


def test_a_rep_releases_their_own_lead_with_a_reason(rep_a, rep_b):
    lead = LeadFactory(status="pooled")
    lead_claim(lead=lead, rep=rep_a)
    assert not lead_release(lead=lead, rep=rep_b, reason="not mine").ok
    assert not lead_release(lead=lead, rep=rep_a, reason="  ").ok
    released = lead_release(lead=lead, rep=rep_a, reason="wrong region")
    assert released.ok
    lead.refresh_from_db()
    assert (lead.status, lead.pool_team, lead.previous_owner) == ("pooled", rep_a.team, rep_a)
    assert LeadEvent.objects.filter(lead=lead, kind="release", reason="wrong region").exists()
