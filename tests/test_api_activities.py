"""POST /api/v1/activities finds the lead by id, phone or e-mail, records the behaviour and
re-scores the lead; an unknown contact is 404 unless the source may create leads."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Activity, Lead, ScoringRule
from leads.services import source_token_rotate

URL = "/api/v1/activities"


@pytest.fixture
def api(client, source):
    token = source_token_rotate(source=source)

    def post(url, body):
        return client.post(
            url, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    return post


@pytest.fixture
def lead_id(api):
    return api("/api/v1/leads", {"phone": "13800138000", "email": "wang@example.cn"}).json()["id"]


def test_an_activity_found_by_phone_in_another_format_is_recorded(api, lead_id):
    response = api(URL, {"phone": "+86 138-0013-8000", "kind": "whitepaper", "note": "pricing.pdf"})

    assert response.status_code == 201
    activity = Activity.objects.get(pk=response.json()["activity_id"])
    assert (activity.lead_id, activity.kind, activity.actor) == (lead_id, "whitepaper", "customer")


def test_an_activity_found_by_email_is_recorded(api, lead_id):
    assert api(URL, {"email": "WANG@example.cn", "kind": "email_open"}).json()["lead"]["id"] == lead_id


def test_an_activity_rescores_the_lead_and_reports_the_tier_change(api, lead_id):
    ScoringRule.objects.create(name="demo", kind="behavioural", activity_kind="demo_request", points=60)

    body = api(URL, {"lead_id": lead_id, "kind": "demo_request"}).json()

    assert body["tier_change"] == ["low", "medium"]
    assert body["lead"]["score"] == 60
    assert Lead.objects.get(pk=lead_id).score_breakdown[0]["rule"] == "demo"


def test_an_unknown_lead_is_404(api, lead_id):
    assert api(URL, {"phone": "13900139000", "kind": "webinar"}).status_code == 404
    assert api(URL, {"lead_id": lead_id + 100, "kind": "webinar"}).status_code == 404


def test_a_source_that_may_create_leads_creates_one_from_an_activity(api, source):
    source.creates_leads_from_activities = True
    source.save()

    response = api(URL, {"phone": "13900139000", "kind": "webinar", "lead": {"name": "李娜"}})

    assert response.status_code == 201
    assert response.json()["lead_created"] is True
    assert Lead.objects.get(phone_normalized="+8613900139000").name == "李娜"


def test_an_unknown_kind_is_a_field_error(api, lead_id):
    response = api(URL, {"lead_id": lead_id, "kind": "teleport"})

    assert response.status_code == 400
    assert "kind" in response.json()["errors"]


def test_an_activity_needs_a_way_to_find_the_lead(api):
    response = api(URL, {"kind": "webinar"})

    assert response.status_code == 400
    assert "contact" in response.json()["errors"]


def test_an_activity_from_a_clock_running_ahead_is_a_field_error(api, lead_id):
    ahead = (timezone.now() + timedelta(hours=2)).isoformat()

    response = api(URL, {"lead_id": lead_id, "kind": "webinar", "occurred_at": ahead})

    assert response.status_code == 400
    assert "occurred_at" in response.json()["errors"]
    assert not Activity.objects.exists()
    assert Lead.objects.get(pk=lead_id).last_activity_at is None


def test_an_activity_a_minute_ahead_is_within_clock_drift(api, lead_id):
    ahead = (timezone.now() + timedelta(minutes=1)).isoformat()

    assert api(URL, {"lead_id": lead_id, "kind": "webinar", "occurred_at": ahead}).status_code == 201
