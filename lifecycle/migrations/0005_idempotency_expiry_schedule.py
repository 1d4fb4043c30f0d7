from django.db import migrations


def create_schedules(apps, schema_editor):
    """Databases migrated before the idempotency-key expiry existed get its schedule too."""
    from lifecycle.schedules import schedules_ensure

    schedules_ensure(apps.get_model("django_q", "Schedule"))


class Migration(migrations.Migration):
    dependencies = [("lifecycle", "0004_catalog_watch"), ("leads", "0014_idempotency_created_index")]
    operations = [migrations.RunPython(create_schedules, migrations.RunPython.noop)]
