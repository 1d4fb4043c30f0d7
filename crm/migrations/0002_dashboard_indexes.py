"""Covering and partial indexes for the manager dashboard's access paths (PostgreSQL only).

The dashboard reads a date range of leads, events and closed leads at a million rows; these
indexes let each of its queries run as an index-only scan of just that range instead of a scan of
the whole table. They live in crm because the dashboard (crm.selectors) is their only reader; the
tables belong to leads, so plain SQL with IF NOT EXISTS, built CONCURRENTLY so intake never waits.
SQLite keeps its plain indexes and the live computation.
"""

from django.db import migrations

from crm.migration_operations import PostgresOnlySQL

INDEXES = {
    # Leads created in the range: speed, conversion, deciles, funnel "now in stage", status mix.
    "crm_dash_lead_created": (
        "leads_lead (created_at) INCLUDE (id, owner_id, team_id, source_id, lead_type_id, stage_id,"
        " status, score, tier, assigned_at, first_contact_due, first_contacted_at)"
    ),
    # Leads closed in the range: sales cycle.
    "crm_dash_lead_closed": (
        "leads_lead (closed_at) INCLUDE (id, created_at, status, stage_id, team_id, source_id, lead_type_id)"
        " WHERE closed_at IS NOT NULL"
    ),
    # Leads overdue now: currently assigned, deadline set.
    "crm_dash_lead_overdue": (
        "leads_lead (first_contact_due) INCLUDE (id, owner_id, team_id, source_id, lead_type_id,"
        " assigned_at, first_contacted_at) WHERE status = 'assigned'"
    ),
    # The first-contact fallback: a rep's contact activity (Activity.CONTACT_KINDS) after assignment.
    "crm_dash_activity_contact": (
        "leads_activity (lead_id, occurred_at) WHERE actor = 'rep' AND kind IN ('call', 'visit', 'email', 'wecom')"
    ),
    # Events in the range: received, recalls, rule hits, weekly flows, recall reasons.
    "crm_dash_event_at": (
        "leads_leadevent (at) INCLUDE (id, kind, from_status, to_status, from_owner_id, to_owner_id,"
        " rule_id, lead_id, reason)"
    ),
    # Stage events: the funnel and dwell times.
    "crm_dash_event_stage": "leads_leadevent (at) INCLUDE (id, lead_id, data) WHERE kind = 'stage'",
}


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("crm", "0001_initial"),
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
