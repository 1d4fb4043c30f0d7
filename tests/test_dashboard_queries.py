"""The dashboard's query count does not grow with the data: 10 leads or 100, the same queries."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import ActivityFactory, LeadEventFactory, LeadFactory, StageFactory


def populate(n, *, reps, source):
    now = timezone.now()
    stage = StageFactory(name=f"stage-{n}")
    for i in range(n):
        rep = reps[i % len(reps)]
        lead = LeadFactory(
            status="assigned",
            owner=rep,
            team=rep.team,
            source=source,
            score=i % 100,
            stage=stage if i % 3 == 0 else None,
            created_at=now - timedelta(days=i % 80),
            assigned_at=now - timedelta(days=i % 80),
            first_contact_due=now - timedelta(days=i % 80) + timedelta(hours=4),
        )
        ActivityFactory(lead=lead, rep=rep, occurred_at=lead.assigned_at + timedelta(hours=i % 7))
        LeadEventFactory(lead=lead, kind="route", to_owner=rep, to_status="assigned", at=lead.assigned_at)
        LeadEventFactory(
            lead=lead, kind="stage", data={"to": stage.pk}, at=lead.assigned_at + timedelta(hours=1)
        )


def count_queries(client):
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("dashboard:index")).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_is_the_same_for_10_and_100_leads(client, manager, rep_a, rep_b, outsider, source):
    client.force_login(manager)
    populate(10, reps=[rep_a, rep_b, outsider], source=source)
    small = count_queries(client)
    populate(90, reps=[rep_a, rep_b, outsider], source=source)
    large = count_queries(client)
    assert small == large


def test_query_count_stays_bounded(client, manager, rep_a, rep_b, source, django_assert_max_num_queries):
    client.force_login(manager)
    populate(100, reps=[rep_a, rep_b], source=source)
    cache.clear()
    with django_assert_max_num_queries(60):
        client.get(reverse("dashboard:index"))


def test_a_second_view_within_the_minute_is_served_from_the_cache(client, manager, rep_a, source):
    client.force_login(manager)
    populate(10, reps=[rep_a], source=source)
    first = count_queries(client)
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("dashboard:index"))
    assert len(ctx.captured_queries) < first / 3


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()
