"""Set-wise UPDATEs for the waist: many leads, each with its own new values, in one statement.

A bulk transition changes the same columns of every lead in a batch, most of them to one shared
value (status, clocks computed from one `now`) and a few to values of their own (owner, team).
The ORM can only say that with `CASE id WHEN … THEN … END` per varying column, which the
database evaluates row by row through the whole list (quadratic: a third of a 1,000-lead batch's
time on PostgreSQL), and which Django compiles and quotes into the SQL text on the client.

- PostgreSQL: `UPDATE … SET shared = %s, own = v.own FROM unnest(%b::type[], …) AS v(id, own…)
  WHERE id = v.id`: one array per varying column, bound on the server, joined by hash.
- SQLite: the CASE as plain SQL, without the ORM's expression building (measured: faster than
  one prepared UPDATE per row through executemany, 29 vs 42 µs a lead).
- One row: a plain UPDATE.

Values are converted exactly as Django would (the field's `get_db_prep_save`), through the same
per-column converters as leads.writing's INSERTs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from django.db import connections, router
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model

from leads.writing import _column_converter


def _same(values: list[Any]) -> bool:
    first = _comparable(values[0])
    return all(_comparable(v) == first for v in values[1:])


def _comparable(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def rows_update_setwise(objs: Sequence[Model], fields: Sequence[str], *, using: str | None = None) -> int:
    """Write `fields` of every stored instance in `objs` (one model) from the instances' own
    values; columns whose value is the same for all rows are set once. Returns the row count.
    Like QuerySet.update: no auto_now stamping and no signals (set the values yourself)."""
    objs = list(objs)
    if not objs or not fields:
        return 0
    model = type(objs[0])
    using = using or router.db_for_write(model)
    connection = connections[using]
    meta = model._meta
    targets = [meta.get_field(name) for name in dict.fromkeys(fields)]
    if any(not f.concrete or f.primary_key or f.many_to_many for f in targets):
        raise ValueError("rows_update_setwise() can only update concrete, non-key fields")
    common: list[Field] = []
    varying: list[Field] = []
    for f in targets:
        (common if _same([getattr(obj, f.attname) for obj in objs]) else varying).append(f)
    shared = [[getattr(objs[0], f.attname) for f in common]]
    for i, f in enumerate(common):
        _column_converter(f, connection)(shared, i)
    own = [[obj.pk, *(getattr(obj, f.attname) for f in varying)] for obj in objs]
    for i, f in enumerate(varying, start=1):
        _column_converter(f, connection)(own, i)
    qn = connection.ops.quote_name
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    if connection.vendor == "postgresql" and len(objs) > 1:
        return _pg_update_unnest(connection, meta, table, pk, common, shared[0], varying, own)
    if len(objs) > 1:
        return _update_case(connection, table, pk, common, shared[0], varying, own)
    sets = ", ".join(f"{qn(f.column)} = %s" for f in [*common, *varying])
    sql = f"UPDATE {table} SET {sets} WHERE {pk} = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*shared[0], *own[0][1:], own[0][0]])
        return cursor.rowcount


def _update_case(connection, table, pk, common, shared, varying, own) -> int:
    # Each row takes an id and a WHEN pair per varying column: stay within the backend's limit.
    limit = connection.features.max_query_params or 999
    per_statement = max(1, (limit - len(shared)) // (2 * len(varying) + 1))
    if len(own) > per_statement:
        return sum(
            _update_case(connection, table, pk, common, shared, varying, own[start : start + per_statement])
            for start in range(0, len(own), per_statement)
        )
    qn = connection.ops.quote_name
    sets = [f"{qn(f.column)} = %s" for f in common]
    params: list[Any] = list(shared)
    whens = " ".join(["WHEN %s THEN %s"] * len(own))
    for i, f in enumerate(varying, start=1):
        sets.append(f"{qn(f.column)} = CASE {pk} {whens} END")
        for row in own:
            params += (row[0], row[i])
    ids = [row[0] for row in own]
    params += ids
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE {pk} IN ({', '.join(['%s'] * len(ids))})"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _pg_update_unnest(connection, meta, table, pk, common, shared, varying, own) -> int:
    import psycopg

    qn = connection.ops.quote_name
    pk_type = meta.pk.rel_db_type(connection)
    # Array types without modifiers, as leads.writing's INSERT: a cast to varchar(100) would
    # truncate silently where the UPDATE must fail.
    arrays = ", ".join(
        [f"%b::{pk_type}[]", *(f"%b::{f.db_type(connection).split('(')[0]}[]" for f in varying)]
    )
    names = ", ".join(["_pk", *(f"_v{i}" for i in range(len(varying)))])
    sets = [f"{qn(f.column)} = %s" for f in common]
    sets += [f"{qn(f.column)} = v._v{i}" for i, f in enumerate(varying)]
    sql = (
        f"UPDATE {table} SET {', '.join(sets)} FROM unnest({arrays}) AS v({names}) WHERE {table}.{pk} = v._pk"
    )
    params = [*shared, *(list(column) for column in zip(*own, strict=True))]
    connection.ensure_connection()
    started = time.monotonic()
    # Server-side binding (Django's own cursor would quote every array element into the SQL
    # text), inside Django's wrapper for error mapping and the broken-transaction check.
    with CursorWrapper(psycopg.Cursor(connection.connection), connection) as cursor:
        cursor.execute(sql, params)
        count = cursor.rowcount
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- {len(own)} rows", "time": f"{time.monotonic() - started:.3f}"}
        )
    return count
