"""Routing explanations stay small at scale: rules passed over are stored as a number, the
failing condition's index and the lead's value, with names and conditions kept once in a rule
snapshot — and old explanations still read the same after the rules are edited."""

import json

import pytest

from assignment.explain import explanation_sentences, snapshots_load
from assignment.models import RuleSnapshot
from assignment.services import lead_route, leads_route_bulk
from leads.models import LeadEvent
from tests.factories import AssignmentRuleFactory, LeadFactory, RuleSetFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _fifty_rules(team):
    rule_set = RuleSetFactory()
    rules = [
        AssignmentRuleFactory(
            rule_set=rule_set,
            position=i,
            name=f"Region {i}",
            strategy="round_robin",
            target_team=team,
            conditions=[
                {"field": "region", "op": "eq", "value": f"R{i}"},
                {"field": "score", "op": "gte", "value": 0},
            ],
        )
        for i in range(1, 50)
    ]
    AssignmentRuleFactory(rule_set=rule_set, position=50, name="Default", strategy="pool", is_default=True)
    return rules


def test_old_explanations_read_the_same_after_the_rules_change(team, rep_a):
    rules = _fifty_rules(team)
    lead = LeadFactory(status="new", region="R3")
    lead_route(lead=lead)
    before = explanation_sentences(LeadEvent.objects.get(lead=lead).data)
    assert before[0] == "Rule 1 'Region 1' did not match: region=R1 (lead has R3)."
    assert before[2].startswith("Rule 3 'Region 3' matched (region=R3, score ≥ 0).")

    rules[0].name = "Renamed"
    rules[0].conditions = [{"field": "industry", "op": "eq", "value": "Retail"}]
    rules[0].save()

    assert explanation_sentences(LeadEvent.objects.get(lead=lead).data) == before


def test_an_explanation_with_fifty_rules_stays_small(team, rep_a):
    _fifty_rules(team)
    lead = LeadFactory(status="new", region="R49")
    lead_route(lead=lead)
    data = LeadEvent.objects.get(lead=lead).data["explanation"]
    size = len(json.dumps(data, ensure_ascii=False))
    assert size < 1500, size
    assert data["rules"][0] == {"n": 1, "to": 48, "outcome": "no_match", "c": 0, "actual": "R49"}


def test_one_snapshot_serves_every_lead_routed_with_the_same_rules(team, rep_a):
    _fifty_rules(team)
    leads = [LeadFactory(status="new", region=f"R{i}") for i in range(1, 11)]
    leads_route_bulk(leads[:5])
    for lead in leads[5:]:
        lead_route(lead=lead)
    assert RuleSnapshot.objects.count() == 1
    events = list(LeadEvent.objects.filter(lead__in=leads))
    assert {e.data["explanation"]["snapshot"] for e in events} == {RuleSnapshot.objects.get().pk}


def test_rendering_many_explanations_loads_their_snapshots_in_one_query(
    team, rep_a, django_assert_num_queries
):
    _fifty_rules(team)
    leads = [LeadFactory(status="new", region=f"R{i}") for i in range(1, 6)]
    leads_route_bulk(leads)
    datas = [e.data for e in LeadEvent.objects.filter(lead__in=leads)]
    with django_assert_num_queries(1):
        snapshots = snapshots_load(datas)
        texts = [explanation_sentences(d, snapshots=snapshots) for d in datas]
    assert all(t[-1].endswith("by round robin.") for t in texts)


def test_a_missing_snapshot_still_renders_something_readable(team, rep_a):
    _fifty_rules(team)
    lead = LeadFactory(status="new", region="R2")
    lead_route(lead=lead)
    RuleSnapshot.objects.all().delete()
    sentences = explanation_sentences(LeadEvent.objects.get(lead=lead).data)
    assert sentences[0].startswith("Rule 1 '#")
    assert "did not match" in sentences[0]


def test_a_malformed_condition_is_named_in_the_explanation(team, rep_a):
    rule_set = RuleSetFactory()
    AssignmentRuleFactory(rule_set=rule_set, position=1, name="Broken", conditions=["region=华东"])
    AssignmentRuleFactory(rule_set=rule_set, position=2, name="Default", strategy="pool", is_default=True)
    decision = lead_route(lead=LeadFactory(status="new"))
    assert decision.status == "pooled"
    sentences = explanation_sentences(LeadEvent.objects.get(lead=decision.lead).data)
    assert sentences[0].startswith("Rule 1 'Broken' did not match: ? ? region=华东")


def test_the_explanation_reads_in_the_readers_language(team, rep_a):
    from django.utils import translation

    _fifty_rules(team)
    lead = LeadFactory(status="new", region="R2")
    lead_route(lead=lead)
    data = LeadEvent.objects.get(lead=lead).data
    with translation.override("zh-hans"):
        chinese = explanation_sentences(data)
    assert chinese[0] == "规则 1「Region 1」 未命中：region=R1 （线索为 R2）。"
    assert "选中" in chinese[1] and "轮询" in chinese[1]
    assert explanation_sentences(data)[0] == "Rule 1 'Region 1' did not match: region=R1 (lead has R2)."


def test_the_rule_index_gives_the_same_decision_and_explanation_as_trying_each_rule(team, rep_a, monkeypatch):
    from assignment import routing
    from assignment.routing import RoutingContext, lead_decide

    rule_set = RuleSetFactory()
    for i in range(1, 31):
        AssignmentRuleFactory(
            rule_set=rule_set,
            position=i,
            name=f"Region {i}",
            strategy="round_robin",
            target_team=team,
            conditions=[
                {"field": "region", "op": "in", "value": [f"R{i}", "华东"] if i in (12, 20) else [f"R{i}"]},
                {"field": "score", "op": "gte", "value": 90 if i == 12 else 0},
            ],
        )
    AssignmentRuleFactory(rule_set=rule_set, position=31, name="Default", strategy="pool", is_default=True)
    leads = [
        LeadFactory(status="new", region=region, score=50)
        for region in ("华东", " r7 ", "R30", "nowhere", "", "R12")
    ]

    def decide_all():
        ctx = RoutingContext(trigger="new", now=leads[0].created_at, lock=False)
        out = []
        for lead in leads:
            decision = lead_decide(lead=lead, ctx=ctx)
            explanation = {k: v for k, v in decision.explanation.items() if k not in ("catalog", "at")}
            out.append((decision.status, decision.owner, decision.rule, explanation))
        return out

    indexed = decide_all()
    monkeypatch.setattr(routing, "rules_segments", lambda compiled: {})
    assert decide_all() == indexed
    assert indexed[0][2].name == "Region 20"  # rule 12 also lists 华东 but needs score ≥ 90
    assert indexed[0][3]["rules"][:3] == [
        {"n": 1, "to": 11, "outcome": "no_match", "c": 0, "actual": "华东"},
        {"n": 12, "outcome": "no_match", "c": 1, "actual": 50},
        {"n": 13, "to": 19, "outcome": "no_match", "c": 0, "actual": "华东"},
    ]
