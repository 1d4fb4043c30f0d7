"""Transfers: to one rep (within their hard cap, all or nothing) or to a team, routed inside the
team by its own rule — with the manager as actor, a reason, and both sides notified."""

from collections import Counter

import pytest

from assignment.services import ActionRefused, leads_reroute, leads_transfer
from crm.models import Notification
from leads.models import Lead, LeadEvent
from leads.selectors import invariants_violations
from leads.services import TransitionRequest, leads_transition_bulk
from tests.factories import AssignmentRuleFactory, LeadFactory, RepFactory, RuleSetFactory

pytestmark = pytest.mark.django_db


def _assigned(rep, n):
    leads = [LeadFactory(status="new") for _ in range(n)]
    leads_transition_bulk(
        [
            TransitionRequest(lead=lead, status="assigned", owner=rep, kind="route", reason="test")
            for lead in leads
        ]
    )
    return Lead.objects.filter(pk__in=[x.pk for x in leads])


def test_transfer_to_a_team_routes_inside_the_team_by_its_rule(manager, outsider, other_team):
    heavy = RepFactory(team=other_team, weight=2)
    light = RepFactory(team=other_team, weight=1)
    rs = RuleSetFactory()
    AssignmentRuleFactory(
        rule_set=rs,
        position=1,
        strategy="weighted",
        target_team=other_team,
        conditions=[{"field": "region", "op": "eq", "value": "never"}],
    )
    AssignmentRuleFactory(rule_set=rs, position=2, strategy="pool", is_default=True)
    rep_a = RepFactory()
    qs = _assigned(rep_a, 6)
    result = leads_transfer(leads_qs=qs, actor=manager, reason="re-balance", to_team=other_team)
    assert result.changed == 6
    owners = Counter(Lead.objects.filter(pk__in=qs.values("pk")).values_list("owner_id", flat=True))
    # The team's own rule is weighted (2:1:1 here): the heavy rep gets half, in turn.
    assert set(owners) == {heavy.pk, light.pk, outsider.pk} and owners[heavy.pk] == 3
    assert set(LeadEvent.objects.filter(kind="transfer").values_list("actor", "reason").distinct()) == {
        (manager.pk, "re-balance")
    }
    assert Notification.objects.filter(user=rep_a.user, kind="transferred").exists()
    assert Notification.objects.filter(user=heavy.user, kind="transferred_in").exists()
    assert list(invariants_violations()) == []


def test_a_team_with_nobody_eligible_keeps_the_leads_in_its_pool(manager, rep_a, outsider, other_team):
    outsider.status = "away"
    outsider.save()
    qs = _assigned(rep_a, 2)
    leads_transfer(leads_qs=qs, actor=manager, reason="cover", to_team=other_team)
    assert set(Lead.objects.filter(pk__in=qs.values("pk")).values_list("status", "pool_team")) == {
        ("pooled", other_team.pk)
    }


def test_transfer_to_a_rep_is_refused_whole_when_it_would_break_their_cap(manager, rep_a, rep_b):
    rep_b.max_open_leads = 3
    rep_b.save()
    _assigned(rep_b, 2)
    qs = _assigned(rep_a, 2)
    with pytest.raises(ActionRefused, match="2/3 open leads"):
        leads_transfer(leads_qs=qs, actor=manager, reason="cover", to_rep=rep_b)
    assert Lead.objects.filter(owner=rep_a).count() == 2
    one = Lead.objects.filter(pk=qs.first().pk)
    assert leads_transfer(leads_qs=one, actor=manager, reason="cover", to_rep=rep_b).changed == 1
    assert list(invariants_violations()) == []


def test_reroute_sends_leads_through_the_rules_away_from_their_owner(manager, rep_a, rep_b):
    rs = RuleSetFactory()
    AssignmentRuleFactory(rule_set=rs, position=1, strategy="round_robin", target_team=rep_a.team)
    AssignmentRuleFactory(rule_set=rs, position=2, strategy="pool", is_default=True)
    qs = _assigned(rep_a, 3)
    result = leads_reroute(leads_qs=qs, actor=manager, reason="owner overloaded")
    assert result.changed == 3
    assert set(Lead.objects.filter(pk__in=qs.values("pk")).values_list("owner_id", flat=True)) == {rep_b.pk}
    assert LeadEvent.objects.filter(kind="reroute", actor=manager).count() == 3
