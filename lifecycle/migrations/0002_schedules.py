from django.db import migrations


def create_schedules(apps, schema_editor):
    from lifecycle.schedules import schedules_ensure

    schedules_ensure(apps.get_model("django_q", "Schedule"))


class Migration(migrations.Migration):
    dependencies = [("lifecycle", "0001_initial"), ("django_q", "0018_task_success_index")]
    operations = [migrations.RunPython(create_schedules, migrations.RunPython.noop)]
