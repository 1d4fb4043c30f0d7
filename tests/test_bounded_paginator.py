"""The admin's lead changelist never runs an unbounded COUNT(*) on a big table."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.paginators import BoundedCountPaginator
from leads.models import Lead
from tests.conftest import requires_postgres
from tests.factories import LeadFactory


@pytest.mark.django_db
def test_small_tables_are_counted_exactly():
    LeadFactory.create_batch(7, status="pooled")
    assert BoundedCountPaginator(Lead.objects.all(), 5).count == 7
    assert BoundedCountPaginator(Lead.objects.filter(status="pooled"), 5).num_pages == 2


@requires_postgres
@pytest.mark.django_db
def test_unfiltered_count_uses_the_planner_estimate_on_a_big_table():
    LeadFactory.create_batch(3, status="pooled")
    with connection.cursor() as cursor:
        # Pretend the table is big: the planner's statistics are what the paginator reads.
        cursor.execute("UPDATE pg_class SET reltuples = 2500000 WHERE oid = 'leads_lead'::regclass")
    with CaptureQueriesContext(connection) as queries:
        count = BoundedCountPaginator(Lead.objects.all(), 100).count
    assert count == 2_500_000
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


@pytest.mark.django_db
def test_the_lead_changelist_uses_the_bounded_paginator_without_a_full_count(admin_client):
    LeadFactory.create_batch(3, status="pooled")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get("/admin/leads/lead/")
    assert response.status_code == 200
    assert response.context["cl"].paginator.__class__ is BoundedCountPaginator
    counts = [
        q["sql"]
        for q in queries.captured_queries
        if "COUNT(" in q["sql"].upper() and "leads_lead" in q["sql"]
    ]
    assert len(counts) <= 1
