from django.db import migrations


def create_schedules(apps, schema_editor):
    """Databases migrated before import files expired get the schedule that expires them."""
    from lifecycle.schedules import schedules_ensure

    schedules_ensure(apps.get_model("django_q", "Schedule"))


class Migration(migrations.Migration):
    dependencies = [("lifecycle", "0005_idempotency_expiry_schedule")]
    operations = [migrations.RunPython(create_schedules, migrations.RunPython.noop)]
