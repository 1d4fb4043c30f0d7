from django.db import migrations


def mutex_create(apps, schema_editor):
    RotationCursor = apps.get_model("assignment", "RotationCursor")
    RotationCursor.objects.get_or_create(key="routing", defaults={"state": {}})


class Migration(migrations.Migration):
    dependencies = [("assignment", "0002_rule_versions")]

    operations = [migrations.RunPython(mutex_create, migrations.RunPython.noop)]
