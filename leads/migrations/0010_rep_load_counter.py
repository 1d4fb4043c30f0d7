# Open leads per rep kept by triggers on leads_lead (see leads.models.RepLoad). An open lead is
# one with an owner and status 'assigned' (leads.selectors.open_lead_statuses); a change of that
# definition needs a migration that replaces these triggers, and tests/test_rep_load_counter.py
# fails until it is written.

from django.db import migrations, models

def _open(row: str) -> str:
    """The condition that a row of `row` (a table or trigger record) is an open lead."""
    return f"{row}.owner_id IS NOT NULL AND {row}.status = 'assigned'"


POSTGRES_INSTALL = f"""
CREATE OR REPLACE FUNCTION leads_rep_load_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO leads_reploaddelta (rep_id, delta)
      SELECT owner_id, COUNT(*) FROM new_rows WHERE {_open("new_rows")} GROUP BY owner_id;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO leads_reploaddelta (rep_id, delta)
      SELECT owner_id, -COUNT(*) FROM old_rows WHERE {_open("old_rows")} GROUP BY owner_id;
  ELSE
    INSERT INTO leads_reploaddelta (rep_id, delta)
      SELECT rep_id, SUM(d) FROM (
        SELECT owner_id AS rep_id, 1 AS d FROM new_rows WHERE {_open("new_rows")}
        UNION ALL
        SELECT owner_id, -1 FROM old_rows WHERE {_open("old_rows")}
      ) moved GROUP BY rep_id HAVING SUM(d) <> 0;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER lead_load_insert AFTER INSERT ON leads_lead
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION leads_rep_load_delta();
CREATE TRIGGER lead_load_update AFTER UPDATE ON leads_lead
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION leads_rep_load_delta();
CREATE TRIGGER lead_load_delete AFTER DELETE ON leads_lead
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION leads_rep_load_delta();
"""

POSTGRES_REMOVE = """
DROP TRIGGER IF EXISTS lead_load_insert ON leads_lead;
DROP TRIGGER IF EXISTS lead_load_update ON leads_lead;
DROP TRIGGER IF EXISTS lead_load_delete ON leads_lead;
DROP FUNCTION IF EXISTS leads_rep_load_delta();
"""

SQLITE_ADD = (
    "INSERT INTO leads_repload (rep_id, open_leads) VALUES (NEW.owner_id, 1) "
    "ON CONFLICT (rep_id) DO UPDATE SET open_leads = open_leads + 1"
)
SQLITE_REMOVE_ONE = "UPDATE leads_repload SET open_leads = open_leads - 1 WHERE rep_id = OLD.owner_id"

SQLITE_INSTALL = [
    f"""CREATE TRIGGER lead_load_insert AFTER INSERT ON leads_lead
    WHEN {_open("NEW")}
    BEGIN {SQLITE_ADD}; END""",
    f"""CREATE TRIGGER lead_load_delete AFTER DELETE ON leads_lead
    WHEN {_open("OLD")}
    BEGIN {SQLITE_REMOVE_ONE}; END""",
    f"""CREATE TRIGGER lead_load_leave AFTER UPDATE OF owner_id, status ON leads_lead
    WHEN {_open("OLD")}
      AND (NEW.owner_id IS NOT OLD.owner_id OR NEW.status IS NOT OLD.status)
    BEGIN {SQLITE_REMOVE_ONE}; END""",
    f"""CREATE TRIGGER lead_load_enter AFTER UPDATE OF owner_id, status ON leads_lead
    WHEN {_open("NEW")}
      AND (NEW.owner_id IS NOT OLD.owner_id OR NEW.status IS NOT OLD.status)
    BEGIN {SQLITE_ADD}; END""",
]
SQLITE_REMOVE = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in ("lead_load_insert", "lead_load_delete", "lead_load_leave", "lead_load_enter")
]

POPULATE = (
    "INSERT INTO leads_repload (rep_id, open_leads) "
    f"SELECT owner_id, COUNT(*) FROM leads_lead WHERE {_open('leads_lead')} GROUP BY owner_id"
)


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = [POSTGRES_INSTALL]
    elif vendor == "sqlite":
        statements = SQLITE_INSTALL
    else:
        raise NotImplementedError(f"no rep-load triggers for {vendor}")
    # Triggers first, then the count: on PostgreSQL CREATE TRIGGER locks the lead table against
    # writes until this migration commits, so no lead can move between the count and the first
    # trigger firing (counted first, a lead moved in between would be missed for good).
    with schema_editor.connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
        cursor.execute("DELETE FROM leads_repload")
        cursor.execute("DELETE FROM leads_reploaddelta")
        cursor.execute(POPULATE)


def remove(apps, schema_editor):
    statements = [POSTGRES_REMOVE] if schema_editor.connection.vendor == "postgresql" else SQLITE_REMOVE
    with schema_editor.connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0009_partial_source_external_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='RepLoad',
            fields=[
                ('rep_id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('open_leads', models.IntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='RepLoadDelta',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rep_id', models.BigIntegerField()),
                ('delta', models.IntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['rep_id', 'delta'], name='rep_load_delta_rep')],
            },
        ),
        migrations.RunPython(install, remove),
    ]
