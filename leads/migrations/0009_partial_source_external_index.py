# The (source, external id) index holds only leads that carry a source's own id: with every
# empty id in it, SQLite's statistics made the planner scan the lead table on each dedup lookup.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0008_drop_redundant_fk_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='lead',
            name='lead_source_external',
        ),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(condition=models.Q(('external_id', ''), _negated=True), fields=['source', 'external_id'], name='lead_source_external'),
        ),
    ]
