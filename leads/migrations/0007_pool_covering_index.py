"""PostgreSQL-only indexes for the rep pool page and the admin's region filter at a million leads.

- lead_pooled_cover: the pooled leads newest first (like lead_pooled_newest) carrying every
  column the pool page filters on (pool visibility, source/heat, tier, score, region, industry),
  so the page's capped count and its page of primary keys are index-only scans of the pooled
  leads however selective the filter (a filter matching nothing used to read every pooled row).
- lead_region: the region filter's choices by a loose index scan (leads.selectors.lead_regions)
  instead of SELECT DISTINCT over the whole table.

Plain SQL built CONCURRENTLY (intake never waits), like crm's dashboard indexes; SQLite (which
has no INCLUDE) keeps the models' own indexes.
"""

from django.db import migrations

from crm.migration_operations import PostgresOnlySQL

INDEXES = {
    "lead_pooled_cover": (
        "leads_lead (id DESC) INCLUDE (pool_team_id, source_id, tier, score, region, industry)"
        " WHERE status = 'pooled'"
    ),
    "lead_region": "leads_lead (region)",
}


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("leads", "0006_event_data_plain_insert"),
    ]

    operations = [
        PostgresOnlySQL(
            sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        )
        for name, definition in INDEXES.items()
    ]
