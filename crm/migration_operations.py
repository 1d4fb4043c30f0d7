"""Migration operations shared by several apps' migrations. Old migrations import these, so
their behaviour must never change: add a new operation rather than altering one."""

from django.db import migrations
from django.db.migrations.operations.base import Operation


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that does nothing on other databases: PostgreSQL-only indexes (covering, partial,
    built CONCURRENTLY); SQLite keeps the models' own indexes."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


# What the catalogue triggers run (crm 0004 creates the PostgreSQL function and sequence).
_SQLITE_BUMP = (
    "INSERT INTO crm_catalogversion (name, version) VALUES ('{catalog}', random()) "
    "ON CONFLICT (name) DO UPDATE SET version = excluded.version"
)


class CatalogWatch(Operation):
    """Triggers on `table` that give catalogue `catalog` a new version on every INSERT, DELETE
    (and TRUNCATE) and on every UPDATE that sets one of `columns` (all columns when None): the
    columns a hot path bumps, such as a rule's hit counter, are left out so that routing does
    not invalidate the cached rules it reads. See crm.models.CatalogVersion."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, *, catalog: str, table: str, columns: list[str] | None = None):
        self.catalog = catalog
        self.table = table
        self.columns = list(columns) if columns else None

    def deconstruct(self):
        kwargs = {"catalog": self.catalog, "table": self.table}
        if self.columns:
            kwargs["columns"] = self.columns
        return self.__class__.__name__, [], kwargs

    def describe(self) -> str:
        return f"Watch {self.table} for catalogue {self.catalog}"

    def state_forwards(self, app_label, state):
        pass

    def _update_of(self) -> str:
        return f"UPDATE OF {', '.join(self.columns)}" if self.columns else "UPDATE"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            statements = [
                f"CREATE TRIGGER catalog_{self.table} AFTER INSERT OR DELETE OR TRUNCATE OR "
                f"{self._update_of()} ON {self.table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION crm_catalog_bump('{self.catalog}')",
                "INSERT INTO crm_catalogversion (name, version) "
                f"VALUES ('{self.catalog}', nextval('crm_catalog_version_seq')) "
                "ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version",
            ]
        elif vendor == "sqlite":
            bump = _SQLITE_BUMP.format(catalog=self.catalog)
            statements = [
                f"CREATE TRIGGER catalog_{self.table}_{event.split()[0].lower()} AFTER {event} "
                f"ON {self.table} BEGIN {bump}; END"
                for event in ("INSERT", "DELETE", self._update_of())
            ] + [bump]
        else:
            raise NotImplementedError(f"no catalogue triggers for {vendor}")
        for sql in statements:
            schema_editor.execute(sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS catalog_{self.table} ON {self.table}")
        else:
            for event in ("insert", "delete", "update"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS catalog_{self.table}_{event}")
