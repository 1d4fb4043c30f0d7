"""Rule order, fall-through, the default rule, schedules, and bad rule data: the lead always
ends owned, pooled or nurturing, with an explanation — never an exception."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from assignment.explain import explanation_sentences
from assignment.services import lead_route
from leads.models import Lead, LeadEvent
from tests.factories import AssignmentRuleFactory, LeadFactory, RepFactory, RuleSetFactory, RuleTargetFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def rule_set():
    return RuleSetFactory()


def test_the_first_matching_rule_decides(rule_set, rep_a, outsider):
    AssignmentRuleFactory(
        rule_set=rule_set,
        position=1,
        strategy="round_robin",
        target_team=outsider.team,
        conditions=[{"field": "region", "op": "eq", "value": "北京"}],
    )
    AssignmentRuleFactory(rule_set=rule_set, position=2, strategy="round_robin", target_team=rep_a.team)
    AssignmentRuleFactory(rule_set=rule_set, position=3, strategy="pool", is_default=True)
    assert lead_route(lead=LeadFactory(status="new", region="北京")).owner == outsider
    assert lead_route(lead=LeadFactory(status="new", region="上海")).owner == rep_a


def test_a_rule_without_eligible_reps_falls_through_to_the_next(rule_set, rep_a, outsider):
    outsider.status = "away"
    outsider.save()
    AssignmentRuleFactory(
        rule_set=rule_set, position=1, name="West", strategy="round_robin", target_team=outsider.team
    )
    AssignmentRuleFactory(
        rule_set=rule_set, position=2, name="East", strategy="round_robin", target_team=rep_a.team
    )
    AssignmentRuleFactory(rule_set=rule_set, position=3, strategy="pool", is_default=True)
    lead = LeadFactory(status="new")
    decision = lead_route(lead=lead)
    assert decision.owner == rep_a and decision.rule.name == "East"
    text = explanation_sentences(LeadEvent.objects.get(lead=lead).data)
    assert text[0].startswith("Rule 1 'West' matched. 1 candidate:")
    assert "Nobody eligible, so the next rule was tried." in text


def test_a_rule_may_pool_instead_of_falling_through(rule_set, rep_a, team):
    rep_a.status = "away"
    rep_a.save()
    AssignmentRuleFactory(
        rule_set=rule_set, position=1, strategy="round_robin", target_team=team, on_no_eligible="pool"
    )
    AssignmentRuleFactory(rule_set=rule_set, position=2, strategy="pool", is_default=True)
    lead = LeadFactory(status="new")
    lead_route(lead=lead)
    lead.refresh_from_db()
    assert (lead.status, lead.pool_team, lead.pool_reason) == ("pooled", team, "no_eligible_rep")


def test_the_default_rule_may_name_a_default_owner(rule_set, rep_b):
    AssignmentRuleFactory(
        rule_set=rule_set, position=1, strategy="pool", is_default=True, default_owner=rep_b
    )
    decision = lead_route(lead=LeadFactory(status="new"))
    assert decision.owner == rep_b
    assert (
        explanation_sentences(decision.explanation)[-1]
        == f"Assigned to the default owner {rep_b.display_name}."
    )


def test_inactive_and_off_schedule_rules_are_passed_over(rule_set, rep_a, rep_b, outsider):
    AssignmentRuleFactory(
        rule_set=rule_set, position=1, strategy="direct", active=False, target_team=outsider.team
    )
    AssignmentRuleFactory(
        rule_set=rule_set,
        position=2,
        strategy="direct",
        target_team=outsider.team,
        schedule_start=time(9),
        schedule_end=time(18),
        schedule_timezone="Asia/Shanghai",
    )
    AssignmentRuleFactory(rule_set=rule_set, position=3, strategy="round_robin", target_team=rep_a.team)
    AssignmentRuleFactory(rule_set=rule_set, position=4, strategy="pool", is_default=True)
    night = datetime(2026, 11, 23, 22, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    decision = lead_route(lead=LeadFactory(status="new"), now=night)
    assert decision.owner in (rep_a, rep_b)
    assert [r["outcome"] for r in decision.explanation["rules"][:2]] == ["inactive", "off_schedule"]
    assert lead_route(lead=LeadFactory(status="new"), now=night.replace(hour=10)).owner == outsider


def test_a_condition_on_a_missing_extra_key_simply_does_not_match(rule_set, rep_a):
    AssignmentRuleFactory(
        rule_set=rule_set,
        position=1,
        strategy="round_robin",
        target_team=rep_a.team,
        conditions=[{"field": "extra.campaign", "op": "eq", "value": "618"}],
    )
    AssignmentRuleFactory(rule_set=rule_set, position=2, strategy="pool", is_default=True)
    assert lead_route(lead=LeadFactory(status="new", extra={})).status == "pooled"
    assert lead_route(lead=LeadFactory(status="new", extra={"campaign": "618"})).owner == rep_a


def test_garbage_rule_data_never_raises_and_never_orphans(rule_set, rep_a):
    AssignmentRuleFactory(
        rule_set=rule_set,
        position=1,
        strategy="round_robin",
        conditions=[{"field": "nonsense", "op": "???", "value": None}, "junk"],
    )
    AssignmentRuleFactory(rule_set=rule_set, position=2, strategy="teleport", target_team=rep_a.team)
    AssignmentRuleFactory(rule_set=rule_set, position=3, strategy="pool", is_default=True)
    lead = LeadFactory(status="new")
    lead_route(lead=lead)
    lead.refresh_from_db()
    assert lead.status == "pooled"


def test_a_rule_naming_a_departed_rep_falls_through_and_says_so(rule_set, rep_a, rep_b):
    rule = AssignmentRuleFactory(rule_set=rule_set, position=1, name="Named", strategy="direct")
    RuleTargetFactory(rule=rule, rep=rep_a)
    AssignmentRuleFactory(rule_set=rule_set, position=2, strategy="round_robin", target_team=rep_b.team)
    AssignmentRuleFactory(rule_set=rule_set, position=3, strategy="pool", is_default=True)
    rep_a.status = "departed"
    rep_a.save()
    decision = lead_route(lead=LeadFactory(status="new"))
    assert decision.owner == rep_b
    assert f"{rep_a.display_name} skipped (departed)" in explanation_sentences(decision.explanation)[0]


def test_rerouting_a_pooled_lead_assigns_it(rule_set, rep_a):
    AssignmentRuleFactory(rule_set=rule_set, position=1, strategy="round_robin", target_team=rep_a.team)
    AssignmentRuleFactory(rule_set=rule_set, position=2, strategy="pool", is_default=True)
    lead = LeadFactory(status="pooled")
    decision = lead_route(lead=lead, trigger="new")
    assert decision.applied and Lead.objects.get(pk=lead.pk).owner == rep_a


def test_closed_leads_are_left_alone(rule_set, rep_a):
    AssignmentRuleFactory(rule_set=rule_set, position=1, strategy="round_robin", target_team=rep_a.team)
    lead = LeadFactory(status="lost")
    decision = lead_route(lead=lead)
    assert not decision.applied and Lead.objects.get(pk=lead.pk).status == "lost"


def test_a_weight_of_zero_everywhere_means_nobody_eligible(rule_set, team):
    reps = [RepFactory(team=team, weight=0) for _ in range(2)]
    AssignmentRuleFactory(rule_set=rule_set, position=1, strategy="weighted", target_team=team)
    AssignmentRuleFactory(rule_set=rule_set, position=2, strategy="pool", is_default=True)
    decision = lead_route(lead=LeadFactory(status="new"))
    assert decision.status == "pooled"
    assert {r["skip"] for r in decision.explanation["rules"][0]["candidates"]} == {"weight_zero"}
    assert len(reps) == 2
