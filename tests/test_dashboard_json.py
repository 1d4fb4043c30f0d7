"""The read-only JSON feed for BI tools: same figures and definitions as the page, GET only."""

from datetime import date

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests.factories import LeadFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def test_figures_carry_columns_rows_and_definitions(client, manager, rep_a, source):
    LeadFactory(status="converted", team=rep_a.team, source=source, created_at=timezone.now())
    client.force_login(manager)
    body = client.get(reverse("dashboard:json")).json()
    fig = body["figures"]["conversion_team"]
    assert fig["definition"].startswith("Conversion of leads created in the range")
    assert [c["key"] for c in fig["columns"]][:3] == ["name", "leads", "converted"]
    assert fig["rows"] == [
        {"name": "East", "leads": 1, "converted": 1, "lost": 0, "open": 0, "rate": 100.0, "too_few": True}
    ]


def test_filters_are_applied_and_echoed(client, manager, source):
    client.force_login(manager)
    body = client.get(
        reverse("dashboard:json"), {"start": "2026-01-01", "end": "2026-01-31", "source": source.pk}
    ).json()
    assert body["filters"] == {
        "start": "2026-01-01",
        "end": "2026-01-31",
        "team": None,
        "source": source.pk,
        "lead_type": None,
    }
    assert body["filter_errors"] == {}


def test_default_range_is_the_last_90_days(client, manager):
    client.force_login(manager)
    filters = client.get(reverse("dashboard:json")).json()["filters"]
    days = (date.fromisoformat(filters["end"]) - date.fromisoformat(filters["start"])).days + 1
    assert days == 90 and filters["end"] == timezone.localdate().isoformat()


def test_an_inverted_range_falls_back_to_the_defaults(client, manager):
    client.force_login(manager)
    body = client.get(reverse("dashboard:json"), {"start": "2026-02-01", "end": "2026-01-01"}).json()
    assert body["filter_errors"]
    assert body["filters"]["end"] == timezone.localdate().isoformat()


def test_writes_are_refused(client, manager):
    client.force_login(manager)
    assert client.post(reverse("dashboard:json")).status_code == 405
