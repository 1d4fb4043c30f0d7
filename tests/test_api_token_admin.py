"""A source's API token is shown exactly once in the admin (on creation or rotation); only its
hash is kept."""

import re

from leads.models import Source
from leads.services import source_by_token


def shown_token(response):
    return re.search(r'<code class="api-token">([^<]+)</code>', response.content.decode()).group(1)


def test_creating_a_source_shows_its_token_once(admin_client):
    response = admin_client.post(
        "/admin/leads/source/add/",
        {
            "code": "fair",
            "name": "Fair",
            "channel": "event",
            "heat": "cold",
            "active": "on",
            "rate_limit_per_minute": 600,
        },
    )

    token = shown_token(response)
    source = Source.objects.get(code="fair")
    assert source_by_token(token=token) == source
    assert token not in admin_client.get(f"/admin/leads/source/{source.pk}/change/").content.decode()


def test_rotating_shows_a_new_token_and_the_old_one_stops_working(admin_client, source):
    first = shown_token(
        admin_client.post("/admin/leads/source/", {"action": "token_rotate", "_selected_action": [source.pk]})
    )

    second = shown_token(
        admin_client.post("/admin/leads/source/", {"action": "token_rotate", "_selected_action": [source.pk]})
    )

    assert first != second
    assert source_by_token(token=first) is None
    assert source_by_token(token=second) == source
