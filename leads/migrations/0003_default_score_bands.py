from django.db import migrations

BANDS = [("high", 80, "route"), ("medium", 50, "route"), ("low", -10000, "nurture")]


def create_bands(apps, schema_editor):
    ScoreBand = apps.get_model("leads", "ScoreBand")
    for tier, min_score, action in BANDS:
        ScoreBand.objects.get_or_create(tier=tier, defaults={"min_score": min_score, "action": action})


class Migration(migrations.Migration):
    dependencies = [("leads", "0002_initial")]
    operations = [migrations.RunPython(create_bands, migrations.RunPython.noop)]
