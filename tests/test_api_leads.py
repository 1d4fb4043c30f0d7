"""POST /api/v1/leads: 201 created, 200 merged, 400 with per-field errors; the body tells where
the lead stands (status, tier, score, owner, deciding rule)."""

import json

import pytest

from leads.models import Lead, ScoringRule
from leads.services import source_token_rotate
from tests.factories import AssignmentRuleFactory, RuleSetFactory, RuleTargetFactory

URL = "/api/v1/leads"


@pytest.fixture
def api(client, source):
    token = source_token_rotate(source=source)

    def post(body, **headers):
        return client.post(
            URL,
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            **headers,
        )

    return post


@pytest.fixture
def all_to_rep_a(rep_a):
    """A company scores into a routed band, and one rule sends every routed lead to rep_a."""
    rule = AssignmentRuleFactory(
        rule_set=RuleSetFactory(), name="all to rep_a", strategy="round_robin", is_default=True
    )
    RuleTargetFactory(rule=rule, rep=rep_a)
    ScoringRule.objects.create(name="has company", field="company", operator="not_empty", points=60)
    return rule


def test_a_new_lead_is_created_with_201(api):
    response = api({"name": "王伟", "phone": "138 0013 8000", "email": " Wang@Example.CN "})

    assert response.status_code == 201
    body = response.json()
    lead = Lead.objects.get(pk=body["id"])
    assert (lead.phone_normalized, lead.email) == ("+8613800138000", "wang@example.cn")
    assert body["status"] == lead.status != "new"
    assert set(body) >= {"id", "status", "tier", "score", "owner", "rule"}


def test_the_same_contact_again_is_merged_with_200(api):
    first = api({"phone": "13800138000"}).json()

    response = api({"phone": "+86 138-0013-8000", "company": "恒通科技"})

    assert response.status_code == 200
    assert response.json()["id"] == first["id"]
    assert response.json()["merged"] is True
    assert Lead.objects.get().company == "恒通科技"


def test_bad_fields_get_400_with_a_message_per_field(api):
    response = api({"phone": "12345", "email": "nope", "name": "x" * 101, "lead_type": "unknown"})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"phone", "email", "name", "lead_type"}
    assert not Lead.objects.exists()


def test_a_lead_without_any_contact_gets_400(api):
    response = api({"name": "王伟"})

    assert response.status_code == 400
    assert "contact" in response.json()["errors"]


def test_html_in_a_name_is_stored_as_text(api):
    body = api({"name": "<script>alert(1)</script>", "phone": "13800138000"}).json()

    assert Lead.objects.get(pk=body["id"]).name == "<script>alert(1)</script>"


def test_the_response_names_the_owner_and_the_rule_that_decided(api, all_to_rep_a):

    body = api({"phone": "13800138000", "company": "恒通"}).json()

    assert body["status"] == "assigned"
    assert body["owner"] == "rep_a"
    assert body["rule"] == "all to rep_a"
    assert body["score"] == 60 and body["tier"] == "medium"


def test_a_lead_that_comes_in_again_still_names_the_rule_that_routed_it(api, all_to_rep_a):
    first = api({"phone": "13800138000", "company": "恒通"}).json()

    again = api({"phone": "138 0013 8000", "email": "wang@example.cn"})

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert (again.json()["rule"], again.json()["owner"]) == ("all to rep_a", "rep_a")


def test_a_low_score_lead_is_nurtured_and_has_no_owner(api):
    body = api({"phone": "13800138000"}).json()

    assert (body["status"], body["tier"], body["owner"], body["rule"]) == ("nurturing", "low", None, None)


def test_unknown_keys_are_kept_in_extra(api):
    body = api({"phone": "13800138000", "utm_campaign": "spring", "extra": {"page": "/pricing"}}).json()

    assert Lead.objects.get(pk=body["id"]).extra == {"utm_campaign": "spring", "page": "/pricing"}


def test_a_token_cannot_file_leads_under_another_source(api, source):
    from tests.factories import SourceFactory

    SourceFactory(code="partner")

    body = api({"phone": "13800138000", "source": "partner"}).json()

    lead = Lead.objects.get(pk=body["id"])
    assert lead.source == source
    assert lead.extra == {"source_label": "partner"}


@pytest.mark.parametrize("budget", ["NaN", float("nan"), "Infinity", float("-inf")])
def test_a_budget_that_is_not_a_number_gets_400_naming_the_budget(api, budget):
    response = api({"phone": "13800138000", "budget": budget})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"budget"}
    assert not Lead.objects.exists()


def test_an_extra_that_is_not_an_object_gets_400(api):
    response = api({"phone": "13800138000", "extra": "vip"})

    assert response.status_code == 400
    assert "extra" in response.json()["errors"]
    assert not Lead.objects.exists()
