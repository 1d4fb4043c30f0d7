"""With server-side binding a PostgreSQL statement takes at most 65,535 parameters; Django must
split what it builds from a list of objects (cascade deletes, bulk_create) under that cap."""

import pytest
from django.db import connection

from leads.models import Lead
from tests.conftest import requires_postgres
from tests.factories import LeadFactory

pytestmark = [requires_postgres, pytest.mark.django_db]

MORE_THAN_A_STATEMENT_HOLDS = 66_000


def leads_copy(template: Lead, count: int) -> None:
    """`count` copies of the template row, made by the server (fast, and no Python objects)."""
    columns = [f.column for f in Lead._meta.concrete_fields if not f.primary_key]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Lead._meta.db_table} ({names}) SELECT {names} FROM {Lead._meta.db_table}, "
            "generate_series(1, %s) WHERE id = %s",
            [count, template.pk],
        )


def test_deleting_more_leads_than_a_statement_can_name_works(source):
    template = LeadFactory(source=source)
    leads_copy(template, MORE_THAN_A_STATEMENT_HOLDS)

    # Django checks every protected and cascading relation of each lead (events, activities,
    # ...) with `lead_id IN (...)`, one parameter per lead.
    deleted, by_model = Lead.objects.filter(source=source).delete()

    assert by_model["leads.Lead"] == MORE_THAN_A_STATEMENT_HOLDS + 1
    assert not Lead.objects.exists()


def test_django_is_told_the_limit():
    assert connection.features.max_query_params == 65_535
    fields = [f for f in Lead._meta.concrete_fields if not f.primary_key]
    assert connection.ops.bulk_batch_size(fields, range(100_000)) * len(fields) <= 65_535
