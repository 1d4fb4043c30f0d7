"""Configuration kept in process memory for as long as the database says it has not changed.

Sources, lead types, scoring rules and bands, life-cycle policies and assignment rules are read
by every intake and every routing, and edited a few times a day. Loading them cost one query
each (and the ORM's work to build the objects) on every API request; now one small query reads
every catalogue's version token (crm.models.CatalogVersion, replaced by triggers on each write
to the catalogue's tables) and a catalogue is loaded again only when its token moved.

Inside `catalogs_pinned()` the tokens are read once, on first use: an API request or a routing
batch checks its configuration with one query, however many catalogues it reads. The token is
always read before the catalogue itself, so a copy can only be newer than the token it is kept
under (reloaded once more), never older. Do not write configuration inside a pinned block.

Values handed out are shared by every caller in the process: read them, never modify them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import connection

from crm.models import Rep

T = TypeVar("T")

SOURCES = "sources"
LEAD_TYPES = "lead_types"
SCORING = "scoring"
POLICIES = "policies"
RULES = "rules"
REPS = "reps"

_cache: dict[tuple[str, Hashable], tuple[int, Any]] = {}


class _Pin:
    __slots__ = ("versions",)

    def __init__(self) -> None:
        self.versions: dict[str, int] | None = None


_pinned: ContextVar[_Pin | None] = ContextVar("catalog_versions_pinned", default=None)


def _versions_read() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, version FROM crm_catalogversion")
        return dict(cursor.fetchall())


def catalog_versions() -> dict[str, int]:
    """Every catalogue's current token (one query, or none inside a pin that has read them)."""
    pin = _pinned.get()
    if pin is None:
        return _versions_read()
    if pin.versions is None:
        pin.versions = _versions_read()
    return pin.versions


def catalog_versions_locking(lock_sql: str, params: Sequence[Any]) -> bool | None:
    """Take a row lock (`lock_sql`: `SELECT … FOR UPDATE` of at most one row) in the statement
    that reads this pinned block's tokens, when they are still to be read: one round trip for
    both (routing's mutex, taken first thing by a routing that is not part of a request). The
    tokens come from the statement's snapshot, taken before any wait for the lock, as they
    would have been by a read just before it. Returns whether the lock found its row, or None
    when there is nothing to share (no pin, or its tokens already read): lock on your own."""
    pin = _pinned.get()
    if pin is None or pin.versions is not None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH _lock AS ({lock_sql}) SELECT name, version FROM crm_catalogversion "
            "UNION ALL SELECT NULL, COUNT(*) FROM _lock",
            params,
        )
        rows = cursor.fetchall()
    pin.versions = {name: version for name, version in rows if name is not None}
    return any(name is None and count for name, count in rows)


@contextmanager
def catalogs_pinned() -> Iterator[None]:
    """Read the catalogue versions at most once in this block (nested blocks share the outer
    one's reading)."""
    if _pinned.get() is not None:
        yield
        return
    token = _pinned.set(_Pin())
    try:
        yield
    finally:
        _pinned.reset(token)


def catalog_cached(catalog: str, key: Hashable, load: Callable[[], T]) -> T:
    """What `load()` returns for `catalog`, from memory while the catalogue's version is the one
    it was loaded under. A catalogue without a version row (a database flushed by a test run)
    is loaded on every call."""
    version = catalog_versions().get(catalog)
    entry = _cache.get((catalog, key))
    if entry is not None and version is not None and entry[0] == version:
        return entry[1]
    value = load()
    if version is not None:
        _cache[(catalog, key)] = (version, value)
    return value


def reps_by_id() -> dict[int, Rep]:
    """Every rep with its user, by id (read-only). Routing locks the rows of the reps it may
    pick and takes the objects from here: building 50 reps and their users for every lead cost
    more than the rest of the decision."""
    return catalog_cached(REPS, "by_id", lambda: Rep.objects.select_related("user").in_bulk())
