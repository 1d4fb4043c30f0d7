"""The intake API accepts only a valid, active source token and well-formed JSON bodies."""

import json

import pytest
from django.core.cache import cache

from leads.models import Lead
from leads.services import source_token_rotate

URL = "/api/v1/leads"


@pytest.fixture
def token(source):
    return source_token_rotate(source=source)


def post(client, body, *, token=None, content_type="application/json", **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    data = json.dumps(body) if not isinstance(body, (bytes, str)) else body
    return client.post(URL, data=data, content_type=content_type, **headers)


def test_a_request_without_a_token_gets_401(client, source):
    response = post(client, {"phone": "13800138000"})

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_token_gets_401(client, token):
    assert post(client, {"phone": "13800138000"}, token=token + "x").status_code == 401


def test_the_old_token_stops_working_after_rotation(client, source, token):
    source_token_rotate(source=source)

    assert post(client, {"phone": "13800138000"}, token=token).status_code == 401


def test_an_inactive_source_cannot_post(client, source, token):
    source.active = False
    source.save()

    assert post(client, {"phone": "13800138000"}, token=token).status_code == 401


def test_only_the_hash_of_the_token_is_stored(source, token):
    source.refresh_from_db()

    assert token not in (source.token_hash, source.token_prefix)
    assert len(source.token_hash) == 64
    assert token.startswith(source.token_prefix)


def test_a_form_encoded_body_gets_415(client, token):
    response = client.post(URL, data={"phone": "13800138000"}, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 415


def test_a_body_over_the_limit_gets_413(client, token, settings):
    settings.API_MAX_BODY_BYTES = 100

    response = post(client, {"phone": "13800138000", "name": "x" * 200}, token=token)

    assert response.status_code == 413
    assert not Lead.objects.exists()


def test_invalid_json_gets_400(client, token):
    response = post(client, b"{not json", token=token)

    assert response.status_code == 400
    assert "body" in response.json()["errors"]


def test_a_json_array_gets_400(client, token):
    assert post(client, b"[1, 2]", token=token).status_code == 400


def test_get_is_not_allowed(client, token):
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 405


def test_a_source_over_its_rate_limit_gets_429(client, source, token):
    cache.clear()
    source.rate_limit_per_minute = 2
    source.save()

    codes = [post(client, {"phone": f"1380013800{i}"}, token=token).status_code for i in range(3)]

    assert codes[:2] == [201, 201]
    assert codes[2] == 429
