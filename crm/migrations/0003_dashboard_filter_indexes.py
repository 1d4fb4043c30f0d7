"""Lead ids per team, source and lead type, index-only (PostgreSQL only).

With a team, source or lead-type filter the dashboard tests events as `lead_id IN (the matching
leads)` (crm.selectors.lead_filter_q); these let PostgreSQL read the matching ids from a small
index instead of visiting the lead table. Same form as 0002: IF NOT EXISTS, CONCURRENTLY.
"""

from django.db import migrations

from crm.migration_operations import PostgresOnlySQL

INDEXES = {
    "crm_dash_lead_team_ids": "leads_lead (team_id) INCLUDE (id)",
    "crm_dash_lead_source_ids": "leads_lead (source_id) INCLUDE (id)",
    "crm_dash_lead_type_ids": "leads_lead (lead_type_id) INCLUDE (id)",
}


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("crm", "0002_dashboard_indexes"),
        ("leads", "0003_default_score_bands"),
        ("assignment", "0003_routing_mutex"),
        ("lifecycle", "0002_schedules"),
    ]

    operations = [
        PostgresOnlySQL(
            sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}",
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
        )
        for name, definition in INDEXES.items()
    ]
