"""Writes on leads. lead_transition / leads_transition_bulk are the narrow waist: the only code
that changes Lead.owner or Lead.status, always together with a LeadEvent in one transaction."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import DateField, JSONField
from django.utils import timezone

from crm.collection import gc_paused
from crm.jsoncodec import json_column_reader
from crm.models import Rep
from leads.instances import model_new
from leads.models import Activity, IdempotencyKey, ImportJob, Lead, LeadEvent
from leads.selectors import sources_by_id
from leads.writing import Writes, rows_insert, rows_update

# Bulk calls of this size and more run with the cyclic garbage collector paused (crm.collection).
BULK_GC_PAUSE_FROM = 100

# The clock columns the life-cycle layer owns (its hook sets them inside the waist's UPDATE).
CLOCK_FIELDS = (
    "first_contact_due",
    "first_contacted_at",
    "progress_due",
    "claim_due",
    "valid_until",
    "silent_until",
    "released_at",
    "reactivation_until",
    "cascade_due",
    "cascade_step",
    "warn_at",
)

# Fields that the waist may update together with owner/status (clocks and pool bookkeeping).
TRANSITION_EXTRA_FIELDS = frozenset(
    {
        "team",
        "pool_team",
        "previous_owner",
        "pool_reason",
        "stage",
        "assigned_at",
        *CLOCK_FIELDS,
        "pooled_at",
        "closed_at",
        "tier",
        "score",
        "score_breakdown",
    }
)


# Higher layers (lifecycle's clocks) register here to adjust a lead's columns inside the waist's
# own UPDATE, so leads never imports them. A hook is called as
#   hook(lead, from_status=..., from_owner_id=..., now=..., cache=dict, kind=event kind)
#   -> iterable of changed field names
# after owner/status are set and before the row is saved; `cache` lives for one (bulk) call.
TransitionHook = Callable[..., Iterable[str]]
_transition_hooks: list[TransitionHook] = []


def transition_hook_register(hook: TransitionHook) -> None:
    if hook not in _transition_hooks:
        _transition_hooks.append(hook)


def _run_hooks(
    lead: Lead, *, from_status: str, from_owner_id: int | None, now: datetime, cache: dict, kind: str
) -> list[str]:
    changed: list[str] = []
    for hook in _transition_hooks:
        changed.extend(
            hook(lead, from_status=from_status, from_owner_id=from_owner_id, now=now, cache=cache, kind=kind)
            or ()
        )
    return changed


class TransitionError(ValueError):
    """The requested change would break the state diagram (e.g. pooled with an owner)."""


_STATUSES = frozenset(Lead.Status.values)


def _check_state(status: str, owner: Rep | None) -> None:
    if status not in _STATUSES:
        raise TransitionError(f"unknown status {status!r}")
    if status in Lead.OWNED_STATUSES and owner is None:
        raise TransitionError(f"a {status} lead needs an owner")
    if status in Lead.UNOWNED_STATUSES and owner is not None:
        raise TransitionError(f"a {status} lead cannot have an owner")


def _fields_check(fields: dict[str, Any]) -> None:
    unknown = set(fields) - TRANSITION_EXTRA_FIELDS
    if unknown:
        raise TransitionError(f"lead_transition cannot set {sorted(unknown)}")


def _apply(lead: Lead, *, status: str, owner: Rep | None, now: datetime, fields: dict[str, Any]) -> list[str]:
    changed = ["status", "owner", "updated_at"]
    if owner is not None and owner.pk != lead.owner_id and lead.owner_id is not None:
        lead.previous_owner_id = lead.owner_id
        changed.append("previous_owner")
    if status == Lead.Status.POOLED and lead.owner_id is not None:
        lead.previous_owner_id = lead.owner_id
        changed.append("previous_owner")
    if status == Lead.Status.ASSIGNED and lead.status != Lead.Status.ASSIGNED:
        lead.assigned_at = now
        changed.append("assigned_at")
    if status == Lead.Status.POOLED and lead.status != Lead.Status.POOLED:
        lead.pooled_at = now
        changed.append("pooled_at")
    if status in Lead.TERMINAL_STATUSES and lead.status not in Lead.TERMINAL_STATUSES:
        lead.closed_at = now
        changed.append("closed_at")
    if status != Lead.Status.POOLED:
        lead.pool_team_id = None
        lead.pool_reason = ""
        changed += ["pool_team", "pool_reason"]
    if owner is not None and "team" not in fields:
        lead.team_id = owner.team_id
        changed.append("team")
    lead.status = status
    lead.owner = owner
    for name, value in fields.items():
        setattr(lead, name, value)
        changed.append(name)
    return list(dict.fromkeys(changed))


def _event(
    lead: Lead,
    *,
    from_owner_id: int | None,
    from_status: str,
    kind: str,
    actor,
    reason: str,
    rule,
    data: dict | None,
    now: datetime,
) -> LeadEvent:
    event = model_new(
        LeadEvent,
        lead_id=lead.pk,
        kind=kind,
        from_owner_id=from_owner_id,
        to_owner_id=lead.owner_id,
        from_status=from_status,
        to_status=lead.status,
        actor_id=actor.pk if actor is not None else None,
        rule_id=rule.pk if rule is not None else None,
        reason=reason[:500],
        data=data or {},
        at=now,
    )
    # The related objects are cached as the descriptors would cache them, without their
    # per-assignment checks (a tenth of a bulk transition's in-memory work).
    cached = event._state.fields_cache
    cached["lead"] = lead
    if actor is not None:
        cached["actor"] = actor
    if rule is not None:
        cached["rule"] = rule
    return event


def lead_transition(
    *,
    lead: Lead,
    status: str,
    owner: Rep | None,
    kind: str,
    reason: str,
    actor=None,
    rule=None,
    data: dict | None = None,
    now: datetime | None = None,
    expect_status: Sequence[str] | None = None,
    **fields: Any,
) -> LeadEvent | None:
    """Lock, check, change, record — together.

    `expect_status` makes the call a compare-and-set: when the locked row is no longer in one of
    those statuses (someone else acted first) nothing changes and None is returned. Extra keyword
    arguments set clock/pool columns in the same UPDATE (see TRANSITION_EXTRA_FIELDS).
    """
    now = now or timezone.now()
    _check_state(status, owner)
    _fields_check(fields)
    with transaction.atomic(savepoint=False):
        return _transition_one(
            lead,
            status=status,
            owner=owner,
            kind=kind,
            reason=reason,
            actor=actor,
            rule=rule,
            data=data,
            now=now,
            expect_status=expect_status,
            fields=fields,
        )


# The waist's write steps run inside atomic(savepoint=False): joined to the caller's
# transaction when there is one (a savepoint would cost two more round trips per call), their
# own otherwise. Everything that can be refused (bad state, unknown field) is checked before,
# so a refusal never poisons the caller's transaction; an error while writing does, as it must.


def _transition_one(
    lead: Lead,
    *,
    status: str,
    owner: Rep | None,
    kind: str,
    reason: str,
    actor,
    rule,
    data: dict | None,
    now: datetime,
    expect_status: Sequence[str] | None,
    fields: dict[str, Any],
) -> LeadEvent | None:
    locked = Lead.objects.select_for_update(no_key=True).get(pk=lead.pk)
    if expect_status is not None and locked.status not in expect_status:
        _refresh_from(lead, locked)
        return None
    from_owner_id, from_status = locked.owner_id, locked.status
    changed = _apply(locked, status=status, owner=owner, now=now, fields=fields)
    changed += _run_hooks(
        locked, from_status=from_status, from_owner_id=from_owner_id, now=now, cache={}, kind=kind
    )
    locked.save(update_fields=list(dict.fromkeys(changed)))
    event = _event(
        locked,
        from_owner_id=from_owner_id,
        from_status=from_status,
        kind=kind,
        actor=actor,
        reason=reason,
        rule=rule,
        data=data,
        now=now,
    )
    event.save()
    _refresh_from(lead, locked)
    return event


def _refresh_from(target: Lead, source: Lead) -> None:
    """Give the caller's instance the locked row's values (see _values_load) and the row's
    cached objects (the new owner)."""
    if target is source:
        return
    attnames = _lead_columns()[0]
    values = source.__dict__
    _values_load(target, {a: values[a] for a in attnames if a in values})
    target._state.fields_cache.update(source._state.fields_cache)


def _values_load(target: Lead, values: dict[str, Any]) -> None:
    """Set column values (by attribute name) on an instance through its __dict__ (a setattr
    per column was a tenth of a bulk transition); a foreign key whose value changes drops the
    instance's cached object, as its descriptor would."""
    current, cache = target.__dict__, target._state.fields_cache
    for attname, name in _lead_columns()[1]:
        if attname in values and current.get(attname) != values[attname]:
            cache.pop(name, None)
    current.update(values)


def _rows_lock(chunk: list[TransitionRequest]) -> dict[int, Lead]:
    """Lock the chunk's rows and read their current values: into the caller's own instances
    where it handed them over (that is their refresh, and saves building a second instance of
    60 columns per lead), into new instances for leads given by primary key."""
    attnames = _lead_columns()[0]
    given: dict[int, Lead] = {}
    for req in chunk:
        if isinstance(req.lead, Lead):
            given.setdefault(req.lead.pk, req.lead)
    ids = [_pk(req.lead) for req in chunk]
    db = router.db_for_write(Lead)
    pk_at = attnames.index(Lead._meta.pk.attname)
    locked: dict[int, Lead] = {}
    for values in _rows_locked_values(ids, using=db):
        pk = values[pk_at]
        row = given.get(pk)
        if row is None:
            row = locked[pk] = Lead.from_db(db, attnames, values)
            continue
        _values_load(row, dict(zip(attnames, values, strict=True)))
        locked[pk] = row
    return locked


def _rows_locked_values(ids: list[int], *, using: str) -> list[tuple]:
    """Every column of the leads `ids`, locked (FOR NO KEY UPDATE where the database has row
    locks), in primary-key order, converted as the ORM converts them. The statement is built once
    per connection: compiling the 60-column values_list query cost more than running it for a
    single lead."""
    connection = connections[using]
    plan = connection.__dict__.get("_lead_lock_plan")
    if plan is None:
        meta = Lead._meta
        qn = connection.ops.quote_name
        table = qn(meta.db_table)
        head = "SELECT " + ", ".join(f"{table}.{qn(f.column)}" for f in meta.concrete_fields)
        # PostgreSQL: the keys as one array (one statement text for any batch size, which
        # psycopg parses once and the server plans once; a placeholder per key had psycopg
        # split the SQL anew for every batch).
        array = connection.vendor == "postgresql"
        head += f" FROM {table} WHERE {table}.{qn(meta.pk.column)} " + ("= ANY(" if array else "IN (")
        tail = ("::bigint[]" if array else "") + f") ORDER BY {table}.{qn(meta.pk.column)} ASC"
        if connection.features.has_select_for_update:
            tail += " " + connection.ops.for_update_sql(
                no_key=connection.features.has_select_for_no_key_update
            )
        converters = []
        for i, f in enumerate(meta.concrete_fields):
            col = f.get_col(meta.db_table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if (
                isinstance(f, JSONField)
                and f.decoder is None
                and type(f).from_db_value is JSONField.from_db_value
            ):
                found = [json_column_reader(c) if c == f.from_db_value else c for c in found]
            if found:
                # Most clock columns are NULL, and a batch's timestamps repeat (one `now` per
                # transition): NULL is skipped where every converter keeps it, and a date or
                # datetime (immutable) is converted once per distinct stored value.
                keeps_null = all(convert(None, col, connection) is None for convert in found)
                memo = isinstance(f, DateField)
                converters.append((i, found, col, keeps_null, memo))
        plan = connection.__dict__["_lead_lock_plan"] = (head, tail, converters, array)
    head, tail, converters, array = plan
    if not ids:
        return []
    with connection.cursor() as cursor:
        if array:
            cursor.execute(f"{head}%s{tail}", [list(ids)])
        else:
            cursor.execute(head + ", ".join(["%s"] * len(ids)) + tail, ids)
        rows = cursor.fetchall()
    if not converters:
        return rows
    out = []
    seen: dict[tuple[int, Any], Any] = {}
    for row in rows:
        row = list(row)
        for i, found, col, keeps_null, memo in converters:
            value = row[i]
            if value is None and keeps_null:
                continue
            if memo:
                key = (i, value)
                if key in seen:
                    row[i] = seen[key]
                    continue
            raw = value
            for convert in found:
                value = convert(value, col, connection)
            row[i] = value
            if memo:
                seen[(i, raw)] = value
        out.append(tuple(row))
    return out


_COLUMNS: list = []


def _lead_columns() -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Lead's column attributes, and (attribute, cache name) of its foreign keys."""
    if not _COLUMNS:
        fields = Lead._meta.concrete_fields
        _COLUMNS.append(
            (
                tuple(f.attname for f in fields),
                tuple((f.attname, f.cache_name) for f in fields if f.is_relation),
            )
        )
    return _COLUMNS[0]


@dataclass
class TransitionRequest:
    """One lead's change inside leads_transition_bulk. `lead` may be a primary key when the
    caller holds no instance (set-wise recalls): the waist reads and locks the row itself."""

    lead: Lead | int
    status: str
    owner: Rep | None
    kind: str
    reason: str
    rule: Any = None
    data: dict | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def leads_transition_bulk(
    requests: Iterable[TransitionRequest],
    *,
    actor=None,
    now: datetime | None = None,
    expect_status: Sequence[str] | None = None,
    batch_size: int = 1000,
    writes: Writes | None = None,
) -> list[LeadEvent]:
    """The set-wise form of lead_transition: per batch one locking SELECT, a few UPDATEs (see
    _leads_write) and one bulk INSERT of events. Leads whose locked status is not in `expect_status` are skipped
    (and get no event), so callers can hand over rows selected before the lock. The caller's
    pending `writes` (leads.writing.Writes) go with the batch's own: on PostgreSQL a single
    lead's UPDATE, its event and the caller's few writes are one statement."""
    now = now or timezone.now()
    requests = list(requests)
    for req in requests:
        _check_state(req.status, req.owner)
        _fields_check(req.fields)
    with transaction.atomic(savepoint=False), gc_paused(len(requests) >= BULK_GC_PAUSE_FROM):
        return _transition_many(
            requests,
            actor=actor,
            now=now,
            expect_status=expect_status,
            batch_size=batch_size,
            writes=writes or Writes(router.db_for_write(Lead)),
        )


def _transition_many(
    requests: list[TransitionRequest],
    *,
    actor,
    now: datetime,
    expect_status: Sequence[str] | None,
    batch_size: int,
    writes: Writes,
) -> list[LeadEvent]:
    events: list[LeadEvent] = []
    hook_cache: dict = {}
    for start in range(0, len(requests), batch_size):
        chunk = requests[start : start + batch_size]
        if start:
            writes.flush()  # the previous batch's UPDATE before this batch's lock, in order
        locked = _rows_lock(chunk)
        updated: list[Lead] = []
        changed_fields: set[str] = {"updated_at"}
        for req in chunk:
            row = locked.get(_pk(req.lead))
            if row is None or (expect_status is not None and row.status not in expect_status):
                continue
            event, fields = _transition_in_memory(row, req, actor=actor, now=now, hook_cache=hook_cache)
            changed_fields.update(fields)
            updated.append(row)
            events.append(event)
            if isinstance(req.lead, Lead):
                _refresh_from(req.lead, row)  # nothing to do when it is the locked row itself
        if updated:
            _leads_write(updated, sorted(changed_fields), batch_size=batch_size, writes=writes)
    rows_insert(events, writes=writes)
    return events


def leads_create_bulk(
    requests: Iterable[TransitionRequest],
    *,
    actor=None,
    now: datetime | None = None,
    batch_size: int = 1000,
    writes: Writes | None = None,
) -> list[LeadEvent]:
    """Create leads straight in the state their first transition leads to: the waist for leads
    that do not exist yet (intake routes or nurtures a lead in the transaction that creates it).

    Each request carries an unsaved Lead (status "new", no owner) and its target, as for
    leads_transition_bulk; the same _apply and transition hooks run in memory (clocks start as
    if the lead had been stored as "new" and moved), then per batch one INSERT of the leads in
    their final state and one of the events — the same events a transition of the stored lead
    would write. Sets the primary key on each instance; returns the events in request order.
    The caller's pending `writes` go with the first INSERT (see leads_transition_bulk)."""
    now = now or timezone.now()
    requests = list(requests)
    for req in requests:
        if not isinstance(req.lead, Lead) or req.lead.pk is not None:
            raise TransitionError("leads_create_bulk takes unsaved Lead instances")
        _check_state(req.status, req.owner)
        _fields_check(req.fields)
    with transaction.atomic(savepoint=False), gc_paused(len(requests) >= BULK_GC_PAUSE_FROM):
        return _create_many(requests, actor=actor, now=now, batch_size=batch_size, writes=writes)


def _create_many(
    requests: list[TransitionRequest], *, actor, now: datetime, batch_size: int, writes: Writes | None
) -> list[LeadEvent]:
    events: list[LeadEvent] = []
    hook_cache: dict = {}
    for start in range(0, len(requests), batch_size):
        chunk = requests[start : start + batch_size]
        leads: list[Lead] = []
        chunk_events: list[LeadEvent] = []
        for req in chunk:
            lead = req.lead
            if lead.created_at is None:
                lead.created_at = now
            event, _fields = _transition_in_memory(lead, req, actor=actor, now=now, hook_cache=hook_cache)
            leads.append(lead)
            chunk_events.append(event)
        rows_insert(leads, keep=("updated_at",), writes=writes)
        for event in chunk_events:
            event.lead_id = event.lead.pk
        rows_insert(chunk_events)
        events += chunk_events
    return events


def _transition_in_memory(
    row: Lead, req: TransitionRequest, *, actor, now: datetime, hook_cache: dict
) -> tuple[LeadEvent, list[str]]:
    """One lead's change as both bulk forms make it before writing: new state, the clocks the
    hooks derive from it, and the unsaved event. Returns the event and the changed columns."""
    from_owner_id, from_status = row.owner_id, row.status
    fields = _apply(row, status=req.status, owner=req.owner, now=now, fields=req.fields)
    fields += _run_hooks(
        row, from_status=from_status, from_owner_id=from_owner_id, now=now, cache=hook_cache, kind=req.kind
    )
    row.updated_at = now
    event = _event(
        row,
        from_owner_id=from_owner_id,
        from_status=from_status,
        kind=req.kind,
        actor=actor,
        reason=req.reason,
        rule=req.rule,
        data=req.data,
        now=now,
    )
    return event, fields


def _pk(lead: Lead | int) -> int:
    return lead.pk if isinstance(lead, Lead) else lead


def _leads_write(
    rows: list[Lead], fields: list[str], *, batch_size: int, writes: Writes | None = None
) -> None:
    """Write the union of changed fields for every row (each row carries its own current value
    for fields it did not change, so the union is safe), one set-wise UPDATE per batch: shared
    values set once, the few varying ones (owner, team) per row (see leads.writing); left in
    `writes` to go with the events' INSERT where the database allows."""
    for start in range(0, len(rows), batch_size):
        rows_update(rows[start : start + batch_size], fields, writes=writes)


def lead_event_record(
    *,
    lead: Lead,
    kind: str,
    reason: str = "",
    actor=None,
    rule=None,
    data: dict | None = None,
    now: datetime | None = None,
) -> LeadEvent:
    """An audit entry that changes neither owner nor status (merge, stage move, extension...)."""
    return LeadEvent.objects.create(
        lead=lead,
        kind=kind,
        from_owner_id=lead.owner_id,
        to_owner_id=lead.owner_id,
        actor=actor,
        rule=rule,
        reason=reason[:500],
        data=data or {},
        at=now or timezone.now(),
    )


def lead_events_record_bulk(
    events: Iterable[dict], *, actor=None, now: datetime | None = None
) -> list[LeadEvent]:
    """The set-wise form of lead_event_record: one INSERT for a batch of audit entries.

    Each item is the keyword arguments lead_event_record takes (lead, kind, reason, rule, data).
    """
    now = now or timezone.now()
    rows = [
        LeadEvent(
            lead=item["lead"],
            kind=item["kind"],
            from_owner_id=item["lead"].owner_id,
            to_owner_id=item["lead"].owner_id,
            actor=item.get("actor", actor),
            rule=item.get("rule"),
            reason=item.get("reason", "")[:500],
            data=item.get("data") or {},
            at=item.get("now") or now,
        )
        for item in events
    ]
    return rows_insert(rows)


SCORE_FIELDS = ["score", "score_breakdown", "tier"]


@transaction.atomic
def activity_record(
    *,
    lead: Lead,
    kind: str,
    actor: str,
    rep: Rep | None = None,
    source=None,
    occurred_at: datetime | None = None,
    note: str = "",
    outcome: str = "",
    caused_by_rep: bool = False,
    data: dict | None = None,
    now: datetime | None = None,
) -> Activity:
    """Store what happened and re-score the lead, because behaviour moves the score.

    Score, breakdown and tier are not ownership, so they are saved here directly rather than
    through the waist. The returned activity carries `tier_change = (old_tier, new_tier)` so the
    caller (lifecycle.services.activity_log) can push a lead that crossed into a routed band.
    """
    from leads.scoring import lead_score

    now = now or timezone.now()
    occurred_at = occurred_at or now
    activity = Activity.objects.create(
        lead=lead,
        kind=kind,
        actor=actor,
        rep=rep,
        source=source,
        occurred_at=occurred_at,
        note=note,
        outcome=outcome,
        caused_by_rep=caused_by_rep,
        data=data or {},
    )
    changed: list[str] = []
    if lead.last_activity_at is None or occurred_at > lead.last_activity_at:
        lead.last_activity_at = occurred_at
        changed.append("last_activity_at")
    if actor == Activity.Actor.REP and (
        lead.last_rep_activity_at is None or occurred_at > lead.last_rep_activity_at
    ):
        lead.last_rep_activity_at = occurred_at
        changed.append("last_rep_activity_at")
    old_tier = lead.tier
    lead.score, lead.tier, lead.score_breakdown = lead_score(lead, now=now)
    lead.save(update_fields=[*changed, *SCORE_FIELDS])
    activity.tier_change = (old_tier, lead.tier)
    return activity


# How long a retried request is recognised. A client retries within minutes; a key kept for
# ever would grow the table with every keyed request of every channel (a day, as Stripe keeps).
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
IDEMPOTENCY_EXPIRE_BATCH = 10_000


def idempotency_keys_expire(*, now: datetime | None = None) -> int:
    """Forget the keys older than IDEMPOTENCY_KEY_TTL, in short batches (a first run over a long
    backlog must not hold one huge delete). A request retried after that is not replayed; it is
    deduplicated like any other intake, so it still creates no second lead."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEY_TTL
    removed = 0
    while True:
        ids = list(
            IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[
                :IDEMPOTENCY_EXPIRE_BATCH
            ]
        )
        if not ids:
            return removed
        removed += IdempotencyKey.objects.filter(pk__in=ids).delete()[0]


def import_files_expire(*, now: datetime | None = None) -> int:
    """Delete the uploaded file and the rejects report of imports that finished more than
    settings.IMPORT_FILE_RETENTION_DAYS ago: they are copies of customers' contact data, which
    the leads themselves now hold. The job row keeps its counts and error for the record.

    Each job's fields are cleared under its row lock and the files are deleted once that has
    committed, so a rolled-back run never leaves a job pointing at a deleted file (a crash
    between the two leaves unreferenced files: import_files_orphaned_delete takes them). Returns
    the number of jobs cleared."""
    cutoff = _import_files_cutoff(now)
    finished = [ImportJob.Status.DONE, ImportJob.Status.FAILED]
    expired = (
        ImportJob.objects.filter(status__in=finished, finished_at__lt=cutoff)
        .exclude(file="", report="")
        .values_list("pk", flat=True)
    )
    cleared = 0
    for pk in list(expired):
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().filter(pk=pk).first()
            if job is None or not (job.file or job.report):
                continue
            files = [(f.storage, f.name) for f in (job.file, job.report) if f]
            job.file = job.report = ""
            job.save(update_fields=["file", "report"])
            transaction.on_commit(lambda files=files: _files_delete(files))
            cleared += 1
    return cleared


def _import_files_cutoff(now: datetime | None) -> datetime:
    return (now or timezone.now()) - timedelta(days=settings.IMPORT_FILE_RETENTION_DAYS)


def _files_delete(files: list) -> None:
    for storage, name in files:
        storage.delete(name)  # a file already gone is fine (FileSystemStorage ignores it)


def import_files_orphaned_delete(*, now: datetime | None = None) -> int:
    """Delete files in the import folders that no job refers to and that are older than the
    retention: what a crash between import_files_expire's commit and its deletes leaves, or a
    job row deleted in the admin. A file just uploaded is new, so the job being created with it
    is never raced. Returns the number of files deleted."""
    cutoff = _import_files_cutoff(now)
    referenced = set(ImportJob.objects.values_list("file", flat=True))
    referenced |= set(ImportJob.objects.values_list("report", flat=True))
    orphans = []
    for field_name in ("file", "report"):
        field = ImportJob._meta.get_field(field_name)
        storage, folder = field.storage, field.upload_to.rstrip("/")
        try:
            _, names = storage.listdir(folder)
        except FileNotFoundError:
            continue
        for name in names:
            path = f"{folder}/{name}"
            if path not in referenced and storage.get_modified_time(path) < cutoff:
                orphans.append((storage, path))
    # After commit, as for the jobs: inside a transaction that rolls back, a job cleared by
    # import_files_expire refers to its files again.
    if orphans:
        transaction.on_commit(lambda: _files_delete(orphans))
    return len(orphans)


def source_token_rotate(*, source) -> str:
    """Issue a new API token for the source and return it; only its SHA-256 is stored, so this
    return value is the one time anybody sees it. The old token stops working at once."""
    token = "lf_" + secrets.token_urlsafe(32)
    source.token_hash = hashlib.sha256(token.encode()).hexdigest()
    source.token_prefix = token[:12]
    source.save(update_fields=["token_hash", "token_prefix"])
    return token


def source_by_token(*, token: str):
    """The active source whose token this is, or None; compared in constant time."""
    if not token:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    return next(
        (
            s
            for s in sources_by_id().values()
            if s.active and s.token_hash and hmac.compare_digest(s.token_hash, digest)
        ),
        None,
    )
