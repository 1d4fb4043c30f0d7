"""crm_catalogversion: one version token per configuration catalogue, replaced by triggers that
the apps owning the tables install (crm.migration_operations.CatalogWatch). On PostgreSQL the
triggers call crm_catalog_bump(), which takes tokens from a sequence so none is ever reused."""

from django.db import migrations, models

from crm.migration_operations import PostgresOnlySQL

POSTGRES_INSTALL = """
CREATE SEQUENCE IF NOT EXISTS crm_catalog_version_seq;
CREATE OR REPLACE FUNCTION crm_catalog_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO crm_catalogversion (name, version) VALUES (TG_ARGV[0], nextval('crm_catalog_version_seq'))
  ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version;
  RETURN NULL;
END $$;
"""

POSTGRES_REMOVE = """
DROP FUNCTION IF EXISTS crm_catalog_bump();
DROP SEQUENCE IF EXISTS crm_catalog_version_seq;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0003_dashboard_filter_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='CatalogVersion',
            fields=[
                ('name', models.CharField(max_length=30, primary_key=True, serialize=False)),
                ('version', models.BigIntegerField(default=0)),
            ],
        ),
        PostgresOnlySQL(POSTGRES_INSTALL, POSTGRES_REMOVE),
    ]
