"""Open leads per rep, read from the trigger-kept counters (leads.models.RepLoad) instead of
counted from the lead table, and the folding of PostgreSQL's deltas into them.

A rep's load is RepLoad.open_leads plus the sum of its RepLoadDelta rows, read in one
statement so that it sees both tables at one snapshot: a fold that commits meanwhile moves
deltas into the counter atomically, and the statement sees either side of it, never both or
neither. Under READ COMMITTED a statement run after the routing transaction locked the reps
sees every lead a claim committed before the lock was granted, as the count it replaces did.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from leads.models import RepLoad, RepLoadDelta

# Routing folds the deltas (after its commit) once it has seen this many of them in a read;
# the sweep folds them every run whatever their number.
FOLD_FROM = 2000
# Two folds at once would only queue behind each other's row locks: one runs, the other skips.
_FOLD_LOCK_KEY = 0x6C6F6164  # "load"


def rep_loads(rep_ids: Iterable[int]) -> tuple[dict[int, int], int]:
    """{rep id: open leads} for `rep_ids` (reps with none are absent), and how many delta
    rows the read summed (to decide on a fold)."""
    ids = sorted(set(rep_ids))
    base, deltas = RepLoad._meta.db_table, RepLoadDelta._meta.db_table
    loads: dict[int, int] = {}
    seen = 0
    # PostgreSQL: the ids as one array, so the statement is the same text for any number of
    # reps (psycopg caches its parsing and the server its plan; with a placeholder per id,
    # psycopg parsed the SQL anew on every call: 320 µs for 50 reps, more than the query).
    # Elsewhere each id is bound twice: stay well within SQLite's parameter limit (999 on old
    # builds).
    array = connection.vendor == "postgresql"
    step = max(len(ids), 1) if array else 400
    for start in range(0, len(ids), step):
        chunk = ids[start : start + step]
        marks = "= ANY(%s::bigint[])" if array else f"IN ({', '.join(['%s'] * len(chunk))})"
        sql = (
            f"SELECT rep_id, SUM(n), SUM(d) FROM ("
            f"SELECT rep_id, open_leads AS n, 0 AS d FROM {base} WHERE rep_id {marks} "
            f"UNION ALL SELECT rep_id, delta, 1 FROM {deltas} WHERE rep_id {marks}"
            f") loads GROUP BY rep_id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [chunk, chunk] if array else [*chunk, *chunk])
            rows = cursor.fetchall()
        loads.update((rep_id, int(n)) for rep_id, n, _ in rows if n)
        seen += sum(int(d) for _, _, d in rows)
    return loads, seen


def rep_load_expression() -> Coalesce:
    """A rep's open leads as an annotation on Rep querysets (one statement with the reps)."""
    base = RepLoad.objects.filter(rep_id=OuterRef("pk")).values("open_leads")[:1]
    deltas = (
        RepLoadDelta.objects.filter(rep_id=OuterRef("pk"))
        .order_by()
        .values("rep_id")
        .annotate(total=Sum("delta"))
        .values("total")
    )
    return Coalesce(Subquery(base, output_field=IntegerField()), 0) + Coalesce(
        Subquery(deltas, output_field=IntegerField()), 0
    )


def rep_loads_fold() -> int:
    """Fold PostgreSQL's load deltas into the counters, in a short transaction of its own;
    returns the number of delta rows folded (0 on SQLite, whose triggers keep the counters)."""
    if connection.vendor != "postgresql":
        return 0
    base, deltas = RepLoad._meta.db_table, RepLoadDelta._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_FOLD_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute(
            f"WITH moved AS (DELETE FROM {deltas} RETURNING rep_id, delta), "
            f"summed AS (SELECT rep_id, SUM(delta) AS n, COUNT(*) AS rows FROM moved GROUP BY rep_id), "
            f"folded AS (INSERT INTO {base} (rep_id, open_leads) "
            f"SELECT rep_id, n FROM summed ORDER BY rep_id "
            f"ON CONFLICT (rep_id) DO UPDATE SET open_leads = {base}.open_leads + EXCLUDED.open_leads) "
            f"SELECT COALESCE(SUM(rows), 0) FROM summed"
        )
        return int(cursor.fetchone()[0])


def rep_loads_fold_after_commit(seen: int) -> None:
    """Schedule a fold once the current transaction commits, when a read summed many deltas."""
    if seen >= FOLD_FROM and connection.vendor == "postgresql":
        # Housekeeping: a fold that fails must not turn the committed routing into an error;
        # the next sweep folds what is left.
        transaction.on_commit(rep_loads_fold, robust=True)
