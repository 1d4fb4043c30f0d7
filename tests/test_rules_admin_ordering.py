"""Managers order rules by dragging in the rule set's admin page; the saved order is the
evaluation order, the default stays last and cannot be deleted or switched off."""

import pytest
from django.test import Client
from django.urls import reverse

from assignment.models import AssignmentRule, RuleSet
from assignment.services import lead_route
from tests.factories import AssignmentRuleFactory, LeadFactory, RuleSetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Pages in English, whatever the project's default language, so assertions read plainly."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def rule_set(rep_a, outsider):
    rs = RuleSetFactory(name="Live")
    AssignmentRuleFactory(
        rule_set=rs, name="West first", position=1, strategy="round_robin", target_team=outsider.team
    )
    AssignmentRuleFactory(
        rule_set=rs, name="East first", position=2, strategy="round_robin", target_team=rep_a.team
    )
    AssignmentRuleFactory(rule_set=rs, name="Default", position=3, strategy="pool", is_default=True)
    return rs


def _post_data(rule_set, order, **overrides):
    """The change form as the browser posts it after a drag: positions in the new order."""
    rules = list(rule_set.rules.order_by("position"))
    data = {
        "name": rule_set.name,
        "trigger": rule_set.trigger,
        "notes": "",
        "rules-TOTAL_FORMS": str(len(rules)),
        "rules-INITIAL_FORMS": str(len(rules)),
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
    }
    for i, rule in enumerate(rules):
        prefix = f"rules-{i}-"
        data.update(
            {
                prefix + "id": str(rule.pk),
                prefix + "rule_set": str(rule_set.pk),
                prefix + "position": str(order.index(rule.name) + 1),
                prefix + "name": rule.name,
                prefix + "strategy": rule.strategy,
                prefix + "target_team": str(rule.target_team_id or ""),
                prefix + "target_level": "",
                prefix + "on_no_eligible": rule.on_no_eligible,
            }
        )
        if rule.active:
            data[prefix + "active"] = "on"
        if rule.is_default:
            data[prefix + "is_default"] = "on"
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_dragging_a_rule_up_changes_who_gets_the_lead(client, manager, rule_set, rep_a, outsider):
    assert lead_route(lead=LeadFactory(status="new")).owner == outsider
    client.force_login(manager)
    url = reverse("admin:assignment_ruleset_change", args=[rule_set.pk])
    response = client.post(url, _post_data(rule_set, ["East first", "West first", "Default"]))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(rule_set.rules.order_by("position").values_list("name", flat=True)) == [
        "East first",
        "West first",
        "Default",
    ]
    assert lead_route(lead=LeadFactory(status="new")).owner == rep_a


def test_a_rule_dragged_below_the_default_is_moved_back_above_it(client, manager, rule_set):
    client.force_login(manager)
    url = reverse("admin:assignment_ruleset_change", args=[rule_set.pk])
    client.post(url, _post_data(rule_set, ["West first", "Default", "East first"]))
    assert list(rule_set.rules.order_by("position").values_list("name", flat=True))[-1] == "Default"


def test_the_default_rule_cannot_be_deleted_or_switched_off(client, manager, rule_set):
    client.force_login(manager)
    url = reverse("admin:assignment_ruleset_change", args=[rule_set.pk])
    order = ["West first", "East first", "Default"]
    response = client.post(url, _post_data(rule_set, order, **{"rules-2-DELETE": "on"}))
    assert response.status_code == 200
    assert "The default rule cannot be deleted" in response.content.decode()
    response = client.post(url, _post_data(rule_set, order, **{"rules-2-active": None}))
    assert "The default rule cannot be switched off." in response.content.decode()
    response = client.post(url, _post_data(rule_set, order, **{"rules-2-is_default": None}))
    assert "exactly one default rule" in response.content.decode()
    assert AssignmentRule.objects.filter(rule_set=rule_set, is_default=True, active=True).count() == 1
    delete_url = reverse(
        "admin:assignment_assignmentrule_delete", args=[rule_set.rules.get(is_default=True).pk]
    )
    assert client.post(delete_url, {"post": "yes"}).status_code == 403


def test_a_rep_without_admin_rights_cannot_reorder(client, rep_a, rule_set):
    rep_a.user.is_staff = True
    rep_a.user.save()
    client.force_login(rep_a.user)
    url = reverse("admin:assignment_ruleset_change", args=[rule_set.pk])
    response = client.post(url, _post_data(rule_set, ["East first", "West first", "Default"]))
    assert response.status_code == 403
    assert rule_set.rules.get(name="West first").position == 1


def test_switching_the_live_rule_set_is_atomic(client, manager, rule_set):
    draft = RuleSetFactory(name="Draft", is_active=False)
    AssignmentRuleFactory(rule_set=draft, name="Default", strategy="pool", is_default=True)
    client.force_login(manager)
    response = client.post(
        reverse("admin:assignment_ruleset_changelist"),
        {"action": "activate", "_selected_action": [str(draft.pk)]},
    )
    assert response.status_code == 302
    assert list(RuleSet.objects.filter(is_active=True).values_list("name", flat=True)) == ["Draft"]


def test_a_rule_set_without_a_default_cannot_go_live(client, manager, rule_set):
    empty = RuleSetFactory(name="Empty", is_active=False)
    client.force_login(manager)
    client.post(
        reverse("admin:assignment_ruleset_changelist"),
        {"action": "activate", "_selected_action": [str(empty.pk)]},
    )
    assert RuleSet.objects.get(is_active=True) == rule_set
