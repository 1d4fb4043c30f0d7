"""Managers read why a lead went where it went in the admin too: the audit log's change page
shows the routing explanation as sentences, with rule names escaped."""

import pytest
from django.urls import reverse

from assignment.services import lead_route
from leads.models import LeadEvent
from tests.factories import AssignmentRuleFactory, LeadFactory, RuleSetFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_the_event_page_shows_the_explanation_with_rule_names_escaped(client, manager, team, rep_a):
    rule_set = RuleSetFactory()
    AssignmentRuleFactory(
        rule_set=rule_set,
        position=1,
        name="<script>alert(1)</script>",
        conditions=[{"field": "region", "op": "eq", "value": "北京"}],
    )
    AssignmentRuleFactory(
        rule_set=rule_set, position=2, name="East", strategy="round_robin", target_team=team
    )
    AssignmentRuleFactory(rule_set=rule_set, position=3, name="Default", strategy="pool", is_default=True)
    lead = LeadFactory(status="new", region="华东")
    lead_route(lead=lead)
    event = LeadEvent.objects.get(lead=lead)
    client.force_login(manager)
    page = client.get(reverse("admin:leads_leadevent_change", args=[event.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    text = page.content.decode()
    assert "did not match: region=北京 (lead has 华东)." in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert(1)</script>" not in text
    assert f"picked {rep_a.display_name}" in text


def _routed_lead(team):
    rule_set = RuleSetFactory()
    AssignmentRuleFactory(
        rule_set=rule_set, position=1, name="East", strategy="round_robin", target_team=team
    )
    AssignmentRuleFactory(rule_set=rule_set, position=2, name="Default", strategy="pool", is_default=True)
    lead = LeadFactory(status="new")
    lead_route(lead=lead)
    return lead


def test_the_lead_change_page_shows_why_the_lead_is_where_it_is(client, manager, team, rep_a):
    lead = _routed_lead(team)
    client.force_login(manager)
    page = client.get(reverse("admin:leads_lead_change", args=[lead.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert f"picked {rep_a.display_name}" in page.content.decode()


def test_the_lead_page_costs_the_same_queries_with_more_routing_events(
    client, team, rep_a, rep_b, django_assert_max_num_queries
):
    from assignment.services import leads_route_bulk
    from leads.services import lead_transition

    lead = _routed_lead(team)
    client.force_login(rep_a.user if lead.owner_id == rep_a.pk else rep_b.user)
    url = reverse("workspace:lead_detail", args=[lead.pk])
    with django_assert_max_num_queries(100) as first:
        assert client.get(url).status_code == 200
    for _ in range(3):  # back to the pool and routed again: more routing events on the timeline
        lead.refresh_from_db()
        lead_transition(lead=lead, status="pooled", owner=None, kind="recall", reason="test")
        leads_route_bulk([lead], trigger="new")
    lead.refresh_from_db()
    client.force_login(rep_a.user if lead.owner_id == rep_a.pk else rep_b.user)
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert client.get(url).status_code == 200
