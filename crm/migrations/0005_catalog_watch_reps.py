"""Reps (with their users' names) are kept in process memory while the "reps" catalogue version
stands still (crm.catalogs.reps_by_id): routing reads a scope's rep ids under its row locks and
takes the objects from memory. A user's last_login and password change on every sign-in and are
not watched; their names are."""

from django.db import migrations

from crm.migration_operations import CatalogWatch


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('crm', '0004_catalog_version'),
    ]

    operations = [
        CatalogWatch(catalog='reps', table='crm_rep'),
        CatalogWatch(catalog='reps', table='auth_user', columns=['username', 'first_name', 'last_name', 'id']),
    ]
