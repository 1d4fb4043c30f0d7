"""Rule sets, rules and targets are kept in process memory while the "rules" catalogue version
stands still (crm.catalogs). A rule's hit_count and last_matched_at are left out of the watched
columns: routing bumps them on every decision. A new column on assignment_assignmentrule needs
a migration that recreates this watch with it (tests/test_catalog_versions.py checks)."""

from django.db import migrations

from crm.migration_operations import CatalogWatch

RULE_COLUMNS = [
    'rule_set_id', 'position', 'name', 'active', 'is_default', 'conditions', 'any_conditions',
    'schedule_days', 'schedule_start', 'schedule_end', 'schedule_timezone', 'strategy',
    'target_team_id', 'target_level', 'on_no_eligible', 'default_owner_id', 'pool_team_id',
    'options', 'updated_at', 'id',
]


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0004_catalog_version'),
        ('assignment', '0005_rule_snapshots'),
    ]

    operations = [
        CatalogWatch(catalog='rules', table='assignment_ruleset'),
        CatalogWatch(catalog='rules', table='assignment_assignmentrule', columns=RULE_COLUMNS),
        CatalogWatch(catalog='rules', table='assignment_ruletarget'),
    ]
