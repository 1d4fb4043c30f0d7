"""Each strategy's distribution over a team: weighted 3:2:1, least loaded, priority lane,
top performer with a minimum sample, profile match, and the non-picking strategies."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from assignment.services import lead_route, leads_route_bulk
from leads.models import Lead
from tests.factories import (
    AssignmentRuleFactory,
    LeadFactory,
    RepFactory,
    RuleSetFactory,
    RuleTargetFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db


def _rule(team=None, **kwargs):
    rs = RuleSetFactory()
    rule = AssignmentRuleFactory(rule_set=rs, position=1, target_team=team, **kwargs)
    AssignmentRuleFactory(rule_set=rs, position=2, name="Default", strategy="pool", is_default=True)
    return rule


def _owners(leads):
    return [Lead.objects.get(pk=lead.pk).owner_id for lead in leads]


def test_weighted_gives_exactly_3_2_1_over_every_six_leads(team):
    reps = [RepFactory(team=team, weight=w) for w in (3, 2, 1)]
    _rule(team, strategy="weighted")
    leads = [LeadFactory(status="new") for _ in range(12)]
    for lead in leads:
        lead_route(lead=lead)
    owners = _owners(leads)
    for window in (owners[:6], owners[6:]):
        assert Counter(window) == {reps[0].pk: 3, reps[1].pk: 2, reps[2].pk: 1}
    assert owners[0] != owners[1]  # smooth: interleaved, not a burst of three


def test_weighted_uses_rule_target_weights_and_skips_a_weight_of_zero(team):
    a, b, c = (RepFactory(team=team) for _ in range(3))
    rule = _rule(strategy="weighted")
    RuleTargetFactory(rule=rule, rep=a, weight=2)
    RuleTargetFactory(rule=rule, rep=b, weight=1)
    RuleTargetFactory(rule=rule, rep=c, weight=0)
    leads = [LeadFactory(status="new") for _ in range(6)]
    leads_route_bulk(leads)
    assert Counter(_owners(leads)) == {a.pk: 4, b.pk: 2}


def test_least_loaded_fills_the_emptiest_rep_relative_to_capacity(team):
    busy = RepFactory(team=team, max_open_leads=10)
    idle = RepFactory(team=team, max_open_leads=10)
    _rule(team, strategy="least_loaded")
    warmup = [LeadFactory(status="new") for _ in range(4)]
    # Give `busy` four leads first through a direct rule-less path: route them while idle is away.
    idle.status = "away"
    idle.save()
    leads_route_bulk(warmup)
    idle.status = "active"
    idle.save()
    leads = [LeadFactory(status="new") for _ in range(6)]
    leads_route_bulk(leads)
    assert Counter(_owners(leads)) == {idle.pk: 5, busy.pk: 1}


def test_direct_priority_lane_goes_to_the_first_eligible_named_rep(team):
    senior = RepFactory(team=team, level="senior")
    backup = RepFactory(team=team, level="senior")
    rule = _rule(strategy="direct", conditions=[{"field": "is_referral", "op": "eq", "value": True}])
    RuleTargetFactory(rule=rule, rep=senior)
    RuleTargetFactory(rule=rule, rep=backup)
    referral = LeadFactory(status="new", is_referral=True)
    assert lead_route(lead=referral).owner == senior
    senior.status = "away"
    senior.save()
    assert lead_route(lead=LeadFactory(status="new", is_referral=True)).owner == backup
    plain = LeadFactory(status="new", is_referral=False)
    assert lead_route(lead=plain).status == "pooled"


def test_direct_to_a_team_goes_to_its_team_lead_first(team, team_lead, rep_a):
    _rule(team, strategy="direct")
    assert lead_route(lead=LeadFactory(status="new")).owner.user == team_lead


def test_top_performer_needs_the_minimum_sample(team):
    now = timezone.now()
    star = RepFactory(team=team)
    lucky = RepFactory(team=team)
    steady = RepFactory(team=team)
    for rep, won, lost in ((star, 4, 1), (lucky, 1, 0), (steady, 3, 3)):
        for status, n in (("converted", won), ("lost", lost)):
            for _ in range(n):
                LeadFactory(status=status, owner=rep, closed_at=now - timedelta(days=2))
    _rule(team, strategy="top_performer", options={"min_sample": 5})
    decision = lead_route(lead=LeadFactory(status="new"), now=now)
    # lucky has 100 % but only 1 closed lead; star has 80 % over 5.
    assert decision.owner == star
    rows = decision.explanation["rules"][0]["candidates"]
    assert {r["name"]: r.get("sample") for r in rows}[lucky.display_name] == 1


def test_profile_match_picks_the_rep_whose_skills_cover_the_lead(team):
    generalist = RepFactory(team=team, regions=["北京"], industries=["零售"])
    specialist = RepFactory(team=team, regions=["上海"], industries=["SaaS"], products=["CRM"])
    _rule(team, strategy="profile_match")
    decision = lead_route(lead=LeadFactory(status="new", region="上海", industry="SaaS", product="CRM"))
    assert decision.owner == specialist
    rows = {r["id"]: r for r in decision.explanation["rules"][0]["candidates"]}
    assert rows[specialist.pk]["score"] == 8 and rows[generalist.pk]["score"] == 0
    assert rows[specialist.pk]["skills"] == ["region", "industry", "product"]


def test_pool_strategy_puts_the_lead_in_the_target_team_pool_for_claiming(team):
    _rule(team, strategy="pool")
    lead = LeadFactory(status="new")
    lead_route(lead=lead)
    lead.refresh_from_db()
    assert (lead.status, lead.pool_team, lead.pool_reason) == ("pooled", team, "claim_mode")


def test_cascade_offers_the_lead_to_the_tier_one_pool_first(db):
    TeamFactory(name="Tier two", tier=2)
    first = TeamFactory(name="Tier one", tier=1)
    _rule(strategy="cascade")
    lead = LeadFactory(status="new")
    lead_route(lead=lead)
    lead.refresh_from_db()
    assert (lead.status, lead.pool_team, lead.pool_reason, lead.cascade_step) == (
        "pooled",
        first,
        "cascade",
        1,
    )


def test_nurture_strategy_holds_the_lead_without_an_owner(db):
    _rule(strategy="nurture", conditions=[{"field": "tier", "op": "eq", "value": "low"}])
    lead = LeadFactory(status="new", tier="low")
    lead_route(lead=lead)
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == ("nurturing", None)
