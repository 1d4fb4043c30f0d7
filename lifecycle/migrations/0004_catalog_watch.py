"""Life-cycle policies are resolved for every transition and kept in process memory while their
catalogue version stands still (crm.catalogs)."""

from django.db import migrations

from crm.migration_operations import CatalogWatch


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0004_catalog_version'),
        ('lifecycle', '0003_verbose_plurals'),
    ]

    operations = [
        CatalogWatch(catalog='policies', table='lifecycle_policy'),
    ]
