"""Lean bulk INSERTs and UPDATEs for the tables intake and the waist write by the thousand
(Lead, LeadEvent, Activity).

`rows_insert(objs)` does what `Model.objects.bulk_create(objs)` does for new rows (primary keys
set on the instances, `_state` marked saved), minus most of its per-value cost: the statement's
shape and one converter per column are built once, plain values (str, int, None) go straight
through, datetimes are converted once per distinct value, and everything else (JSON, decimals,
anything unusual) through the field's own `get_db_prep_save`, exactly as Django would.

On SQLite the rows go in multi-row `INSERT … RETURNING id` statements (sized by the backend's
parameter limit). On PostgreSQL they go in one binary `COPY … FROM STDIN` whatever their number
(a handful of rows: one `INSERT … SELECT FROM unnest(…) RETURNING id`, one round trip),
after their keys are drawn from the table's sequence (one `SELECT nextval(…)` for the lot):
values go out in binary, formatted by psycopg's C code, with no statement to parse or plan.
Django binds on the client, quoting every value (big JSON routing explanations included) into
the SQL text, which costs more than the INSERT itself; the previous `INSERT … SELECT * FROM
unnest(…) RETURNING id` with one server-bound array per column (kept below for models whose key
has no sequence) spent ~40% more client CPU dumping the arrays in Python (measured on the 20k-row
import: 0.25 s → 0.15 s for the leads).

Objects that bulk_create would treat specially (a primary key already set, an expression as a
value, database defaults, multi-table inheritance) are handed to bulk_create itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any

from django.db import connections, router
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.backends.utils import CursorWrapper
from django.db.models import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    Field,
    ForeignKey,
    JSONField,
    Model,
    TextField,
)
from django.db.models.expressions import DatabaseDefault
from django.db.models.fields import NOT_PROVIDED

from crm.jsoncodec import json_bytes, json_text

_PLAIN_STR = {"CharField", "TextField", "SlugField", "EmailField", "URLField"}
_PLAIN_INT = {
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
}


# Fewer rows than this go in one INSERT … RETURNING rather than the key query and a COPY: for
# the single lead of an API call or a one-lead routing, one round trip instead of two.
PG_COPY_FROM = 8


class _Unsupported(Exception):
    """A value or model this writer does not handle: fall back to bulk_create."""


class Writes:
    """Writes of one transaction that may travel with its next statement.

    On PostgreSQL a data-modifying statement in a WITH clause runs to completion whether or not
    the statement it is attached to refers to it: the few small writes that end a single-lead
    routing (its rotation cursor, its rule's hit counter, the lead's UPDATE) go as WITH clauses
    of the INSERT of its event, one round trip instead of four. Only independent writes may be
    deferred: different tables (or rows), nothing read back, none needed by a later statement
    before that statement runs. Elsewhere each write runs at once. `flush()` runs what is left.
    """

    __slots__ = ("connection", "statements")

    def __init__(self, using: str) -> None:
        self.connection = connections[using]
        self.statements: list[tuple[str, list, int]] = []  # SQL, parameters, rows written

    @property
    def deferring(self) -> bool:
        return self.connection.vendor == "postgresql"

    def add(self, sql: str, params: Sequence, *, rows: int = 1) -> None:
        if not self.deferring:
            with self.connection.cursor() as cursor:
                cursor.execute(sql, params)
            return
        self.statements.append((sql, list(params), rows))

    def attach(self, sql: str, params: list) -> tuple[str, list, int]:
        """`sql` with the pending writes as its WITH clauses (and their parameters first), and
        how many rows they wrote; the pending list is emptied."""
        if not self.statements:
            return sql, params, 0
        heads = ", ".join(f"_w{i} AS ({stmt})" for i, (stmt, _, _) in enumerate(self.statements))
        merged = [value for _, stmt_params, _ in self.statements for value in stmt_params]
        rows = sum(n for _, _, n in self.statements)
        self.statements = []
        return f"WITH {heads} {sql}", merged + params, rows

    def flush(self) -> None:
        if not self.statements:
            return
        last_sql, last_params, last_rows = self.statements.pop()
        sql, params, rows = self.attach(last_sql, last_params)
        _pg_execute_bound(self.connection, sql, params, rows=rows + last_rows)


def _column_converter(field: Field, connection) -> Callable[[list, int], None]:
    """A function converting column `i` of every row in place, equal to applying
    field.get_db_prep_save(value, connection) to each value: plain values of the column's own
    type (and None) are left as they are, datetimes converted once per distinct value, the rest
    (JSON, decimals, anything unusual) through the field."""
    prep = field.get_db_prep_save
    target = field.target_field if isinstance(field, ForeignKey) else field
    internal = target.get_internal_type()
    plain_prep = isinstance(field, ForeignKey) or type(field).get_db_prep_save is Field.get_db_prep_save
    plain: type | None = None
    if internal in _PLAIN_STR and plain_prep:
        plain = str
    elif internal in _PLAIN_INT and plain_prep:
        plain = int
    elif (
        isinstance(field, BooleanField)
        and plain_prep
        and type(field).get_db_prep_value is Field.get_db_prep_value
        and type(field).get_prep_value is BooleanField.get_prep_value
    ):
        plain = bool  # to_python(True) is True: a bool saves as itself
    if plain is str and _keeps_str_subclasses(field):

        def convert(rows, i):
            # A str subclass (a TextChoices member such as Lead.Status.NEW) comes back from
            # CharField/TextField.get_prep_value as the very same object: nothing to convert.
            for row in rows:
                value = row[i]
                if value is not None and type(value) is not str and not isinstance(value, str):
                    row[i] = _checked(prep(value, connection))

        return convert
    if plain is not None:

        def convert(rows, i):
            for row in rows:
                value = row[i]
                if value is not None and type(value) is not plain:
                    row[i] = _checked(prep(value, connection))

        return convert
    if (
        isinstance(field, JSONField)
        and type(field).get_db_prep_save is JSONField.get_db_prep_save
        and type(field).get_db_prep_value is JSONField.get_db_prep_value
        and type(field).get_prep_value is Field.get_prep_value
    ):
        adapt, encoder = _json_adapter(connection, field.encoder), field.encoder

        def convert(rows, i):
            # A dict or list is what JSONField.get_db_prep_save hands to adapt_json_value
            # unchanged (it is neither None, an expression nor a lazy string).
            for row in rows:
                value = row[i]
                kind = type(value)
                if kind is dict or kind is list:
                    row[i] = adapt(value, encoder)
                else:
                    row[i] = _checked(prep(value, connection))

        return convert
    if isinstance(field, DateTimeField):

        def convert(rows, i):
            seen: dict = {None: None}
            for row in rows:
                value = row[i]
                try:
                    row[i] = seen[value]
                except KeyError:
                    row[i] = seen[value] = _checked(prep(value, connection))
                except TypeError:  # unhashable: not a datetime at all
                    row[i] = _checked(prep(value, connection))

        return convert

    def convert(rows, i):
        for row in rows:
            row[i] = _checked(prep(row[i], connection))

    return convert


def _json_adapter(connection, encoder) -> Callable[[Any, Any], Any]:
    """adapt_json_value(value, encoder), with the document encoded by crm.jsoncodec (orjson)
    when the field has no encoder of its own: the encoding was a tenth of a bulk routing batch."""
    if encoder is not None:
        return connection.ops.adapt_json_value
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return lambda value, _encoder: Jsonb(value, dumps=json_bytes)
    if type(connection.ops).adapt_json_value is BaseDatabaseOperations.adapt_json_value:
        return lambda value, _encoder: json_text(value)
    return connection.ops.adapt_json_value


def _keeps_str_subclasses(field: Field) -> bool:
    """Whether the field's get_prep_value returns any str (subclasses included) unchanged:
    true of CharField and TextField, whose to_python returns a str as it is."""
    kind = type(field)
    return any(
        kind.get_prep_value is base.get_prep_value and kind.to_python is base.to_python
        for base in (CharField, TextField)
    )


def _checked(value: Any) -> Any:
    if hasattr(value, "resolve_expression") or hasattr(value, "as_sql") or isinstance(value, DatabaseDefault):
        raise _Unsupported(value)
    return value


def _prepare(objs: list[Model], fields: list[Field], keep: frozenset[str]) -> None:
    """What bulk_create does to instances before reading their values: auto_now / auto_now_add
    stamps (unless the field is in `keep` and already set), and a related object saved after it
    was assigned gives its pk to the foreign key column."""
    for field in fields:
        attname = field.attname
        if isinstance(field, DateField) and (field.auto_now or field.auto_now_add):
            for obj in objs:
                if field.name not in keep or getattr(obj, attname) is None:
                    field.pre_save(obj, True)
        elif isinstance(field, ForeignKey):
            for obj in objs:
                if getattr(obj, attname) is None:
                    related = field.get_cached_value(obj, None)
                    if related is not None:
                        if related.pk is None:
                            raise ValueError(
                                "rows_insert() prohibited to prevent data loss due to unsaved related "
                                f"object '{field.name}'."
                            )
                        setattr(obj, attname, related.pk)
        elif type(field).pre_save is not Field.pre_save and not isinstance(field, DateField):
            raise _Unsupported(field)  # e.g. FileField: bulk_create knows what to do


def _plan(model: type[Model], connection) -> tuple[list[Field], list[Callable]]:
    plans = connection.__dict__.setdefault("_rows_insert_plans", {})  # converters hold the connection
    plan = plans.get(model)
    if plan is not None:
        return plan
    meta = model._meta
    if meta.parents or meta.pk.get_internal_type() not in {"AutoField", "BigAutoField", "SmallAutoField"}:
        raise _Unsupported(model)
    fields = []
    for f in meta.concrete_fields:
        if f.primary_key or getattr(f, "generated", False):
            continue
        if f.db_default is not NOT_PROVIDED:
            raise _Unsupported(f)
        fields.append(f)
    plan = plans[model] = (fields, [_column_converter(f, connection) for f in fields])
    return plan


def rows_insert(
    objs: Sequence[Model],
    *,
    keep: Iterable[str] = (),
    using: str | None = None,
    writes: Writes | None = None,
) -> list[Model]:
    """INSERT new model instances (all of one model, none with a primary key yet) and set their
    primary keys; returns `objs`. `keep` names auto_now fields whose value already set on the
    instance is kept (the waist stamps its own `now`). Pending `writes` go with the INSERT
    where they can, or run just before it."""
    objs = list(objs)
    if not objs:
        if writes is not None:
            writes.flush()
        return objs
    model = type(objs[0])
    using = using or router.db_for_write(model)
    connection = connections[using]
    try:
        if any(type(obj) is not model or obj.pk is not None for obj in objs):
            raise _Unsupported("mixed models or preset keys")
        fields, converters = _plan(model, connection)
        _prepare(objs, fields, frozenset(keep))
        values = attrgetter(*[f.attname for f in fields])
        rows = [list(values(obj)) for obj in objs]
        for i, convert in enumerate(converters):
            convert(rows, i)
    except _Unsupported:
        if writes is not None:
            writes.flush()
        return model._default_manager.using(using).bulk_create(objs)
    columns = [f.column for f in fields]
    if connection.vendor == "postgresql" and len(rows) < PG_COPY_FROM:
        ids = _pg_insert_unnest(connection, model, fields, rows, writes=writes)
    elif connection.vendor == "postgresql":
        if writes is not None:
            writes.flush()
        ids = _pg_copy(connection, model, fields, rows)
    else:
        ids = _insert_returning(connection, model, fields, columns, rows)
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = using
    return objs


def rows_update(
    objs: Sequence[Model], fields: Iterable[str], *, using: str | None = None, writes: Writes | None = None
) -> int:
    """UPDATE the named fields of stored instances, each row with its own values, where
    bulk_update builds an ORM CASE per column (evaluated row by row through the whole list, and
    quoted into the SQL text on the client). Columns whose value is the same in every row are
    set once; only the others vary per row:

    - PostgreSQL: one `UPDATE … SET shared = %s, own = v.own FROM unnest(%b::type[], …) AS v`,
      one server-bound array per varying column, the rows found by their keys;
    - SQLite: one `WITH v AS (VALUES …) UPDATE … FROM v` joined on the key, split to stay
      within the parameter limit;
    - one row, the same row more than once (the last value wins, as one by one), or a database
      without UPDATE … FROM: plain UPDATEs.

    Like bulk_update, no auto_now stamping: pass the field and set its value. With `writes`
    (PostgreSQL, one statement's worth) the UPDATE is left pending there instead of run.
    Returns the number of rows given."""
    objs = list(objs)
    if not objs:
        return 0
    model = type(objs[0])
    using = using or router.db_for_write(model)
    connection = connections[using]
    meta = model._meta
    targets = [meta.get_field(name) for name in dict.fromkeys(fields)]
    if not targets:
        return 0
    if any(not f.concrete or f.primary_key or f.many_to_many for f in targets):
        raise ValueError("rows_update() can only update concrete, non-key fields")
    try:
        if any(type(obj) is not model or obj.pk is None for obj in objs):
            raise _Unsupported("mixed models or unsaved rows")
        values = attrgetter(*[f.attname for f in targets], meta.pk.attname)
        rows = [list(values(obj)) for obj in objs]
        for i, f in enumerate(targets):
            _column_converter(f, connection)(rows, i)
    except _Unsupported:
        if writes is not None:
            writes.flush()
        return model._default_manager.using(using).bulk_update(objs, [f.name for f in targets])
    qn = connection.ops.quote_name
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    if len(rows) == 1 or len({row[-1] for row in rows}) < len(rows) or not _update_from_supported(connection):
        sets = ", ".join(f"{qn(f.column)} = %s" for f in targets)
        sql = f"UPDATE {table} SET {sets} WHERE {pk} = %s"
        if writes is not None and len(rows) == 1:
            writes.add(sql, rows[0])  # pending on PostgreSQL, run at once elsewhere
            return 1
        if writes is not None:
            writes.flush()
        with connection.cursor() as cursor:
            if len(rows) == 1:
                cursor.execute(sql, rows[0])
            else:
                cursor.executemany(sql, rows)
        return len(rows)
    shared: list[tuple[Field, Any]] = []
    varying: list[int] = []
    for i, f in enumerate(targets):
        first = _comparable(rows[0][i])
        if all(_comparable(row[i]) == first for row in rows[1:]):
            shared.append((f, rows[0][i]))
        else:
            varying.append(i)
    own = [[row[-1], *(row[i] for i in varying)] for row in rows]
    own_fields = [targets[i] for i in varying]
    if connection.vendor == "postgresql":
        _pg_update_unnest(connection, meta, shared, own_fields, own, writes=writes)
    else:
        _update_values(connection, table, pk, shared, own_fields, own)
    return len(rows)


def _comparable(value: Any) -> Any:
    """Prepared values compared for "the same in every row" (JSON adapters by their content)."""
    obj = getattr(value, "obj", value)  # psycopg's Jsonb wraps the document
    if isinstance(obj, dict | list):
        # Its text, keys in their own order: sorting failed on a document with both int and
        # str keys, and two orders of the same keys being "different" only costs a varying column.
        return json_bytes(obj)
    return obj


def _update_from_supported(connection) -> bool:
    """PostgreSQL, and SQLite from 3.33 (UPDATE … FROM): elsewhere rows_update runs one
    prepared UPDATE per row."""
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 33)


def _update_values(connection, table, pk, shared, varying, own) -> None:
    """`WITH v(…) AS (VALUES (…), …) UPDATE … FROM v WHERE id = v._pk`, within the connection's
    parameter limit: SQLite walks the values and finds each row by its key (8.6 ms for 1,000
    rows of six columns, where a `CASE id WHEN …` per column, compared with every key for every
    row, took 27 ms and executemany 9.5)."""
    qn = connection.ops.quote_name
    mark = _mark(connection)
    width = len(varying) + 1
    connection.ensure_connection()  # the real limit is read when it connects (crm.apps)
    per_statement = max(1, ((connection.features.max_query_params or 999) - len(shared)) // width)
    names = ", ".join(["_pk", *(f"_v{i}" for i in range(len(varying)))])
    sets = [f"{qn(f.column)} = {mark}" for f, _ in shared]
    sets += [f"{qn(f.column)} = v._v{i}" for i, f in enumerate(varying)]
    one = "(" + ", ".join([mark] * width) + ")"
    head = [value for _, value in shared]
    for start in range(0, len(own), per_statement):
        chunk = own[start : start + per_statement]
        sql = (
            f"WITH v({names}) AS (VALUES {', '.join([one] * len(chunk))}) "
            f"UPDATE {table} SET {', '.join(sets)} FROM v WHERE {table}.{pk} = v._pk"
        )
        # The VALUES come first in the text, so their parameters do too.
        _execute_marked(connection, sql, [*(value for row in chunk for value in row), *head], rows=len(chunk))


def _mark(connection) -> str:
    """The placeholder the set-wise statements are written with: SQLite's own `?`, so that
    _execute_marked can hand them to the driver as they are; Django's `%s` elsewhere."""
    return "?" if connection.vendor == "sqlite" else "%s"


def _execute_marked(connection, sql: str, params: list, *, rows: int, fetch: bool = False) -> list:
    """Run a statement written with _mark's placeholders. On SQLite it goes to the driver's own
    cursor: Django's rewrites every `%s` into `?` with a regular expression, and over the
    multi-row INSERTs and UPDATEs here (tens of thousands of placeholders) that rewrite was 5%
    of an import. Django's wrapper (execute_wrappers, broken-transaction check, error mapping)
    stays; the statement logs itself as one query for `rows` rows, as _pg_execute_bound does."""
    if connection.vendor != "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if fetch else []
    connection.ensure_connection()
    # The text logged is cut: a multi-row statement's placeholders run to hundreds of KB.
    return _driver_run(connection, connection.connection.cursor(), sql, params, rows, fetch, shown=sql[:2000])


def _driver_run(
    connection, raw_cursor, sql: str, params: list, rows: int, fetch: bool, *, shown: str
) -> list:
    """`sql` on a cursor of the driver's own, inside Django's wrapper (execute_wrappers,
    broken-transaction check, error mapping) but not the debug wrapper, which would render the
    SQL anew: the statement logs itself, as `shown`, one query for `rows` rows."""
    started = time.monotonic()
    with CursorWrapper(raw_cursor, connection) as cursor:
        cursor.execute(sql, params)
        result = cursor.fetchall() if fetch else []
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{shown} -- {rows} rows", "time": f"{time.monotonic() - started:.3f}"}
        )
    return result


def _bare_type(field: Field, connection) -> str:
    """The column's type without its modifiers (varchar, not varchar(100)), as Django's own
    UNNEST casts: an explicit cast to varchar(100) would truncate silently where the write must
    fail; the column's own type checks lengths and precision on the way in."""
    return field.db_type(connection).split("(")[0]


def _pg_execute_bound(connection, sql: str, params: list, *, rows: int, fetch: bool = False) -> list:
    """Run one statement with its parameters bound on the server (Django's client-side binding
    would quote every array element, JSON documents included, into the SQL text; the debug
    wrapper would render it with client binding). Returns the fetched rows when `fetch`."""
    import psycopg

    connection.ensure_connection()
    return _driver_run(connection, psycopg.Cursor(connection.connection), sql, params, rows, fetch, shown=sql)


def _pg_update_unnest(connection, meta, shared, varying, own, *, writes: Writes | None = None) -> None:
    """`UPDATE … FROM unnest(%b::type[], …) AS v WHERE id = v.id`: one server-bound array per
    varying column, where executemany runs one UPDATE per row (pipelined, but each planned and
    executed on its own: ~140 µs a row for intake's merged leads) and an ORM CASE compares every
    row with every key."""
    qn = connection.ops.quote_name
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    types = [meta.pk.rel_db_type(connection), *(_bare_type(f, connection) for f in varying)]
    arrays = ", ".join(f"%b::{name}[]" for name in types)
    names = ", ".join(["_pk", *(f"_v{i}" for i in range(len(varying)))])
    sets = [f"{qn(f.column)} = %s" for f, _ in shared]
    sets += [f"{qn(f.column)} = v._v{i}" for i, f in enumerate(varying)]
    # The keys once more as `= ANY(…)`: the join alone left the planner (by its estimate of an
    # index probe per row) hashing a sequential scan of the whole table, 42 ms a batch at 70,000
    # leads and growing with the table; with the keys it probes the primary key.
    sql = (
        f"UPDATE {table} SET {', '.join(sets)} FROM unnest({arrays}) AS v({names}) "
        f"WHERE {table}.{pk} = ANY(%b::{types[0]}[]) AND {table}.{pk} = v._pk"
    )
    columns = [list(column) for column in zip(*own, strict=True)]
    params = [*(value for _, value in shared), *columns, columns[0]]
    if writes is not None:
        writes.add(sql, params, rows=len(own))
        return
    _pg_execute_bound(connection, sql, params, rows=len(own))


def _insert_returning(connection, model, fields, columns, rows) -> list[Any]:
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    pk_column = qn(model._meta.pk.column)
    head = f"INSERT INTO {table} ({', '.join(qn(c) for c in columns)}) VALUES "
    one = "(" + ", ".join([_mark(connection)] * len(columns)) + ")"
    size = max(1, connection.ops.bulk_batch_size(fields, rows))
    ids: list[Any] = []
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        params = [value for row in chunk for value in row]
        sql = f"{head}{', '.join([one] * len(chunk))} RETURNING {pk_column}"
        ids.extend(r[0] for r in _execute_marked(connection, sql, params, rows=len(chunk), fetch=True))
    if len(ids) != len(rows):
        raise RuntimeError(f"INSERT returned {len(ids)} keys for {len(rows)} rows")
    return ids


def _pg_copy(connection, model, fields, rows) -> list[Any]:
    """The keys from the table's sequence, then the rows with them through one binary COPY.

    COPY is PostgreSQL's fastest way in (no statement to plan, values sent in binary and
    formatted by psycopg's C code), but it returns nothing: so the keys come first, from the
    sequence the INSERT would have drawn them from, one per row in ascending order as
    INSERT … RETURNING gives them. Both statements are one write, logged as one query like
    any other."""
    qn = connection.ops.quote_name
    meta = model._meta
    pk = meta.pk
    table = qn(meta.db_table)
    columns = [pk.column, *(f.column for f in fields)]
    types = [_bare_type(f, connection) for f in (pk, *fields)]
    copy_sql = f"COPY {table} ({', '.join(qn(c) for c in columns)}) FROM STDIN (FORMAT BINARY)"
    connection.ensure_connection()
    started = time.monotonic()
    # Django's wrapper (execute_wrappers, broken-transaction check, error mapping) around the
    # driver's cursor; not the debug wrapper, which would log the key query as a write of its own.
    with CursorWrapper(connection.connection.cursor(), connection) as cursor:
        # pg_get_serial_sequence() parses its first argument as SQL: the quoted name. Looked up
        # once in a CTE: in the select list this STABLE function ran for every row, 6.5 of the
        # 7.5 ms that 1,000 keys took.
        cursor.execute(
            "WITH seq AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS s) "
            f"SELECT nextval(seq.s) FROM seq, generate_series(1, {len(rows):d})",
            [table, pk.column],
        )
        ids = sorted(r[0] for r in cursor.fetchall() if r[0] is not None)
        if len(ids) != len(rows):  # no sequence behind the key (nextval(NULL) is NULL)
            return _pg_insert_unnest(connection, model, fields, rows)
        # COPY is psycopg's own API: the same broken-transaction check and error mapping
        # (psycopg's DataError -> django.db.DataError ...) as CursorWrapper.execute applies.
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
            copy.set_types(types)
            write_row = copy.write_row
            for pk_value, row in zip(ids, rows, strict=True):
                row.insert(0, pk_value)
                write_row(row)
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{copy_sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"}
        )
    return ids


def _pg_insert_unnest(connection, model, fields, rows, *, writes: Writes | None = None) -> list[Any]:
    """One `INSERT … SELECT * FROM unnest(%s::type[], …) RETURNING id`: one array parameter
    per column, bound on the server (Django's client-side binding would quote every value,
    JSON documents included, into the SQL text), whatever the number of rows."""
    plans = connection.__dict__.setdefault("_rows_unnest_sql", {})
    sql = plans.get(model)
    if sql is None:
        qn = connection.ops.quote_name
        meta = model._meta
        arrays = ", ".join(f"%b::{_bare_type(f, connection)}[]" for f in fields)
        sql = plans[model] = (
            f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
            f"SELECT * FROM unnest({arrays}) RETURNING {qn(meta.pk.column)}"
        )
    params: list = [list(column) for column in zip(*rows, strict=True)]
    extra = 0
    if writes is not None:
        sql, params, extra = writes.attach(sql, params)
    ids = [r[0] for r in _pg_execute_bound(connection, sql, params, rows=len(rows) + extra, fetch=True)]
    if len(ids) != len(rows):
        raise RuntimeError(f"INSERT returned {len(ids)} keys for {len(rows)} rows")
    return ids
