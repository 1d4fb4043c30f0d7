"""PostgreSQL only: drop the indexes that a covering index built later (crm 0002/0003, leads
0007) makes redundant. Each one has the same leading column as the covering one and no
condition the covering one lacks, so every lookup, range and order it served the covering index
serves too. Every routed lead's UPDATE wrote 33 lead indexes and its event 11; it is now 29 and
9. SQLite has no INCLUDE, never built the covering indexes, and keeps these.

Django's state still lists them (SQLite has them). Should a later migration alter one of these
fields' db_index on PostgreSQL, Django would look the index up by its column and could find the
covering index instead: drop that one by name in such a migration.
"""

from django.db import migrations

from crm.migration_operations import PostgresOnlySQL

REDUNDANT = {
    # covered by: crm_dash_lead_created (created_at) INCLUDE (...)
    "leads_lead_created_at_a7f0123f": "leads_lead (created_at)",
    # covered by: crm_dash_lead_team_ids (team_id) INCLUDE (id)
    "leads_lead_team_id_93d3ec8e": "leads_lead (team_id)",
    # covered by: crm_dash_lead_type_ids (lead_type_id) INCLUDE (id)
    "leads_lead_lead_type_id_2331e6f2": "leads_lead (lead_type_id)",
    # covered by: lead_pooled_cover (id DESC) INCLUDE (...) WHERE status = 'pooled'
    "lead_pooled_newest": "leads_lead (id DESC) WHERE status = 'pooled'",
    # covered by: crm_dash_event_at (at) INCLUDE (...)
    "leads_leadevent_at_7153758e": "leads_leadevent (at)",
    # Django's LIKE index for a CharField with db_index: nothing filters events by kind prefix.
    "leads_leadevent_kind_44727c1e_like": "leads_leadevent (kind varchar_pattern_ops)",
}


class Migration(migrations.Migration):
    # DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("crm", "0003_dashboard_filter_indexes"),
        ("leads", "0010_rep_load_counter"),
    ]

    operations = [
        PostgresOnlySQL(
            sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
            reverse_sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}",
        )
        for name, definition in REDUNDANT.items()
    ]
