"""Every routing decision stores a structured explanation, rendered as plain sentences for the
lead page and the admin."""

import pytest

from assignment.explain import explanation_sentences
from assignment.services import lead_route
from leads.models import LeadEvent
from leads.services import lead_transition
from tests.factories import AssignmentRuleFactory, LeadFactory, RepFactory, RuleSetFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_the_explanation_reads_like_the_example_in_the_issue(team, rep_a, rep_b):
    rep_a.status = "away"
    rep_a.save()
    rep_b.max_open_leads = 1
    rep_b.save()
    wang = RepFactory(team=team, user__first_name="Fang", user__last_name="Wang")
    rs = RuleSetFactory()
    AssignmentRuleFactory(
        rule_set=rs,
        position=1,
        name="CEO referral",
        strategy="direct",
        conditions=[{"field": "is_referral", "op": "eq", "value": True}],
    )
    AssignmentRuleFactory(
        rule_set=rs,
        position=2,
        name="North",
        strategy="round_robin",
        conditions=[{"field": "region", "op": "in", "value": ["北京", "天津"]}],
    )
    AssignmentRuleFactory(
        rule_set=rs,
        position=3,
        name="East China SaaS",
        strategy="round_robin",
        target_team=team,
        conditions=[
            {"field": "region", "op": "eq", "value": "华东"},
            {"field": "industry", "op": "eq", "value": "SaaS"},
        ],
    )
    AssignmentRuleFactory(rule_set=rs, position=4, name="Default", strategy="pool", is_default=True)
    held = LeadFactory(status="new")
    lead_transition(
        lead=held, status="assigned", owner=rep_b, kind="route", reason="earlier"
    )  # rep_b is now full
    lead = LeadFactory(status="new", region="华东", industry="SaaS")
    lead_route(lead=lead)
    event = LeadEvent.objects.get(lead=lead)
    assert event.rule.name == "East China SaaS"
    sentences = explanation_sentences(event.data)
    assert sentences[0] == "Rule 1 'CEO referral' did not match: is_referral=True (lead has False)."
    assert sentences[1] == "Rule 2 'North' did not match: region in [北京, 天津] (lead has 华东)."
    assert sentences[2] == (
        "Rule 3 'East China SaaS' matched (region=华东, industry=SaaS). 3 candidates: Wei Li skipped (away), "
        "Min Zhang skipped (1/1 open leads), picked Fang Wang (0/50 open) by round robin."
    )
    assert wang.pk == event.to_owner_id


def test_the_stored_explanation_is_structured(team, rep_a):
    rs = RuleSetFactory()
    AssignmentRuleFactory(rule_set=rs, position=1, name="Team", strategy="least_loaded", target_team=team)
    AssignmentRuleFactory(rule_set=rs, position=2, name="Default", strategy="pool", is_default=True)
    lead = LeadFactory(status="new")
    lead_route(lead=lead)
    data = LeadEvent.objects.get(lead=lead).data["explanation"]
    rule = data["rules"][0]
    assert rule["outcome"] == "decided" and rule["picked"] == rep_a.pk
    assert rule["candidates"] == [{"id": rep_a.pk, "name": "Wei Li", "load": 0, "cap": 50}]
    assert data["result"]["status"] == "assigned" and data["result"]["why"] == "as the least loaded"


def test_a_pooled_decision_says_where_and_why(db):
    rs = RuleSetFactory()
    AssignmentRuleFactory(rule_set=rs, position=1, name="Default", strategy="pool", is_default=True)
    decision = lead_route(lead=LeadFactory(status="new"))
    assert explanation_sentences(decision.explanation) == [
        "Rule 1 'Default' (default) applies.",
        "Sent to the public pool (default rule).",
    ]
