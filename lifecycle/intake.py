"""The intake pipeline every channel uses: normalize -> validate -> dedup/merge -> score -> decide.

One code path serves a single API request and a 100k-row import: `lead_intake` is a batch of
one. A batch is one transaction and costs a constant number of queries (lookups preloaded, rows
written with bulk statements), so a file's speed does not depend on how often each step runs.
A new lead is decided in memory and INSERTed once, already in the state it leaves intake in
(routed by assignment, or nurturing when its score band says so), through the waist's
leads_create_bulk: its event says it went from "new" to that state.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from assignment.routing import routing_mutex_acquire
from crm.catalogs import catalogs_pinned
from crm.pipelining import pipelined_map
from leads.dedup import (
    DEDUP_LOOKUP_FIELDS,
    MERGEABLE_FIELDS,
    DedupIndex,
    dedup_conflict_find,
    dedup_index_load,
    lead_merge_fields,
)
from leads.forms import LeadIntakeForm, form_errors, intake_row_split
from leads.importing import LeadTable, rejects_write, table_open_path
from leads.instances import model_new
from leads.models import Activity, Lead, LeadType, ScoreBand, Source
from leads.scoring import ScoringContext, lead_score, scoring_context_load
from leads.selectors import lead_types_by_id, sources_by_id
from leads.services import (
    SCORE_FIELDS,
    TransitionRequest,
    lead_event_record,
    lead_events_record_bulk,
    leads_create_bulk,
    leads_transition_bulk,
)
from leads.writing import rows_insert, rows_update
from lifecycle.services import activity_effects_apply

NURTURE_ACTIONS = (ScoreBand.Action.NURTURE, ScoreBand.Action.LONG_NURTURE)

# Rows per transaction of a bulk intake. Each batch pays a fixed part (its reads, the routing
# context, its commit): 20,000 rows took 3.9 s at 1,000 and 3.5 s at 2,000 on SQLite, 5.2 s and
# 4.8 s on PostgreSQL (measured; 5,000 gained another 0.2-0.5 s for 40 MB more). A batch holds
# the routing mutex until it commits, so an API intake arriving mid-import waits for up to one
# batch (~0.5 s at 2,000): the reason not to go bigger.
INTAKE_BATCH_SIZE = 2000


@dataclass
class IntakeResult:
    lead: Lead | None
    created: bool = False
    merged: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)
    decision: Any = None

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class IntakeReport:
    total: int = 0
    imported: int = 0
    merged: int = 0
    rejected: int = 0
    # (row number, the row as it came in, why it was rejected)
    rejects: list[tuple[int, dict, str]] = field(default_factory=list)

    def add(self, other: IntakeReport) -> None:
        self.total += other.total
        self.imported += other.imported
        self.merged += other.merged
        self.rejected += other.rejected
        self.rejects.extend(other.rejects)


class IntakeBatchError(RuntimeError):
    """A batch failed and was rolled back whole; `report` counts only the batches committed."""

    def __init__(self, message: str, *, report: IntakeReport, first_row: int):
        super().__init__(message)
        self.report = report
        self.first_row = first_row


@dataclass
class IntakeContext:
    """Everything a batch looks up, read once."""

    source: Source
    sources: dict[str, Source]
    lead_types: dict[str, LeadType]
    scoring: ScoringContext


def intake_context_load(*, source: Source) -> IntakeContext:
    return IntakeContext(
        source=source,
        sources=_sources_by_code_or_name(),
        lead_types={t.code: t for t in lead_types_by_id().values()},
        scoring=scoring_context_load(),
    )


def _sources_by_code_or_name() -> dict[str, Source]:
    sources: dict[str, Source] = {}
    for s in sources_by_id().values():
        if s.active:
            sources[s.code] = s
            sources.setdefault(s.name, s)
    return sources


def reject_reason(errors: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())


def lead_intake(*, data: dict, source: Source, actor=None, now: datetime | None = None) -> IntakeResult:
    """One lead from any channel (API, admin, a rep's business card): a batch of one."""
    now = now or timezone.now()
    with catalogs_pinned():
        context = intake_context_load(source=source)
        validated = _batch_validate([(1, data)], context=context, now=now)
        with transaction.atomic():
            results = _batch_intake(validated, context=context, now=now, actor=actor, single=True)
    return results[0]


class LeadContactTaken(ValueError):
    """A corrected phone, e-mail or external id already belongs to another lead."""

    def __init__(self, field_name: str, other: Lead) -> None:
        super().__init__(f"{field_name} already belongs to lead #{other.pk}")
        self.field_name = field_name
        self.other = other


# What a manager may correct on a stored lead: its contact and profile, as intake fills them.
# Owner, status, team and the clocks change only through the waist and the policies; the lead
# type decides the policy, stages and clocks, so it is not a detail either.
DETAIL_FIELDS = (*(f for f in MERGEABLE_FIELDS if f != "lead_type"), "is_referral")


def lead_details_update(
    *,
    lead: Lead,
    values: Mapping[str, Any],
    extra: dict | None = None,
    actor=None,
    now: datetime | None = None,
) -> list[str]:
    """A manager's correction of a lead (the admin's change page), under intake's rules.

    `values` is a valid LeadIntakeForm's cleaned data, so the phone and e-mail are normalized
    as every channel normalizes them and the dedup keys stay in step with what is shown: a
    phone edited without its normalized key would leave dedup matching the old number and
    letting the new one in twice. A key that is another lead's is refused (LeadContactTaken):
    two leads for one contact is what dedup prevents, and folding two leads together is not an
    edit. The lead is re-scored (the breakdown must match its fields) and the change is
    audited. Returns the changed fields."""
    now = now or timezone.now()
    new = dict(values)
    new["email_normalized"] = new.get("email", "")
    city = new.pop("city", "")
    with transaction.atomic():
        _keys_lock({k for k in (new.get("phone_normalized"), new.get("email")) if k})
        row = (
            Lead.objects.select_for_update(no_key=True, of=("self",))
            .select_related("source", "lead_type")
            .get(pk=lead.pk)
        )
        conflict = dedup_conflict_find(
            lead=row,
            phone=new.get("phone_normalized", ""),
            email=new["email_normalized"],
            external_id=new.get("external_id", ""),
        )
        if conflict is not None:
            raise LeadContactTaken(*conflict)
        changed = [name for name in DETAIL_FIELDS if name in new and getattr(row, name) != new[name]]
        for name in changed:
            setattr(row, name, new[name])
        merged_extra = dict(row.extra or {}) if extra is None else dict(extra)
        if city:
            merged_extra["city"] = city
        if merged_extra != (row.extra or {}):
            row.extra = merged_extra
            changed.append("extra")
        if not changed:
            return []
        row.score, row.tier, row.score_breakdown = lead_score(row, now=now)
        row.updated_at = now
        row.save(update_fields=[*changed, *SCORE_FIELDS, "updated_at"])
        lead_event_record(
            lead=row,
            kind=DETAILS_EDITED_EVENT,
            actor=actor,
            reason=", ".join(changed),
            data={"fields": changed},
            now=now,
        )
    lead.refresh_from_db()
    return changed


DETAILS_EDITED_EVENT = "details_edited"


def intake_bulk(
    rows: Iterable[dict],
    *,
    source: Source,
    now: datetime | None = None,
    actor=None,
    batch_size: int = INTAKE_BATCH_SIZE,
    progress: bool = False,
    total: int | None = None,
    dry_run: bool = False,
    on_batch: Callable[[IntakeReport], None] | None = None,
    outcomes: dict[int, str] | None = None,
    prepare_ahead: bool = False,
) -> IntakeReport:
    """Many rows, streamed in batches; each batch commits whole or not at all.

    A row may carry "_row" (its number in the file) and "_original" (the row as read, for the
    rejects report) and "_error" (a reason the reader already found). With `dry_run` everything
    runs in one transaction that is rolled back, so duplicates across batches still count as
    merges in the preview. Pass a dict as `outcomes` to learn each row's fate by row number.

    With `prepare_ahead` (big files), a forked process reads and validates the next batches
    while this one writes the current batch (crm.pipelining); the outcome is the same.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")  # 0 would read no row
    now = now or timezone.now()
    context = intake_context_load(source=source)
    report = IntakeReport()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="rows", desc=f"intake {source.code}", mininterval=0.5)

    statistics = _PlannerStatistics()
    relink = _Relink(context)

    def validate(batch: list[tuple[int, dict]]) -> tuple[list[IntakeResult], list[_Candidate]]:
        return _batch_validate(batch, context=context, now=now)

    def run() -> None:
        prepared = pipelined_map(_batched(rows, batch_size), validate, fork=prepare_ahead)
        # closing(): a batch that fails ends the reader process now, not when the generator is
        # garbage-collected (the exception's traceback keeps it alive).
        with closing(prepared):
            for batch, validated in prepared:
                try:
                    if isinstance(validated, Exception):
                        raise validated
                    relink(validated[1])
                    with transaction.atomic():
                        results = _batch_intake(
                            validated, context=context, now=now, actor=actor, single=False
                        )
                except Exception as exc:
                    raise IntakeBatchError(
                        f"batch starting at row {batch[0][0]} failed and was rolled back: {exc}",
                        report=report,
                        first_row=batch[0][0],
                    ) from exc
                batch_report = _batch_account(batch, results, outcomes=outcomes)
                report.add(batch_report)
                statistics.note_added(batch_report.imported)
                if bar is not None:
                    bar.update(batch_report.total)
                if on_batch is not None:
                    on_batch(report)

    try:
        if dry_run:
            with transaction.atomic():
                run()
                transaction.set_rollback(True)
        else:
            run()
    finally:
        if bar is not None:
            bar.close()
    return report


def _batch_account(
    batch: list[tuple[int, dict]], results: list[IntakeResult], *, outcomes: dict[int, str] | None
) -> IntakeReport:
    """Every row of a committed batch counted once: imported, merged or rejected (with why)."""
    batch_report = IntakeReport()
    for (row_number, row), result in zip(batch, results, strict=True):
        batch_report.total += 1
        if result.errors:
            batch_report.rejected += 1
            batch_report.rejects.append((row_number, row.get("_original", row), reject_reason(result.errors)))
            outcome = "rejected"
        elif result.created:
            batch_report.imported += 1
            outcome = "imported"
        else:
            batch_report.merged += 1
            outcome = "merged"
        if outcomes is not None:
            outcomes[row_number] = outcome
    return batch_report


class _PlannerStatistics:
    """A bulk import can grow the lead table tenfold within minutes, faster than autovacuum's
    ANALYZE follows. Planning with the small table's statistics, PostgreSQL turns each batch's
    dedup lookup into a full scan (measured: 400 ms instead of 10 ms per batch at 800k leads).
    So once the rows added since the last look exceed a quarter of what the statistics
    believe, refresh them: the table's size and the lookup's columns only (ANALYZE with a column
    list samples the same pages but builds 4 columns' statistics instead of every column's and
    expression's: 150 ms instead of a second at 40k leads, measured)."""

    MIN_ADDED = 10_000

    def __init__(self) -> None:
        self.added = 0
        self.believed: int | None = None

    def note_added(self, count: int) -> None:
        if connection.vendor != "postgresql" or count <= 0:
            return
        self.added += count
        if self.believed is None:
            self.believed = self._reltuples()
        if self.added > max(self.MIN_ADDED, self.believed // 4):
            quote = connection.ops.quote_name
            columns = ", ".join(quote(Lead._meta.get_field(name).column) for name in DEDUP_LOOKUP_FIELDS)
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {quote(Lead._meta.db_table)} ({columns})")
            self.added = 0
            self.believed = self._reltuples()

    @staticmethod
    def _reltuples() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Lead._meta.db_table])
            row = cursor.fetchone()
        return max(int(row[0]), 0) if row else 0


def _batched(rows: Iterable[dict], size: int) -> Iterator[list[tuple[int, dict]]]:
    iterator = iter(rows)
    number = 0
    while True:
        chunk = list(islice(iterator, size))
        if not chunk:
            return
        batch = []
        for row in chunk:
            number += 1
            batch.append((row.get("_row", number), row))
        yield batch


@dataclass
class _Candidate:
    index: int
    row_number: int
    source: Source
    values: dict
    extra: dict
    lead: Lead | None = None
    created: bool = False
    changed: list[str] = field(default_factory=list)
    # (score, tier, breakdown) of the row as a lead of its own: what a new lead scores unless
    # a later row of its batch merges more data into it
    scored: tuple | None = None


INTAKE_LOCK_BUCKETS = 32
INTAKE_LOCK_BASE = 0x1EAD_0000  # keeps our advisory lock ids apart from anyone else's


def _keys_lock(keys: set[str]) -> None:
    """Serialize concurrent intakes of the same contact on PostgreSQL (transaction-scoped
    advisory locks taken in one sorted order, so two batches cannot deadlock). SQLite needs
    nothing: its IMMEDIATE transactions already admit one writer at a time."""
    if connection.vendor != "postgresql" or not keys:
        return
    # Keys hash into a fixed number of buckets: a 1,000-row batch must not take thousands of
    # locks (PostgreSQL's shared lock table is max_locks_per_transaction × connections).
    ids = sorted({INTAKE_LOCK_BASE + zlib.crc32(key.encode()) % INTAKE_LOCK_BUCKETS for key in keys})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT k FROM unnest(%s::bigint[]) AS k ORDER BY k) AS s",
            [ids],
        )


def _batch_validate(
    batch: list[tuple[int, dict]], *, context: IntakeContext, now: datetime
) -> tuple[list[IntakeResult], list[_Candidate]]:
    """Step 1, normalize + validate + score as a new lead: no queries (lookups are in the
    context), so it runs before the batch's transaction, or in another process ahead of it, and
    the write lock is held only for the writing steps. A new lead has no activities, so its
    score depends on its row alone."""
    scoring = context.scoring
    results: list[IntakeResult] = [IntakeResult(lead=None) for _ in batch]
    candidates: list[_Candidate] = []
    form: LeadIntakeForm | None = None  # one prepared form validates the whole batch
    for i, (row_number, row) in enumerate(batch):
        if row.get("_error"):
            results[i].errors = {"row": [str(row["_error"])]}
            continue
        data, extra, errors = intake_row_split(row)
        if form is None:
            form = LeadIntakeForm(data, lead_types=context.lead_types, sources=context.sources)
        else:
            form.rebind(data)
        if not form.is_valid() or errors:
            results[i].errors = {**form_errors(form), **errors}
            continue
        values = dict(form.cleaned_data)
        city = values.pop("city", "")
        if city and "city" not in extra:
            extra["city"] = city
        source = values.pop("source", None) or context.source
        values["email_normalized"] = values["email"]
        scored = lead_score(
            # the lead step 2 creates for it, field for field (a rule may read any field)
            model_new(Lead, **values, extra=extra, source=source, status=Lead.Status.NEW, created_at=now),
            activities=(),
            rules=scoring.rules,
            bands=scoring.bands,
            now=now,
            memo=scoring.memo,
        )
        candidates.append(
            _Candidate(
                index=i, row_number=row_number, source=source, values=values, extra=extra, scored=scored
            )
        )
    return results, candidates


class _Relink:
    """Validated in another process, a candidate holds copies of the context's sources and
    lead types: point it back at this process's own, as the sequential path has them (the
    lookups are built once per import, not per batch)."""

    def __init__(self, context: IntakeContext):
        self.sources = {s.pk: s for s in context.sources.values()}
        self.sources[context.source.pk] = context.source
        self.lead_types = {t.pk: t for t in context.lead_types.values()}

    def __call__(self, candidates: list[_Candidate]) -> None:
        sources, lead_types = self.sources, self.lead_types
        for candidate in candidates:
            source = candidate.source
            if source is not None and sources.get(source.pk) is not source:
                candidate.source = sources.get(source.pk, source)
            lead_type = candidate.values.get("lead_type")
            if lead_type is not None and lead_types.get(lead_type.pk) is not lead_type:
                candidate.values["lead_type"] = lead_types.get(lead_type.pk, lead_type)


def _batch_intake(
    validated: tuple[list[IntakeResult], list[_Candidate]],
    *,
    context: IntakeContext,
    now: datetime,
    actor,
    single: bool,
) -> list[IntakeResult]:
    results, candidates = validated

    # 2. dedup against stored leads (one query) and earlier rows of this batch
    keys = [
        (c.values["phone_normalized"], c.values["email"], c.source.pk, c.values["external_id"])
        for c in candidates
    ]
    _keys_lock({k for phone, email, _, _ in keys for k in (phone, email) if k})
    index: DedupIndex = dedup_index_load(keys) if keys else DedupIndex()
    new_leads: list[Lead] = []
    scored: dict[int, tuple] = {}  # id(new lead) -> its row's score, while no merge changed it
    merged_existing: dict[int, Lead] = {}
    merges: list[_Candidate] = []
    for candidate in candidates:
        values = candidate.values
        match = index.find(
            phone=values["phone_normalized"],
            email=values["email_normalized"],
            source_id=candidate.source.pk,
            external_id=values["external_id"],
        )
        if match is None:
            lead = model_new(
                Lead,
                **values,
                extra=candidate.extra,
                source=candidate.source,
                status=Lead.Status.NEW,
                created_at=now,
            )
            new_leads.append(lead)
            candidate.created = True
            scored[id(lead)] = candidate.scored
        else:
            lead = match
            candidate.changed = lead_merge_fields(lead, values, candidate.extra)
            if candidate.changed:
                scored.pop(id(lead), None)
            merges.append(candidate)
            if lead.pk is not None:
                merged_existing[lead.pk] = lead
        candidate.lead = lead
        index.add(lead)

    # 3. score (behaviour of merged leads preloaded in one query)
    scoring = context.scoring
    activities = _activities_preload(list(merged_existing), scoring=scoring)
    old_tiers = {pk: lead.tier for pk, lead in merged_existing.items()}
    for lead in new_leads:
        lead.score, lead.tier, lead.score_breakdown = scored.get(id(lead)) or lead_score(
            lead, activities=[], rules=scoring.rules, bands=scoring.bands, now=now, memo=scoring.memo
        )
    for pk, lead in merged_existing.items():
        lead.score, lead.tier, lead.score_breakdown = lead_score(
            lead,
            activities=activities.get(pk, []),
            rules=scoring.rules,
            bands=scoring.bands,
            now=now,
            memo=scoring.memo,
        )

    # 4. write merged stored leads, their "came in again" activities and merge events (new leads
    # are written by step 5, in their final state; merges into them are recorded after that)
    for candidate in merges:
        if candidate.lead.last_activity_at is None or candidate.lead.last_activity_at < now:
            candidate.lead.last_activity_at = now
    stored_merges = [c for c in merges if c.lead.pk is not None]
    batch_merges = [c for c in merges if c.lead.pk is None]
    if merged_existing:
        # Updating them locks the merged leads' rows, and this batch routes later (lock order:
        # the routing mutex before lead rows, or a re-route waiting for one of them deadlocks).
        routing_mutex_acquire()
        fields = {"score", "score_breakdown", "tier", "last_activity_at", "updated_at"}
        for candidate in merges:
            fields.update(candidate.changed)
        for lead in merged_existing.values():
            lead.updated_at = now
        rows_update(list(merged_existing.values()), sorted(fields))
    if stored_merges:
        came_again = _merges_record(stored_merges, now=now, actor=actor)
        # A contact who comes in again while silent (activation) or just released (directed
        # reactivation) gets the life-cycle effects of any customer activity; only those few.
        for activity in came_again:
            lead = activity.lead
            if lead.status == Lead.Status.SILENT or (
                lead.status == Lead.Status.POOLED
                and lead.reactivation_until
                and lead.reactivation_until >= now
            ):
                activity_effects_apply(lead=lead, activity=activity, now=now)
        # A nurtured lead whose new data lifts it into a routed band goes to routing now.
        for pk, lead in merged_existing.items():
            if (
                lead.status == Lead.Status.NURTURING
                and old_tiers[pk] != lead.tier
                and scoring.action_for(lead.tier) not in NURTURE_ACTIONS
            ):
                new_leads.append(lead)

    # 5. decide: nurture by band, route the rest (creates the new leads)
    decisions = _leads_decide(new_leads, scoring=scoring, now=now, actor=actor, single=single)
    if batch_merges:
        _merges_record(batch_merges, now=now, actor=actor)

    for candidate in candidates:
        result = results[candidate.index]
        result.lead = candidate.lead
        result.created = candidate.created
        result.merged = not candidate.created
        result.decision = "merged" if not candidate.created else decisions.get(id(candidate.lead))
    return results


def _merges_record(merges: list[_Candidate], *, now: datetime, actor) -> list[Activity]:
    """The "came in again" activity and the "merged" event of each merged row."""
    # Through the lean writer, as the leads and events are (what bulk_create would store).
    came_again = rows_insert(
        [
            model_new(
                Activity,
                lead=c.lead,
                kind=Activity.Kind.CAME_AGAIN,
                actor=Activity.Actor.CUSTOMER,
                source=c.source,
                occurred_at=now,
                note=f"came in again via {c.source.name}",
                data={"row": c.row_number, "filled": c.changed},
            )
            for c in merges
        ]
    )
    lead_events_record_bulk(
        [
            {
                "lead": c.lead,
                "kind": "merged",
                "reason": f"came in again via {c.source.code} (row {c.row_number}); filled: "
                + (", ".join(c.changed) or "nothing new"),
                "data": {"row": c.row_number, "filled": c.changed, "source": c.source.code},
            }
            for c in merges
        ],
        actor=actor,
        now=now,
    )
    return came_again


def _activities_preload(lead_ids: list[int], *, scoring: ScoringContext) -> dict[int, list[Activity]]:
    kinds = scoring.behavioural_kinds
    if not lead_ids or not kinds:
        return {}
    by_lead: dict[int, list[Activity]] = {}
    for activity in Activity.objects.filter(lead_id__in=lead_ids, kind__in=kinds).only(
        "lead_id", "kind", "occurred_at"
    ):
        by_lead.setdefault(activity.lead_id, []).append(activity)
    return by_lead


def _leads_decide(
    leads: list[Lead], *, scoring: ScoringContext, now: datetime, actor, single: bool
) -> dict[int, Any]:
    """Nurture the leads whose band says so; route the others through assignment."""
    from assignment.services import lead_route, leads_route_bulk

    decisions: dict[int, Any] = {}
    nurture: list[TransitionRequest] = []
    route: list[Lead] = []
    labels: dict[str, str] = {}  # a translated label costs a gettext per use
    for lead in leads:
        action = scoring.action_for(lead.tier)
        if action in NURTURE_ACTIONS and lead.status == Lead.Status.NEW:
            nurture.append(
                TransitionRequest(
                    lead=lead,
                    status=Lead.Status.NURTURING,
                    owner=None,
                    kind="intake",
                    reason=f"score {lead.score} is in the {lead.tier} band, which is set to "
                    f"{_label(labels, action)}: held in nurturing until the score rises",
                    data={"score": lead.score, "tier": lead.tier, "action": action},
                )
            )
            decisions[id(lead)] = action
        elif action not in NURTURE_ACTIONS:
            route.append(lead)
    if nurture:
        _transitions_write(nurture, actor=actor, now=now)
    if route:
        if single:
            outcome = [lead_route(lead=route[0], trigger="new", now=now)]
        else:
            outcome = leads_route_bulk(route, trigger="new", now=now)
        if isinstance(outcome, Mapping):
            for lead in route:
                decisions[id(lead)] = outcome.get(lead.pk)
        elif outcome is not None:
            outcome = list(outcome)
            if len(outcome) == len(route):
                for lead, decision in zip(route, outcome, strict=True):
                    decisions[id(lead)] = decision
    _leftovers_pool(leads, now=now, actor=actor)
    return decisions


def _label(labels: dict[str, str], action: str) -> str:
    if action not in labels:
        labels[action] = str(ScoreBand.Action(action).label)
    return labels[action]


def _transitions_write(requests: list[TransitionRequest], *, actor, now: datetime, **options) -> None:
    """Through the waist: leads not stored yet are created in their target state, stored ones
    transitioned."""
    fresh = [req for req in requests if isinstance(req.lead, Lead) and req.lead.pk is None]
    stored = [req for req in requests if not (isinstance(req.lead, Lead) and req.lead.pk is None)]
    if fresh:
        leads_create_bulk(fresh, actor=actor, now=now)
    if stored:
        leads_transition_bulk(stored, actor=actor, now=now, **options)


LEFTOVER_REASON = "no routing decision was made at intake: sent to the public pool so it is not orphaned"


def _leftovers_pool(leads: list[Lead], *, now: datetime, actor) -> None:
    """Safety net for "never orphaned": a lead that routing left in "new" (or did not write at
    all) goes to the public pool through the waist, with the reason on its record (one query
    when none is left)."""
    unsaved = [lead for lead in leads if lead.pk is None]
    ids = [lead.pk for lead in leads if lead.pk is not None and lead.status == Lead.Status.NEW]
    stale = list(Lead.objects.filter(pk__in=ids, status=Lead.Status.NEW)) if ids else []
    requests = [
        TransitionRequest(
            lead=lead, status=Lead.Status.POOLED, owner=None, kind="intake", reason=LEFTOVER_REASON
        )
        for lead in [*unsaved, *stale]
    ]
    if requests:
        _transitions_write(requests, actor=actor, now=now, expect_status=[Lead.Status.NEW])


@dataclass
class FileIntake:
    report: IntakeReport
    table: LeadTable


def intake_file(
    *,
    path,
    source: Source,
    dry_run: bool = False,
    report_path=None,
    progress: bool = False,
    batch_size: int = INTAKE_BATCH_SIZE,
    now: datetime | None = None,
    actor=None,
    on_batch: Callable[[IntakeReport], None] | None = None,
) -> FileIntake:
    """A CSV/XLSX file through intake_bulk, streamed; rejected rows optionally written to a CSV
    report (UTF-8 with BOM so Excel shows the Chinese text)."""
    table, stream = table_open_path(path)
    try:
        report = intake_bulk(
            table.rows,
            source=source,
            now=now,
            actor=actor,
            batch_size=batch_size,
            progress=progress,
            dry_run=dry_run,
            on_batch=on_batch,
            prepare_ahead=_worth_preparing_ahead(path),
        )
    finally:
        stream.close()
    if report_path:
        with open(report_path, "w", encoding="utf-8-sig", errors="surrogateescape", newline="") as out:
            rejects_write(report.rejects, headers=table.headers, out=out)
    return FileIntake(report=report, table=table)


# Below this size a file is one or two batches, and a second process would only add the cost
# of its fork.
PREPARE_AHEAD_MIN_BYTES = 512 * 1024


def _worth_preparing_ahead(path) -> bool:
    try:
        return os.path.getsize(path) >= PREPARE_AHEAD_MIN_BYTES
    except (OSError, TypeError, ValueError):
        return False
