"""Migration operations shared by several apps' migrations. Old migrations import these, so
their behaviour must never change: add a new operation rather than altering one."""

from django.db import migrations


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that does nothing on other databases: PostgreSQL-only indexes (covering, partial,
    built CONCURRENTLY); SQLite keeps the models' own indexes."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
