"""Round robin over a team: equal turns, skips explained, pool when nobody is eligible."""

from collections import Counter

import pytest

from assignment.explain import explanation_sentences
from assignment.services import lead_route, leads_route_bulk
from leads.models import Lead, LeadEvent
from tests.factories import AssignmentRuleFactory, LeadFactory, RepFactory, RuleSetFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def rule_set(team):
    rs = RuleSetFactory()
    AssignmentRuleFactory(rule_set=rs, name="East team", position=1, strategy="round_robin", target_team=team)
    AssignmentRuleFactory(rule_set=rs, name="Default", position=2, strategy="pool", is_default=True)
    return rs


def test_round_robin_gives_each_rep_an_equal_share(rule_set, rep_a, rep_b):
    rep_c = RepFactory(team=rep_a.team)
    leads = [LeadFactory(status="new") for _ in range(9)]
    for lead in leads:
        lead_route(lead=lead)
    owners = Counter(Lead.objects.values_list("owner_id", flat=True))
    assert owners == {rep_a.pk: 3, rep_b.pk: 3, rep_c.pk: 3}
    assert list(Lead.objects.order_by("pk").values_list("owner_id", flat=True)[:3]) == [
        rep_a.pk,
        rep_b.pk,
        rep_c.pk,
    ]


def test_an_away_rep_is_skipped_and_the_skip_is_explained(rule_set, rep_a, rep_b):
    rep_a.status = "away"
    rep_a.save()
    lead = LeadFactory(status="new")
    decision = lead_route(lead=lead)
    assert decision.owner == rep_b
    event = LeadEvent.objects.get(lead=lead)
    assert event.rule.name == "East team"
    text = " ".join(explanation_sentences(event.data))
    assert "Rule 1 'East team' matched." in text
    assert "2 candidates: Wei Li skipped (away), picked Min Zhang" in text
    assert "by round robin" in text


def test_nobody_eligible_falls_through_to_the_default_pool(rule_set, rep_a, rep_b):
    for rep in (rep_a, rep_b):
        rep.status = "away"
        rep.save()
    lead = LeadFactory(status="new")
    decision = lead_route(lead=lead)
    lead.refresh_from_db()
    assert (lead.status, lead.owner, lead.pool_team, lead.pool_reason) == ("pooled", None, None, "default")
    assert decision.rule.name == "Default"


def test_no_rule_set_at_all_pools_the_lead_publicly(db, source):
    lead = LeadFactory(status="new", source=source)
    lead_route(lead=lead)
    lead.refresh_from_db()
    assert lead.status == "pooled" and lead.pool_team is None
    assert (
        explanation_sentences(LeadEvent.objects.get(lead=lead).data)[0]
        == "No active rule set for this trigger."
    )


def test_bulk_routing_updates_hit_counts_set_wise(rule_set, rep_a, rep_b):
    leads = [LeadFactory(status="new") for _ in range(4)]
    leads_route_bulk(leads)
    rule = rule_set.rules.get(name="East team")
    assert rule.hit_count == 4 and rule.last_matched_at is not None


def test_bulk_routing_adds_each_rules_hits_to_the_count_it_had(rule_set, rep_a, rep_b):
    rep_a.status = rep_b.status = "away"
    rep_a.save()
    rep_b.save()
    lead_route(lead=LeadFactory(status="new"))  # nobody eligible: the default rule decides
    rule_set.rules.filter(name="East team").update(
        conditions=[{"field": "region", "op": "eq", "value": "华东"}]
    )
    rep_a.status = "active"
    rep_a.save()
    leads = [LeadFactory(status="new", region="华东" if i % 3 else "华北") for i in range(6)]
    leads_route_bulk(leads)
    counts = dict(rule_set.rules.values_list("name", "hit_count"))
    assert counts == {"East team": 4, "Default": 1 + 2}
    assert rule_set.rules.filter(last_matched_at__isnull=True).count() == 0
