"""The intake API: tokens are hashed, revocable and rate limited; random input never causes a 5xx."""

import json

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import Source
from leads.services import source_token_rotate

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _openapi_body_properties(path: str) -> dict:
    """The request body properties as published at /api/v1/openapi.json, so the fuzzing follows
    the description clients read."""
    from django.test import Client

    document = Client().get("/api/v1/openapi.json").json()
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return body.get("properties", {})


def _for_schema(schema: dict):
    """Values of the declared type most of the time, anything JSON now and then."""
    declared = schema.get("type")
    if isinstance(declared, list):  # e.g. ["string", "null"]
        declared = next((t for t in declared if t != "null"), None)
    typed = {
        "string": st.text(max_size=300),
        "integer": st.integers(min_value=-(2**63), max_value=2**63),
        "number": st.floats(allow_nan=False, allow_infinity=False),
        "boolean": st.booleans(),
        "object": st.dictionaries(st.text(max_size=10), json_values, max_size=5),
        "array": st.lists(json_values, max_size=5),
    }.get(declared, json_values)
    if schema.get("enum"):
        typed = st.sampled_from(schema["enum"]) | typed
    return typed | json_values


def body_strategy(path: str):
    properties = _openapi_body_properties(path)
    return st.fixed_dictionaries(
        {}, optional={name: _for_schema(schema) for name, schema in properties.items()}
    )


@pytest.fixture
def api_source(db):
    cache.clear()
    source = Source.objects.create(
        code="fuzz", name="Fuzz", channel="api", heat="hot", rate_limit_per_minute=100000
    )
    return source, source_token_rotate(source=source)


def post(client, path, token, body, content_type="application/json"):
    return client.post(path, data=body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.django_db
def test_tokens_are_stored_hashed_and_old_tokens_stop_working_after_rotation(client, api_source):
    source, token = api_source
    source.refresh_from_db()
    assert token not in source.token_hash and len(source.token_hash) == 64
    assert post(client, "/api/v1/leads", token, json.dumps({"phone": "13800138000"})).status_code == 201
    new_token = source_token_rotate(source=source)
    assert post(client, "/api/v1/leads", token, json.dumps({"phone": "13800138001"})).status_code == 401
    assert post(client, "/api/v1/leads", new_token, json.dumps({"phone": "13800138001"})).status_code == 201


@pytest.mark.django_db
def test_an_inactive_source_is_refused(client, api_source):
    source, token = api_source
    Source.objects.filter(pk=source.pk).update(active=False)
    assert post(client, "/api/v1/leads", token, json.dumps({"phone": "13800138000"})).status_code == 401


@pytest.mark.django_db
def test_requests_over_the_per_source_rate_limit_get_429(client, api_source):
    source, token = api_source
    Source.objects.filter(pk=source.pk).update(rate_limit_per_minute=3)
    codes = [
        post(client, "/api/v1/leads", token, json.dumps({"phone": f"1380013800{i}"})).status_code
        for i in range(5)
    ]
    assert codes[:3] == [201, 201, 201] and codes[3:] == [429, 429]


@pytest.mark.django_db
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_lead_bodies_never_cause_a_server_error(client, api_source, data):
    _, token = api_source
    body = data.draw(
        st.one_of(
            body_strategy("/leads").map(json.dumps),
            json_values.map(json.dumps),
            st.binary(max_size=200),
        )
    )
    response = post(client, "/api/v1/leads", token, body)
    assert response.status_code < 500, response.content[:300]


@pytest.mark.django_db
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_activity_bodies_never_cause_a_server_error(client, api_source, data):
    _, token = api_source
    body = data.draw(st.one_of(body_strategy("/activities").map(json.dumps), json_values.map(json.dumps)))
    response = post(client, "/api/v1/activities", token, body)
    assert response.status_code < 500, response.content[:300]


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.text(max_size=80),
    content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]),
)
def test_random_auth_headers_and_content_types_never_cause_a_server_error(
    client, api_source, header, content_type
):
    response = client.post("/api/v1/leads", data=b"{}", content_type=content_type, HTTP_AUTHORIZATION=header)
    assert response.status_code < 500
