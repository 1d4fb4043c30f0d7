"""The condition editor: rows of field / operator / value, no JSON typing, and validation that
names unknown fields and operators."""

import pytest
from django.test import Client
from django.urls import reverse

from assignment.models import AssignmentRule
from tests.factories import RuleSetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Pages in English, whatever the project's default language, so assertions read plainly."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def _rule_form(rule_set, rows, **extra):
    data = {
        "rule_set": str(rule_set.pk),
        "name": "East China SaaS",
        "active": "on",
        "position": "1",
        "strategy": "round_robin",
        "on_no_eligible": "fall_through",
        "options": "{}",
        "conditions-count": str(len(rows)),
        "any_conditions-count": "0",
        "targets-TOTAL_FORMS": "0",
        "targets-INITIAL_FORMS": "0",
        "targets-MIN_NUM_FORMS": "0",
        "targets-MAX_NUM_FORMS": "1000",
    }
    for i, (field, op, value) in enumerate(rows):
        data.update(
            {f"conditions-{i}-field": field, f"conditions-{i}-op": op, f"conditions-{i}-value": value}
        )
    data.update(extra)
    return data


def test_conditions_are_entered_as_rows_and_stored_structured(client, manager):
    rule_set = RuleSetFactory()
    client.force_login(manager)
    response = client.post(
        reverse("admin:assignment_assignmentrule_add"),
        _rule_form(
            rule_set,
            [
                ("region", "in", "上海, 江苏，浙江"),
                ("score", "gte", "80"),
                ("budget", "between", "10, 50"),
                ("extra.campaign", "eq", "618"),
                ("is_referral", "eq", "yes"),
                ("", "", ""),
            ],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = AssignmentRule.objects.get(name="East China SaaS")
    assert rule.conditions == [
        {"field": "region", "op": "in", "value": ["上海", "江苏", "浙江"]},
        {"field": "score", "op": "gte", "value": 80},
        {"field": "budget", "op": "between", "value": [10, 50]},
        {"field": "extra.campaign", "op": "eq", "value": "618"},
        {"field": "is_referral", "op": "eq", "value": True},
    ]


def test_the_editor_shows_existing_conditions_as_rows(client, manager):
    rule_set = RuleSetFactory()
    rule = AssignmentRule.objects.create(
        rule_set=rule_set, name="R", conditions=[{"field": "region", "op": "in", "value": ["上海", "江苏"]}]
    )
    client.force_login(manager)
    page = client.get(reverse("admin:assignment_assignmentrule_change", args=[rule.pk])).content.decode()
    assert 'name="conditions-0-field" value="region"' in page
    assert 'value="上海, 江苏"' in page
    assert "{&quot;field" not in page  # no raw JSON in front of the manager


@pytest.mark.parametrize(
    "row, message",
    [
        (("regoin", "eq", "上海"), "unknown field &#x27;regoin&#x27;"),
        (("region", "like", "上海"), "unknown operator &#x27;like&#x27;"),
        (("score", "gte", "many"), "the value must be a number"),
        (("score", "gte", "nan"), "the value must be a number"),
        (("budget", "between", "10, inf"), "both bounds must be numbers"),
        (("region", "in", ""), "give at least one value"),
    ],
)
def test_unknown_fields_and_operators_are_rejected_by_name(client, manager, row, message):
    rule_set = RuleSetFactory()
    client.force_login(manager)
    response = client.post(reverse("admin:assignment_assignmentrule_add"), _rule_form(rule_set, [row]))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AssignmentRule.objects.exists()
