"""A retried request with the same Idempotency-Key returns the first response and creates nothing."""

import json

import pytest

from leads.models import Activity, IdempotencyKey, Lead
from leads.services import source_token_rotate


@pytest.fixture
def api(client, source):
    token = source_token_rotate(source=source)

    def post(url, body, key=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        if key:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        return client.post(url, data=json.dumps(body), content_type="application/json", **headers)

    return post


def test_a_retried_lead_request_returns_the_first_response(api):
    first = api("/api/v1/leads", {"phone": "13800138000", "name": "王伟"}, key="k-1")
    again = api("/api/v1/leads", {"phone": "13800138000", "name": "王伟"}, key="k-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Lead.objects.count() == 1
    assert not Activity.objects.filter(kind="came_again").exists()


def test_without_a_key_a_repeat_is_a_merge(api):
    api("/api/v1/leads", {"phone": "13800138000"})

    assert api("/api/v1/leads", {"phone": "13800138000"}).status_code == 200


def test_a_key_reused_with_another_body_is_refused(api):
    api("/api/v1/leads", {"phone": "13800138000"}, key="k-2")

    response = api("/api/v1/leads", {"phone": "13900139000"}, key="k-2")

    assert response.status_code == 422
    assert Lead.objects.count() == 1


def test_a_failed_request_does_not_burn_the_key(api):
    assert api("/api/v1/leads", {"phone": "12345"}, key="k-3").status_code == 400

    assert api("/api/v1/leads", {"phone": "13800138000"}, key="k-3").status_code == 201


def test_keys_are_per_source(api, client):
    from tests.factories import SourceFactory

    other = SourceFactory(code="partner")
    other_token = source_token_rotate(source=other)
    api("/api/v1/leads", {"phone": "13800138000"}, key="shared")

    response = client.post(
        "/api/v1/leads",
        data=json.dumps({"phone": "13900139000"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {other_token}",
        HTTP_IDEMPOTENCY_KEY="shared",
    )

    assert response.status_code == 201
    assert IdempotencyKey.objects.count() == 2


def test_a_retried_activity_is_recorded_once(api):
    lead_id = api("/api/v1/leads", {"phone": "13800138000"}).json()["id"]

    for _ in range(2):
        api("/api/v1/activities", {"lead_id": lead_id, "kind": "webinar"}, key="a-1")

    assert Activity.objects.filter(kind="webinar").count() == 1


def test_keys_are_forgotten_after_a_day_and_a_late_retry_still_creates_no_second_lead(api):
    from datetime import timedelta

    from django.utils import timezone

    from leads.tasks import idempotency_keys_expire

    api("/api/v1/leads", {"phone": "13800138000"}, key="old")
    api("/api/v1/leads", {"phone": "13900139000"}, key="fresh")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))

    assert idempotency_keys_expire() == 1

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
    late = api("/api/v1/leads", {"phone": "13800138000"}, key="old")
    assert late.status_code == 200 and late.json()["merged"] is True
    assert Lead.objects.count() == 2
