"""Sources, lead types, scoring rules and score bands are read by every intake and kept in
process memory while their catalogue versions stand still (crm.catalogs)."""

from django.db import migrations

from crm.migration_operations import CatalogWatch


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0004_catalog_version'),
        ('leads', '0011_drop_indexes_covered_on_postgres'),
    ]

    operations = [
        CatalogWatch(catalog='sources', table='leads_source'),
        CatalogWatch(catalog='lead_types', table='leads_leadtype'),
        CatalogWatch(catalog='scoring', table='leads_scoringrule'),
        CatalogWatch(catalog='scoring', table='leads_scoreband'),
    ]
