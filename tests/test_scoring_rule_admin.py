"""A scoring rule that could never match, or that would break scoring, is refused when a
manager saves it in the admin, with the reason next to the field."""

import pytest
from django.urls import reverse

from crm.demo import demo_organisation_create
from leads.models import ScoringRule
from leads.scoring import scoring_rule_problems
from lifecycle.intake import lead_intake

URL = reverse("admin:leads_scoringrule_add")


def _post(client, **values):
    form = {"name": "r", "kind": "explicit", "field": "", "operator": "", "value": '""', "points": "10"}
    form.update(values)
    return client.post(URL, form, HTTP_ACCEPT_LANGUAGE="en")


def test_a_valid_rule_is_saved(admin_client):
    response = _post(admin_client, field="company_size", operator="gte", value="200")

    assert response.status_code == 302
    assert ScoringRule.objects.get().value == 200


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"field": "industy", "operator": "eq", "value": '"SaaS"'}, "field", "industy"),
        ({"field": "", "operator": "eq", "value": '"SaaS"'}, "field", "field"),
        ({"field": "industry", "operator": "", "value": '"SaaS"'}, "operator", "operator"),
        ({"field": "budget", "operator": "gte", "value": '"lots"'}, "value", "lots"),
        ({"field": "budget", "operator": "gte", "value": "NaN"}, "value", "NaN"),
        ({"field": "region", "operator": "in", "value": "[]"}, "value", "at least one"),
        ({"kind": "behavioural", "activity_kind": ""}, "activity_kind", "activity kind"),
    ],
)
def test_a_rule_that_cannot_work_is_refused_naming_the_field(admin_client, values, field, words):
    response = _post(admin_client, **values)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert words in " ".join(errors[field])
    assert not ScoringRule.objects.exists()


def test_the_demo_scoring_rules_are_all_valid(db):
    demo_organisation_create(reps=2)

    assert {rule.name: scoring_rule_problems(rule) for rule in ScoringRule.objects.all()} == {
        rule.name: {} for rule in ScoringRule.objects.all()
    }


def test_a_rule_value_stored_as_nan_scores_as_no_match_instead_of_breaking_intake(db, source):
    ScoringRule.objects.create(name="odd", field="budget", operator="gte", value="NaN", points=10)

    result = lead_intake(data={"phone": "13800138000", "budget": "80"}, source=source)

    assert result.lead.score == 0
