"""The routing engine: evaluate an ordered rule list for one lead against an in-memory context.

Deciding never writes. The context loads what a batch needs once (rules, candidate reps with
their open-lead loads and 24 h counts, cursors, teams, sources) and then keeps those figures up
to date in memory as it hands out leads, which is why routing a batch at once gives exactly the
owners that routing the same leads one by one would. services.py applies the decisions;
simulation.py runs the same engine without a lock and throws the state away.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.db.models import Count, Q

from assignment.conditions import LeadFacts, condition_compile, value_jsonable
from assignment.eligibility import Skip, rep_skip, rep_skip_load, rep_skip_standing, within_hours
from assignment.models import AssignmentRule, RotationCursor, RuleSet, RuleSnapshot, Strategy
from assignment.selectors import rule_snapshot_ids, rules_for_trigger
from assignment.strategies import PICKERS, PICKING, STRATEGY_WORDS, Candidate, profile_scorer, rep_skills
from crm.catalogs import catalog_versions_locking, reps_by_id
from crm.models import Rep, Team
from leads.loads import rep_load_expression, rep_loads, rep_loads_fold_after_commit
from leads.models import Lead, LeadEvent
from leads.selectors import lead_types_by_id, open_lead_statuses, sources_by_id
from leads.writing import Writes, rows_update

ROUTE_EVENT_KIND = "route"
# Events that count against a rep's rolling 24 h assignment quota.
QUOTA_EVENT_KINDS = ("route",)
ROUTING_MUTEX_KEY = "routing"
EXPLAIN_CANDIDATES_MAX = 10
SKIP_EXCLUDED = Skip("excluded", "had this lead before")
SKIP_WEIGHT_ZERO = Skip("weight_zero", "weight 0")
ROUTABLE_STATUSES = ("new", "pooled", "silent", "nurturing", "assigned")


@dataclass
class RoutingDecision:
    """Where one lead should go and why; `explanation` is what LeadEvent.data["explanation"] holds."""

    lead: Lead
    status: str
    owner: Rep | None = None
    pool_team: Team | None = None
    pool_reason: str = ""
    rule: AssignmentRule | None = None
    strategy: str = ""
    cascade_step: int = 0
    explanation: dict = field(default_factory=dict)
    event: LeadEvent | None = None

    @property
    def applied(self) -> bool:
        """False when the lead changed under us (compare-and-set lost) and nothing was written."""
        return self.event is not None


def _rule_targets(rule: AssignmentRule) -> list:
    cached = getattr(rule, "_prefetched_objects_cache", {}).get("targets")
    if cached is not None:
        return sorted(cached, key=lambda t: t.pk)
    if rule.pk is None:
        return list(getattr(rule, "draft_targets", []))
    return list(rule.targets.order_by("pk"))


def _cursor_sql(conn) -> tuple[str, str]:
    """The rotation cursor read by key: plain, and locked (where the database has row locks).
    Built once per connection."""
    plan = conn.__dict__.get("_cursor_fetch_sql")
    if plan is None:
        q = conn.ops.quote_name
        sql = f"SELECT {q('id')}, {q('state')}, {q('updated_at')} FROM {q(RotationCursor._meta.db_table)} "
        sql += f"WHERE {q('key')} = %s"
        locking = f" {conn.ops.for_update_sql()}" if conn.features.has_select_for_update else ""
        plan = conn.__dict__["_cursor_fetch_sql"] = (sql, sql + locking)
    return plan


def _cursor_fetch(key: str, *, lock: bool) -> RotationCursor | None:
    """The rotation cursor `key`, locked when routing for real. Plain SQL: the ORM's first()
    spent longer building the statement and the instance than the database took to answer."""
    conn = connections[RotationCursor.objects.db]
    plain, locking = _cursor_sql(conn)
    with conn.cursor() as cursor:
        cursor.execute(locking if lock else plain, [key])
        row = cursor.fetchone()
    return None if row is None else _cursor_from_row(conn, key, row)


def _cursor_from_row(conn, key: str, row: tuple) -> RotationCursor:
    pk, state, updated_at = row
    if isinstance(state, str | bytes):
        state = json.loads(state)
    convert = getattr(conn.ops, "convert_datetimefield_value", None)  # SQLite stores text
    if convert is not None and updated_at is not None:
        updated_at = convert(updated_at, None, conn)
    return RotationCursor.from_db(
        conn.alias, ["id", "key", "state", "updated_at"], [pk, key, state, updated_at]
    )


# Compiled scope statements by (scope key, counted, locked, database): a scope key names its
# selection completely (see _scope_for), so its SQL never changes.
_scope_sql: dict[tuple, tuple[str, tuple]] = {}


def _scope_rows(
    key: tuple, statement: Callable[[], Any], *, cursor_key: str | None = None
) -> tuple[list[tuple], RotationCursor | None]:
    """The rows of the scope query `statement()` builds (ints only: ids and loads), from SQL
    built and compiled once per scope: building the locking rep query with the ORM cost more
    than running it. With `cursor_key` (PostgreSQL), the rule's rotation cursor is locked and
    read in the same statement and returned (None when it does not exist yet)."""
    db = Rep.objects.db
    conn = connections[db]
    with_cursor = cursor_key is not None and conn.vendor == "postgresql"
    key = (*key, db, with_cursor)
    plan = _scope_sql.get(key)
    if plan is None:
        if len(_scope_sql) >= 1024:
            _scope_sql.clear()
        sql, params = statement().query.get_compiler(using=db).as_sql()
        if with_cursor:
            # Locked cursor rows and locked rep rows, each in a CTE (FOR UPDATE is not allowed
            # in a UNION branch); the reps come back tagged 0, the cursor tagged 1.
            _, locking = _cursor_sql(conn)
            sql = (
                f"WITH _c AS ({locking}), _r AS ({sql}) "
                "SELECT 0, _r.*, NULL::jsonb, NULL::timestamptz FROM _r "
                "UNION ALL SELECT 1, _c.* FROM _c"
            )
            params = (None, *params)  # the cursor key's place
        plan = _scope_sql[key] = (sql, tuple(params))
    sql, params = plan
    if with_cursor:
        params = (cursor_key, *params[1:])
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not with_cursor:
        return rows, None
    reps = sorted(row[1:2] for row in rows if row[0] == 0)  # rep-id order, as the query orders
    found = [row[1:] for row in rows if row[0] == 1]
    return reps, (_cursor_from_row(conn, cursor_key, found[0]) if found else None)


def routing_mutex_acquire() -> None:
    """Take the routing mutex (see RoutingContext.mutex_acquire) for this transaction. Called
    before the routing reads its rules, it shares the catalogue-token read's statement."""
    if _writers_serialized():
        return
    _, locking = _cursor_sql(connections[RotationCursor.objects.db])
    found = catalog_versions_locking(locking, [ROUTING_MUTEX_KEY])
    if found is None:
        found = _cursor_fetch(ROUTING_MUTEX_KEY, lock=True) is not None
    if found:
        return
    try:
        with transaction.atomic():
            RotationCursor.objects.create(key=ROUTING_MUTEX_KEY)
    except IntegrityError:
        pass
    _cursor_fetch(ROUTING_MUTEX_KEY, lock=True)


def _writers_serialized() -> bool:
    """True where every write transaction already holds the database's only write lock from its
    first statement (SQLite with BEGIN IMMEDIATE, as the settings configure it): routing
    transactions take turns without the mutex row, and locking it would be a wasted query."""
    conn = connections[RotationCursor.objects.db]
    return (
        not conn.features.has_select_for_update
        and str(conn.settings_dict.get("OPTIONS", {}).get("transaction_mode", "")).upper() == "IMMEDIATE"
    )


class RoutingContext:
    """Everything one routing batch reads, loaded lazily and at most once per batch."""

    def __init__(
        self,
        *,
        trigger: str,
        now: datetime,
        lock: bool = True,
        rules: list[AssignmentRule] | None = None,
        rule_set: RuleSet | None = None,
        cursor_prefix: str = "rule",
    ):
        self.trigger = trigger
        self.now = now
        self.lock = lock
        self.cursor_prefix = cursor_prefix
        if rules is None:
            rule_set, rules = rules_for_trigger(trigger=trigger)
        self.rule_set = rule_set
        self.rules = rules
        self.reps: dict[int, Rep] = {}
        self._db_loads: dict[int, int] = {}
        self._db_24h: dict[int, int] = {}
        self.load_delta: Counter = Counter()
        self.quota_delta: Counter = Counter()
        self._scopes: dict[tuple, list[int]] = {}
        self._cursors: dict[str, RotationCursor] = {}
        self._cursor_snapshots: dict[str, dict] = {}
        self._stats: dict[tuple, dict[int, tuple[float | None, int]]] = {}
        self._teams: dict[int, Team] | None = None
        self._facts: LeadFacts | None = None
        self.hits: Counter = Counter()
        self.exclude: set[int] = set()
        self.preloaded = False
        self._compiled: list[CompiledRule] | None = None
        self._off_schedule: set[int] = set()
        self._standing: dict[int, Skip | None] = {}
        self._names: dict[int, str] = {}
        self._skills: dict[int, dict[str, set[str]]] = {}
        self._head: dict | None = None
        self._members: dict[int, tuple] = {}
        self._cursor_wanted: str | None = None

    # --- loading -------------------------------------------------------------------------------

    def mutex_acquire(self) -> None:
        """Routing transactions take turns: a pick reads loads and cursors that the previous
        routing transaction may just have changed, and capacity is a hard cap. (Reading the
        rule list's cursors in the same statement was tried: loading and copying 50 cursor rows
        per single lead cost more than the query it saved.)"""
        if self.lock:
            routing_mutex_acquire()

    @property
    def facts(self) -> LeadFacts:
        if self._facts is None:
            self._facts = LeadFacts(sources=sources_by_id, lead_types=lead_types_by_id)
        return self._facts

    @property
    def teams(self) -> dict[int, Team]:
        if self._teams is None:
            self._teams = {t.pk: t for t in Team.objects.order_by("tier", "name", "pk")}
        return self._teams

    @property
    def counts_with_reps(self) -> bool:
        """Whether the rep query may read open leads itself (one statement instead of two).

        Not when it also locks the reps on a database with row locks: under READ COMMITTED a
        locking SELECT that waited for a rep row (a claim holding it) re-checks that row when
        the lock comes, but a load read in the same statement (the trigger-kept counters, see
        leads.loads) keeps the snapshot taken before the wait, and would miss the lead the
        claim just gave that rep. A read in a statement of its own, after the lock, sees it;
        capacity is a hard cap."""
        if not self.lock:
            return True
        return not connections[Rep.objects.db].features.has_select_for_update

    def _loads_fetch(self, ids: list[int], *, counted: dict[int, int] | None) -> None:
        """Remember the open leads of the reps `ids` — read by the rep query itself, or now,
        after it locked them (see counts_with_reps) — and count assignments in the last 24 h
        for those with a daily quota."""
        if not ids:
            return
        if counted is None:
            counted, deltas_seen = rep_loads(ids)
            rep_loads_fold_after_commit(deltas_seen)
        for pk in ids:
            self._db_loads[pk] = counted.get(pk, 0)
        quota_ids = [pk for pk in ids if self.reps[pk].daily_assign_quota is not None]
        if quota_ids:
            rows = (
                LeadEvent.objects.filter(
                    to_owner_id__in=quota_ids,
                    kind__in=QUOTA_EVENT_KINDS,
                    to_status=Lead.Status.ASSIGNED,
                    at__gt=self.now - timedelta(hours=24),
                    at__lte=self.now,
                )
                .values("to_owner_id")
                .annotate(n=Count("id"))
                .values_list("to_owner_id", "n")
            )
            counts = dict(rows)
            for pk in quota_ids:
                self._db_24h[pk] = counts.get(pk, 0)

    def _reps_load(self, q: Q, key: tuple | None = None) -> list[int]:
        """Lock the reps matching `q` and read their ids in rep-id order (with their open leads,
        where the same statement may count them), then their loads and quotas; returns the ids.
        The Rep objects come from the process's rep catalogue (crm.catalogs.reps_by_id), checked
        against its version at the start of the batch. Reps already loaded in this batch keep
        their first reading. A scope `key` (see _scope_for) reuses the statement compiled for
        it before."""
        counts, lock = self.counts_with_reps, self.lock

        def statement():
            qs = Rep.objects.filter(q)
            if counts:
                qs = qs.annotate(routing_load=rep_load_expression())
            if lock:
                qs = qs.select_for_update(no_key=True, of=("self",))
            qs = qs.order_by("pk")
            return qs.values_list("pk", "routing_load") if counts else qs.values_list("pk")

        wanted = self._cursor_wanted if key is not None and lock and not counts else None
        if wanted is not None and wanted in self._cursors:
            wanted = None
        if key is None:
            rows, cursor = statement(), None
        else:
            rows, cursor = _scope_rows((key, counts, lock), statement, cursor_key=wanted)
        if cursor is not None:
            self._cursors[wanted] = cursor
            self._cursor_snapshots[wanted] = copy.deepcopy(cursor.state)
        known = reps_by_id()
        ids, fresh, counted, missing = [], [], {}, []
        for row in rows:
            pk = row[0]
            ids.append(pk)
            if pk not in self.reps:
                rep = known.get(pk)
                if rep is None:  # created after the catalogue was read
                    missing.append(pk)
                else:
                    self.reps[pk] = rep
                fresh.append(pk)
                if counts:
                    counted[pk] = row[1]
        if missing:
            self.reps.update(Rep.objects.select_related("user").in_bulk(missing))
        self._loads_fetch(fresh, counted=counted if counts else None)
        return ids

    def load(self, rep_id: int) -> int:
        return self._db_loads.get(rep_id, 0) + self.load_delta[rep_id]

    def assigned_24h(self, rep_id: int) -> int:
        return self._db_24h.get(rep_id, 0) + self.quota_delta[rep_id]

    def preload(self) -> None:
        """For a batch: every rep the rules may name, their loads and all rotation cursors, in a
        fixed handful of queries however many leads and rules the batch touches."""
        if self.preloaded:
            return
        target_ids = {t.rep_id for rule in self.rules for t in _rule_targets(rule)}
        target_ids |= {rule.default_owner_id for rule in self.rules if rule.default_owner_id}
        self._reps_load(~Q(status=Rep.Status.DEPARTED) | Q(pk__in=target_ids))
        keys = [self.cursor_key(rule) for rule in self.rules if rule.strategy in PICKING]
        missing = [key for key in keys if key not in self._cursors]
        if missing:
            cursors = RotationCursor.objects.filter(key__in=missing).order_by("pk")
            if self.lock:
                cursors = cursors.select_for_update()
            for cursor in cursors:
                self._cursors[cursor.key] = cursor
                self._cursor_snapshots[cursor.key] = copy.deepcopy(cursor.state)
        self.preloaded = True

    def cursor_key(self, rule: AssignmentRule) -> str:
        options = rule.options if isinstance(rule.options, dict) else {}
        return options.get("cursor_key") or f"{self.cursor_prefix}:{rule.id or 'draft-' + str(id(rule))}"

    def scope(self, key: tuple, q: Q, match) -> list[int]:
        """Rep ids matching q (rep-id order), loaded, locked and counted once per batch; after
        preload() the same selection is made in memory by `match`, without a query."""
        if key not in self._scopes:
            if self.preloaded:
                self._scopes[key] = [pk for pk in sorted(self.reps) if match(self.reps[pk])]
                return self._scopes[key]
            self._scopes[key] = self._reps_load(q, key)
        return self._scopes[key]

    def cursor_state(self, key: str) -> dict:
        if key not in self._cursors:
            cursor = None if self.preloaded else _cursor_fetch(key, lock=self.lock)
            if cursor is None:
                cursor = RotationCursor(key=key, state={})
            self._cursors[key] = cursor
            self._cursor_snapshots[key] = copy.deepcopy(cursor.state)
        cursor = self._cursors[key]
        if cursor.pk is None and self.lock:
            # First use of this rule's rotation. A batch's preload cannot see a row that a routing
            # transaction it waited for has just inserted; a fresh statement can.
            existing = RotationCursor.objects.select_for_update().filter(key=key).first()
            if existing is not None:
                cursor = self._cursors[key] = existing
                self._cursor_snapshots[key] = copy.deepcopy(existing.state)
            else:
                cursor.save()
        return cursor.state

    def cursors_save(self, *, writes: Writes | None = None) -> None:
        """One UPDATE for every cursor whose state moved in this batch (left in `writes`, to go
        with the batch's lead writes, where the database allows)."""
        changed = sorted(
            (c for key, c in self._cursors.items() if c.pk and c.state != self._cursor_snapshots.get(key)),
            key=lambda c: c.pk,
        )
        for cursor in changed:
            cursor.updated_at = self.now
        # The lean set-wise writer: bulk_update's CASE for 50 cursors took longer to compile
        # than the batch's routing decisions took to make.
        rows_update(changed, ["state", "updated_at"], writes=writes)

    def performance(self, key: tuple, ids: list[int], options: dict) -> dict[int, tuple[float | None, int]]:
        """(figure, sample) per rep over the rule's window: conversion rate of leads closed, or the
        mean first-response hours. Closed and first-contacted leads do not change while a batch
        is routed, so the figures stay valid for the whole batch."""
        if key not in self._stats:
            since = self.now - timedelta(days=int(options.get("window_days", 90)))
            stats: dict[int, tuple[float | None, int]] = {}
            if options.get("metric", "conversion") == "response":
                rows = Lead.objects.filter(
                    owner_id__in=ids, first_contacted_at__gte=since, assigned_at__isnull=False
                ).values_list("owner_id", "assigned_at", "first_contacted_at")
                gaps: dict[int, list[float]] = defaultdict(list)
                for owner_id, assigned_at, contacted_at in rows.iterator():
                    gaps[owner_id].append(max((contacted_at - assigned_at).total_seconds(), 0) / 3600)
                for pk, values in gaps.items():
                    stats[pk] = (round(sum(values) / len(values), 2), len(values))
            else:
                rows = (
                    Lead.objects.filter(
                        owner_id__in=ids, status__in=Lead.TERMINAL_STATUSES, closed_at__gte=since
                    )
                    .values("owner_id")
                    .annotate(total=Count("id"), won=Count("id", filter=Q(status=Lead.Status.CONVERTED)))
                    .values_list("owner_id", "total", "won")
                )
                for pk, total, won in rows:
                    stats[pk] = (round(won / total, 4) if total else None, total)
            self._stats[key] = stats
        return self._stats[key]

    @property
    def compiled(self) -> list[CompiledRule]:
        if self._compiled is None:
            self._compiled = rules_compile(self.rules)
            self._off_schedule = {
                c.n for c in self._compiled if c.scheduled and not _rule_applies_now(c.rule, self.now)
            }
        return self._compiled

    def members(self, rule: AssignmentRule) -> list[tuple]:
        """The rule's candidate reps for this batch, in order, as (pk, rep, standing skip, has
        load limits, Candidate): everything about them that does not move while the batch is
        routed, worked out once per rule instead of once per lead. The Candidate (weight set)
        is reused for every lead the rule picks for; _pick refreshes its load and score."""
        key = rule.id or id(rule)
        cached = self._members.get(key)
        if cached is None:
            # A picking rule reads its rotation cursor with the reps (one round trip, see
            # _scope_rows): both are locked reads taken under the routing mutex.
            if self.lock and not self.preloaded and rule.strategy in PICKING:
                self._cursor_wanted = self.cursor_key(rule)
            try:
                order, weights = _scope_for(rule, self)
            finally:
                self._cursor_wanted = None
            cached = self._members[key] = []
            for pk in order:
                rep = self.reps[pk]
                limited = bool(rep.max_open_leads) or rep.daily_assign_quota is not None
                cand = Candidate(rep, weights.get(pk, rep.weight), pk=pk)
                cached.append((pk, rep, self.standing_skip(pk), limited, cand))
        return cached

    def standing_skip(self, pk: int) -> Skip | None:
        try:
            return self._standing[pk]
        except KeyError:
            skip = self._standing[pk] = rep_skip_standing(rep=self.reps[pk], now=self.now)
            return skip

    def name(self, rep: Rep) -> str:
        # Looked up for every candidate shown of every lead: one dict read when known.
        name = self._names.get(rep.id)  # .id, not .pk: a plain attribute read, in the hot loop
        if name is None:
            name = self._names[rep.id] = rep.display_name
        return name

    def skills(self, rep: Rep) -> dict[str, set[str]]:
        skills = self._skills.get(rep.id)
        if skills is None:
            skills = self._skills[rep.id] = rep_skills(rep)
        return skills

    def explanation_head(self) -> dict:
        """The part every explanation of this batch shares, with where to find the rules' names
        and conditions: a stored RuleSnapshot (real routing) or the catalogue itself (simulation,
        which must not write and may route with unsaved draft rules)."""
        if self._head is None:
            head: dict[str, Any] = {
                "v": 2,
                "trigger": self.trigger,
                "at": self.now.isoformat(),
                "rule_set": {"id": self.rule_set.pk, "name": self.rule_set.name} if self.rule_set else None,
            }
            if self.rules:
                digest, catalog = rules_catalog(self.rules)
                if self.lock:
                    head["snapshot"] = rule_snapshot_id(digest=digest, catalog=catalog)
                else:
                    head["catalog"] = catalog
            self._head = head
        return self._head

    def first_tier_team(self) -> Team | None:
        return next(iter(self.teams.values()), None)


# --- deciding -------------------------------------------------------------------------------------


def _rule_applies_now(rule: AssignmentRule, now: datetime) -> bool:
    if not rule.schedule_days and not (rule.schedule_start and rule.schedule_end):
        return True
    return within_hours(
        now=now,
        days=rule.schedule_days,
        start=rule.schedule_start,
        end=rule.schedule_end,
        tz_name=rule.schedule_timezone,
    )


class CompiledRule:
    """One rule prepared for a batch: whether it can apply at the batch's `now`, and its
    conditions as ready-made tests. Evaluating 50 rules for every lead of a 100,000-row import is
    the engine's inner loop, so nothing here is rebuilt per lead."""

    __slots__ = ("n", "pk", "rule", "usable", "scheduled", "tests", "any_tests")

    def __init__(self, n: int, rule: AssignmentRule):
        self.n = n
        self.pk = rule.pk
        self.rule = rule
        self.usable = rule.active or rule.is_default
        self.scheduled = not rule.is_default and bool(
            rule.schedule_days or (rule.schedule_start and rule.schedule_end)
        )
        self.tests = [_condition_prepare(i, c) for i, c in enumerate(rule.conditions or [])]
        self.any_tests = [
            _condition_prepare(i, c) for i, c in enumerate(rule.any_conditions or []) if isinstance(c, dict)
        ]

    def miss(self, lead: Lead, facts: LeadFacts, seen: dict[str, tuple[Any, Any]]) -> tuple | None:
        """None when every condition holds; else the first failing one as ("c", index, the
        lead's value), or ("any", values) for a failed any-of group. `seen` holds this lead's
        field values (raw, as stored) across the rules tried."""
        for index, field_name, test, _words in self.tests:
            if test is None:
                return ("c", index, None)
            pair = seen.get(field_name)
            if pair is None:
                actual = facts.value(lead, field_name)
                pair = seen[field_name] = (actual, value_jsonable(actual))
            if not test(pair[0]):
                return ("c", index, pair[1])
        if self.any_tests:
            for _index, field_name, test, _words in self.any_tests:
                if test(facts.value(lead, field_name)):
                    return None
            return ("any", [value_jsonable(facts.value(lead, t[1])) for t in self.any_tests])
        return None

    def matched(self, lead: Lead, facts: LeadFacts) -> list[dict]:
        """The conditions that made the rule apply, with the lead's values, for the one rule that
        decides (stored in full so the sentence reads "matched (region=华东, industry=SaaS)")."""
        out = [{**words, "actual": value_jsonable(facts.value(lead, f))} for _i, f, _t, words in self.tests]
        for _index, field_name, test, words in self.any_tests:
            actual = facts.value(lead, field_name)
            if test(actual):
                out.append({**words, "actual": value_jsonable(actual)})
                break
        return out


def _condition_prepare(index: int, condition: Any) -> tuple[int, str, Callable | None, dict]:
    if not isinstance(condition, dict):
        return index, "", None, {}
    words = {
        "field": str(condition.get("field", "")),
        "op": str(condition.get("op", "")),
        "value": value_jsonable(condition.get("value")),
    }
    return index, condition.get("field") or "", condition_compile(condition), words


@dataclass
class _Segment:
    """Consecutive rules whose first condition is a text "equals / is one of" on one field."""

    field: str
    end: int  # index after the last rule of the run
    positions: dict[str, list[int]]  # folded text -> indexes of the rules it gets past


_segments: dict[int, tuple[list, dict[int, _Segment]]] = {}


def rules_segments(compiled: list[CompiledRule]) -> dict[int, _Segment]:
    """Runs of at least three indexable rules, by the index of their first rule."""
    hit = _segments.get(id(compiled))
    if hit is not None and hit[0] is compiled:
        return hit[1]
    found: dict[int, _Segment] = {}
    i = 0
    while i < len(compiled):
        field_name = _leading_text_field(compiled[i])
        if field_name is None:
            i += 1
            continue
        j = i
        positions: dict[str, list[int]] = {}
        while j < len(compiled) and _leading_text_field(compiled[j]) == field_name:
            for text in compiled[j].tests[0][2].folded:
                positions.setdefault(text, []).append(j)
            j += 1
        if j - i >= 3:
            found[i] = _Segment(field=field_name, end=j, positions=positions)
        i = j
    if len(_segments) >= 16:
        _segments.clear()
    _segments[id(compiled)] = (compiled, found)
    return found


def _leading_text_field(compiled: CompiledRule) -> str | None:
    if not compiled.usable or compiled.scheduled or compiled.rule.is_default or not compiled.tests:
        return None
    _index, field_name, test, _words = compiled.tests[0]
    if test is None or getattr(test, "folded", None) is None or test.negated:
        return None
    return field_name


_compiled: dict[int, tuple[list, list[CompiledRule]]] = {}
_catalogs: dict[int, tuple[list, str, dict]] = {}


def rules_compile(rules: list[AssignmentRule]) -> list[CompiledRule]:
    """Compiled once per rule list: the selectors cache hands every routing call the same list
    until a rule changes, so a single-lead intake does not prepare 50 rules again."""
    hit = _compiled.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1]
    compiled = [CompiledRule(n, rule) for n, rule in enumerate(rules, start=1)]
    if len(_compiled) >= 16:
        _compiled.clear()
    _compiled[id(rules)] = (rules, compiled)
    return compiled


def rules_catalog(rules: list[AssignmentRule]) -> tuple[str, dict]:
    """The rules' names, strategies and conditions by evaluation number, and a digest of them.
    Kept per rule list (the selectors cache hands out the same list until a rule changes)."""
    hit = _catalogs.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1], hit[2]
    catalog = {
        str(n): {
            "id": rule.pk,
            "name": rule.name,
            "strategy": rule.strategy,
            "default": rule.is_default,
            "conditions": rule.conditions or [],
            "any": rule.any_conditions or [],
        }
        for n, rule in enumerate(rules, start=1)
    }
    catalog = json.loads(json.dumps(catalog, default=str, ensure_ascii=False))
    digest = hashlib.sha256(json.dumps(catalog, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    if len(_catalogs) >= 16:
        _catalogs.clear()
    _catalogs[id(rules)] = (rules, digest, catalog)
    return digest, catalog


def rule_snapshot_id(*, digest: str, catalog: dict) -> int:
    """The stored snapshot for this catalogue, created on first use. The id is remembered in the
    process only once the transaction that may have created it has committed."""
    pk = rule_snapshot_ids.get(digest)
    if pk is not None:
        return pk
    # Plain SQL, as for the cursors: the ORM spent longer building this one-row lookup than the
    # database took to answer it (a fifth of a single lead's routing until the id is cached).
    conn = connections[RuleSnapshot.objects.db]
    q = conn.ops.quote_name
    meta = RuleSnapshot._meta
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT {q(meta.pk.column)} FROM {q(meta.db_table)} WHERE {q(meta.get_field('digest').column)} = %s",
            [digest],
        )
        row = cursor.fetchone()
    pk = row[0] if row else None
    if pk is None:
        try:
            with transaction.atomic():
                pk = RuleSnapshot.objects.create(digest=digest, data=catalog).pk
        except IntegrityError:
            pk = RuleSnapshot.objects.get(digest=digest).pk
    transaction.on_commit(lambda: rule_snapshot_ids.__setitem__(digest, pk))
    return pk


def _scope_for(rule: AssignmentRule, ctx: RoutingContext) -> tuple[list[int], dict[int, int]]:
    """Candidate rep ids in the rule's own order, and weights. Team and level scopes leave out
    departed reps; named targets stay in so a departed one is shown as skipped."""
    targets = _rule_targets(rule)
    level_q = Q(level=rule.target_level) if rule.target_level else Q()
    active = ~Q(status=Rep.Status.DEPARTED)
    level = rule.target_level

    def live(rep: Rep) -> bool:
        return rep.status != Rep.Status.DEPARTED

    if targets:
        weights = {t.rep_id: t.weight for t in targets}
        ids = ctx.scope(("reps", tuple(sorted(weights))), Q(pk__in=list(weights)), lambda r: r.pk in weights)
        order = [t.rep_id for t in targets if t.rep_id in ids]
        return order, weights
    if rule.strategy == Strategy.DIRECT and rule.default_owner_id:
        owner_id = rule.default_owner_id
        return ctx.scope(("reps", (owner_id,)), Q(pk=owner_id), lambda r: r.pk == owner_id), {}
    if rule.target_team_id:
        team_id = rule.target_team_id
        ids = ctx.scope(
            ("team", team_id, level),
            Q(team_id=team_id) & level_q & active,
            lambda r: r.team_id == team_id and (not level or r.level == level) and live(r),
        )
        team = ctx.teams.get(team_id) if rule.strategy == Strategy.DIRECT else None
        if team is not None and team.lead_id:
            lead_user = team.lead_id
            lead_ids = ctx.scope(
                ("user", lead_user),
                Q(user_id=lead_user) & active,
                lambda r: r.user_id == lead_user and live(r),
            )
            ids = lead_ids + [pk for pk in ids if pk not in lead_ids]
        return ids, {}
    if level:
        return ctx.scope(("level", level), level_q & active, lambda r: r.level == level and live(r)), {}
    return ctx.scope(("all",), active, live), {}


def _candidate_row(cand: Candidate, skip, ctx: RoutingContext) -> dict:
    row = {"id": cand.pk, "name": ctx.name(cand.rep), "load": cand.load, "cap": cand.rep.max_open_leads}
    if cand.score is not None:
        row["score"] = cand.score
    if cand.sample is not None:
        row["sample"] = cand.sample
    if cand.extra:
        row.update(cand.extra)
    if skip is not None:
        row["skip"] = skip.code
        row["detail"] = skip.detail
    return row


def _pick(
    rule: AssignmentRule, lead: Lead, ctx: RoutingContext, entry: dict, *, cursor_key: str
) -> Rep | None:
    members = ctx.members(rule)
    options = rule.options if isinstance(rule.options, dict) else {}
    strategy = rule.strategy
    stats = {}
    if strategy == Strategy.TOP_PERFORMER and members:
        order = [m[0] for m in members]
        stats = ctx.performance(("perf", rule.pk, tuple(order)), order, options)
    rows, eligible = [], []
    skipped: dict[str, int] = {}
    profile = strategy == Strategy.PROFILE_MATCH
    scorer = profile_scorer(lead=lead, options=options) if profile else None
    performer = strategy == Strategy.TOP_PERFORMER
    weighted = strategy == Strategy.WEIGHTED
    db_loads, load_delta, exclude = ctx._db_loads, ctx.load_delta, ctx.exclude
    for pk, rep, skip, limited, cand in members:
        load = cand.load = db_loads.get(pk, 0) + load_delta.get(pk, 0)
        if profile:
            cand.score, matched = scorer(rep, ctx.skills(rep))
            cand.extra = {"skills": matched}
        elif performer:
            cand.score, cand.sample = stats.get(pk, (None, 0))
        if skip is None:
            if limited:
                cap, quota = rep.max_open_leads, rep.daily_assign_quota
                quota_used = ctx.assigned_24h(pk) if quota is not None else 0
                if (cap and load >= cap) or (quota is not None and quota_used >= quota):
                    skip = rep_skip_load(rep=rep, load=load, assigned_24h=quota_used)
            if skip is None and pk in exclude:
                skip = SKIP_EXCLUDED
            elif skip is None and weighted and cand.weight <= 0:
                skip = SKIP_WEIGHT_ZERO
        rows.append((cand, skip))
        if skip is None:
            eligible.append(cand)
        else:
            skipped[skip.code] = skipped.get(skip.code, 0) + 1
    entry["candidate_count"] = len(members)
    picked = None
    if eligible:
        state = ctx.cursor_state(cursor_key)
        picked = PICKERS[rule.strategy](eligible, state=state, lead=lead, options=options)
    shown = rows
    if len(rows) > EXPLAIN_CANDIDATES_MAX and not skipped and not profile:
        # The common case of the general one below (nobody skipped): the first half, and the
        # pick where it stands if it is not among them.
        half = EXPLAIN_CANDIDATES_MAX // 2
        shown = rows[:half]
        if picked is not None:
            at = next(i for i, cand in enumerate(eligible) if cand is picked)
            if at >= half:
                shown.append(rows[at])
        entry["more"] = len(rows) - len(shown)
    elif len(rows) > EXPLAIN_CANDIDATES_MAX:
        # Keep the pick, the strongest alternatives and the first skips; count the rest.
        head = [r for r in rows if r[1] is None][: EXPLAIN_CANDIDATES_MAX // 2]
        if picked is not None and all(r[0] is not picked for r in head):
            head.insert(0, next(r for r in rows if r[0] is picked))
        if rule.strategy == Strategy.PROFILE_MATCH:
            head = sorted((r for r in rows if r[1] is None), key=lambda r: -(r[0].score or 0))[:5]
            if picked is not None and all(r[0] is not picked for r in head):
                head.insert(0, next(r for r in rows if r[0] is picked))
        tail = [r for r in rows if r[1] is not None][: EXPLAIN_CANDIDATES_MAX - len(head)]
        kept = {id(r) for r in head + tail}
        shown = [r for r in rows if id(r) in kept]
        entry["more"] = len(rows) - len(shown)
    entry["candidates"] = [_candidate_row(c, s, ctx) for c, s in shown]
    entry["skipped"] = skipped
    if picked is None:
        return None
    entry["picked"] = picked.pk
    return picked.rep


def _result(decision: RoutingDecision, ctx: RoutingContext, why: str) -> RoutingDecision:
    owner, rule = decision.owner, decision.rule
    owner_id = owner.id if owner is not None else None
    decision.explanation.setdefault("result", {}).update(
        {
            "status": decision.status,
            "owner": owner_id,
            "owner_name": ctx.name(owner) if owner is not None else "",
            "pool_team": decision.pool_team.id if decision.pool_team else None,
            "pool_team_name": decision.pool_team.name if decision.pool_team else "",
            "pool_reason": decision.pool_reason,
            "strategy": decision.strategy,
            "why": why,
        }
    )
    if owner_id is not None:
        ctx.load_delta[owner_id] += 1
        ctx.quota_delta[owner_id] += 1
    if rule is not None and rule.id:
        ctx.hits[rule.id] += 1
    return decision


def _pool(decision: RoutingDecision, *, team: Team | None, reason: str) -> RoutingDecision:
    decision.status = Lead.Status.POOLED
    decision.pool_team = team
    decision.pool_reason = reason
    return decision


def _team(ctx: RoutingContext, team_id: int | None) -> Team | None:
    return ctx.teams.get(team_id) if team_id else None


def _apply_rule(rule: AssignmentRule, lead: Lead, ctx: RoutingContext, entry: dict) -> RoutingDecision | None:
    decision = RoutingDecision(lead=lead, status="", rule=rule, strategy=rule.strategy)
    strategy = rule.strategy
    if strategy == Strategy.NURTURE:
        decision.status = Lead.Status.NURTURING
        return decision
    if strategy == Strategy.POOL and not (rule.is_default and rule.default_owner_id):
        team = _team(ctx, rule.pool_team_id or rule.target_team_id)
        return _pool(decision, team=team, reason="default" if rule.is_default else "claim_mode")
    if strategy == Strategy.CASCADE:
        team = _team(ctx, rule.target_team_id) or ctx.first_tier_team()
        decision.cascade_step = 1
        return _pool(decision, team=team, reason="cascade")
    if strategy == Strategy.POOL:  # the default rule with a named default owner
        owner_id = rule.default_owner_id
        ctx.scope(("reps", (owner_id,)), Q(pk=owner_id), lambda r: r.pk == owner_id)
        rep = ctx.reps.get(owner_id)
        if rep is not None:
            cand = Candidate(rep=rep, load=ctx.load(owner_id))
            skip = rep_skip(rep=rep, load=cand.load, assigned_24h=ctx.assigned_24h(owner_id), now=ctx.now)
            entry["candidates"] = [_candidate_row(cand, skip, ctx)]
            entry["candidate_count"] = 1
            if skip is None:
                entry["picked"] = rep.pk
                decision.status = Lead.Status.ASSIGNED
                decision.owner = rep
                decision.strategy = "default_owner"
                return decision
        return None
    if strategy not in PICKING:
        entry["error"] = f"unknown strategy {strategy!r}"
        return None
    rep = _pick(rule, lead, ctx, entry, cursor_key=ctx.cursor_key(rule))
    if rep is None:
        return None
    decision.status = Lead.Status.ASSIGNED
    decision.owner = rep
    return decision


class _PassedOver:
    """Records the rules that did not decide. Consecutive rules passed over the same way (e.g.
    48 region rules failing on the lead's one region) share one entry {"n": 1, "to": 48, ...}."""

    __slots__ = ("tried", "entry", "key")

    def __init__(self, tried: list[dict]):
        self.tried = tried
        self.entry: dict | None = None
        self.key: tuple | None = None

    def add(self, first: int, key: tuple, last: int | None = None) -> None:
        """Rules first..last (one rule when `last` is None), passed over the way `key` says:
        _INACTIVE, _OFF_SCHEDULE or a CompiledRule.miss() result."""
        last = first if last is None else last
        if first > last:
            return
        entry = self.entry
        if entry is not None and key == self.key and entry.get("to", entry["n"]) == first - 1:
            entry["to"] = last
            return
        self.entry = {"n": first, **_passed_entry(key)}
        if last > first:
            self.entry["to"] = last
        self.key = key
        self.tried.append(self.entry)

    def interrupt(self) -> None:
        self.entry = self.key = None


_INACTIVE = ("inactive",)
_OFF_SCHEDULE = ("off_schedule",)


def _passed_entry(key: tuple) -> dict:
    if key[0] == "c":
        return {"outcome": "no_match", "c": key[1], "actual": key[2]}
    if key[0] == "any":
        return {"outcome": "no_match", "any": key[1]}
    return {"outcome": key[0]}


def lead_decide(*, lead: Lead, ctx: RoutingContext) -> RoutingDecision:
    """First matching rule decides; a rule whose target has nobody eligible falls through (or
    pools, if it says so); the default catches the rest; without one the lead goes to the public
    pool. Never raises on bad rule data: the explanation says what was wrong.

    Rules passed over are stored compactly (number, outcome, failing condition and the lead's
    value); their names and conditions are in the snapshot the explanation points to. A run of
    rules that each start with "<field> equals / is one of <text>" (49 region rules, say) is
    not tried one by one: an index from the lead's value to the rules it can match says which
    of them get past their first condition, and the others are recorded as one run."""
    explanation: dict[str, Any] = {**ctx.explanation_head(), "rules": []}
    if lead.owner_id and lead.status in open_lead_statuses():
        # The lead leaves its current owner, who therefore has one open lead fewer.
        ctx.load_delta[lead.owner_id] -= 1
    trial = _Trial(lead=lead, ctx=ctx, explanation=explanation)
    rules = ctx.compiled
    segments = rules_segments(rules)
    i, total = 0, len(rules)
    while i < total:
        segment = segments.get(i)
        if segment is not None:
            raw, shown = trial.value(segment.field)
            if type(raw) is str:
                key = ("c", 0, shown)
                position = i
                for hit in segment.positions.get(raw.strip().casefold(), ()):
                    trial.passed.add(rules[position].n, key, rules[hit - 1].n)
                    decision = trial.consider(rules[hit])
                    if decision is not None:
                        return decision
                    position = hit + 1
                trial.passed.add(rules[position].n, key, rules[segment.end - 1].n)
                i = segment.end
                continue
        decision = trial.consider(rules[i])
        if decision is not None:
            return decision
        i += 1
    decision = RoutingDecision(lead=lead, status="", explanation=explanation)
    explanation["fallback"] = "no_rule_set" if ctx.rule_set is None else "no_default"
    _pool(decision, team=None, reason="no_eligible_rep" if ctx.rules else "default")
    return _result(decision, ctx, "no rule decided")


class _Trial:
    """One lead going down the rule list: its field values (looked up once), the record of
    rules passed over, and what trying one rule does."""

    __slots__ = ("lead", "ctx", "explanation", "facts", "seen", "passed")

    def __init__(self, *, lead: Lead, ctx: RoutingContext, explanation: dict):
        self.lead = lead
        self.ctx = ctx
        self.explanation = explanation
        self.facts = ctx.facts
        self.seen: dict[str, tuple[Any, Any]] = {}
        self.passed = _PassedOver(explanation["rules"])

    def value(self, field_name: str) -> tuple[Any, Any]:
        pair = self.seen.get(field_name)
        if pair is None:
            actual = self.facts.value(self.lead, field_name)
            pair = self.seen[field_name] = (actual, value_jsonable(actual))
        return pair

    def consider(self, compiled: CompiledRule) -> RoutingDecision | None:
        """Try one rule: None when it passes the lead on to the next rule."""
        rule, lead, ctx, passed = compiled.rule, self.lead, self.ctx, self.passed
        if not compiled.usable:
            passed.add(compiled.n, _INACTIVE)
            return None
        if compiled.scheduled and compiled.n in ctx._off_schedule:
            passed.add(compiled.n, _OFF_SCHEDULE)
            return None
        if not rule.is_default:
            miss = compiled.miss(lead, self.facts, self.seen)
            if miss is not None:
                passed.add(compiled.n, miss)
                return None
        passed.interrupt()
        entry: dict[str, Any] = {
            "n": compiled.n,
            "id": rule.pk,
            "name": rule.name,
            "strategy": rule.strategy,
            "default": rule.is_default,
        }
        if not rule.is_default:
            entry["matched"] = compiled.matched(lead, self.facts)
        self.explanation["rules"].append(entry)
        try:
            decision = _apply_rule(rule, lead, ctx, entry)
        except (KeyError, TypeError, ValueError) as exc:  # bad rule data must not lose the lead
            entry["error"] = str(exc)[:200]
            decision = None
        if decision is not None:
            entry["outcome"] = "decided"
            decision.explanation = self.explanation
            why = STRATEGY_WORDS.get(decision.strategy, decision.strategy.replace("_", " "))
            return _result(decision, ctx, why)
        entry["outcome"] = "no_eligible"
        if rule.on_no_eligible == AssignmentRule.OnNoEligible.POOL or rule.is_default:
            decision = RoutingDecision(
                lead=lead, status="", rule=rule, strategy=rule.strategy, explanation=self.explanation
            )
            _pool(
                decision, team=_team(ctx, rule.pool_team_id or rule.target_team_id), reason="no_eligible_rep"
            )
            return _result(decision, ctx, "nobody eligible")
        return None
