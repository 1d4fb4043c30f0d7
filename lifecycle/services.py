"""Writes of the life-cycle layer: activities with their clock and activation effects, stage moves
with validity extensions, and rebasing clocks after a policy or stage edit.

Owner and status still change only through the waist (leads.services.lead_transition); this
module decides *when* and *to whom*, and writes clock columns that are not owner or status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from assignment.routing import routing_mutex_acquire
from crm.models import Rep
from leads.models import Activity, Lead
from leads.services import activity_record, lead_event_record, lead_transition
from lifecycle.activation import lead_activate_in_silence, lead_reactivate_directed, lead_recall_on_value_rise
from lifecycle.clocks import (
    WARNED_DEADLINES,
    clocks_rebased,
    lead_policy,
    warn_at_compute,
)
from lifecycle.models import Policy, Stage
from lifecycle.policies import duration_words, extension_between, stage_rank, stages_of
from lifecycle.selectors import (
    STAGE_MOVED,
    activity_is_contact,
    activity_is_progress,
    lead_stage_reached_rank,
    leads_affected_by_policy,
    leads_with_entered_at,
)

# Transition kinds written by this module (LeadEvent.kind).
KIND_CONVERTED = "converted"


def _clock_update(lead: Lead, values: dict[str, Any]) -> None:
    """Clock columns are not owner/status, so they may be written outside the waist."""
    changed = {name: value for name, value in values.items() if getattr(lead, name) != value}
    if not changed:
        return
    changed["updated_at"] = timezone.now()
    for name, value in changed.items():
        setattr(lead, name, value)
    Lead.objects.filter(pk=lead.pk).update(**changed)


def _holding_clocks(
    lead: Lead, *, now: datetime, cache: dict, contact: bool, progress: bool, at: datetime | None = None
) -> dict[str, Any]:
    """Clock moves caused by the holder's own work (done `at`, default now): first contact ends
    the first-contact and claim clocks, any progress restarts the no-progress clock from when it
    happened; the next warning follows."""
    at = at or now
    policy = lead_policy(lead, rep_id=lead.owner_id, cache=cache)
    values: dict[str, Any] = {}
    if contact:
        if lead.first_contacted_at is None:
            values["first_contacted_at"] = at
        values["first_contact_due"] = None
        values["claim_due"] = None
    if progress and (window := policy.get("progress_window")) is not None:
        values["progress_due"] = max(at + window, lead.progress_due or at + window)
    deadlines = [values.get(name, getattr(lead, name)) for name in WARNED_DEADLINES]
    values["warn_at"] = warn_at_compute(
        deadlines=deadlines, lead_time=policy.get("warning_lead_time"), now=now, include_imminent=False
    )
    return values


# Statuses in which an activity may route the lead (activation in silence, recall on a value
# rise): there the routing mutex is taken before the activity touches the lead's row.
ROUTING_STATUSES = (Lead.Status.SILENT, Lead.Status.NURTURING)


class _RoutingMutexFirst(Exception):
    """The lead turned routable after the caller read it: redo the activity with the mutex."""


@transaction.atomic
def activity_log(
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
    """Record an activity and apply its life-cycle effects (clocks, activation, fairness).

    Entry points (rep UI, API, imports) call this, never leads.services.activity_record directly.
    The lead is re-read under its row lock after recording, so a sweep acting at the same moment
    either sees the activity or is seen by it, never half of each.

    Lock order is the routing mutex before lead rows (assignment.services), and recording the
    activity already locks the lead's row by updating it. So where the activity may route the
    lead, the mutex comes first; otherwise a manager's re-route holding the mutex and waiting
    for this lead would deadlock with us. If the lead became routable after the caller read it,
    the attempt is rolled back to its savepoint (which frees the row lock) and redone.
    """
    now = now or timezone.now()
    mutex = lead.status in ROUTING_STATUSES
    while True:
        try:
            with transaction.atomic():
                if mutex:
                    routing_mutex_acquire()
                activity = activity_record(
                    lead=lead,
                    kind=kind,
                    actor=actor,
                    rep=rep,
                    source=source,
                    occurred_at=occurred_at,
                    note=note,
                    outcome=outcome,
                    caused_by_rep=caused_by_rep,
                    data=data,
                    now=now,
                )
                activity_effects_apply(lead=lead, activity=activity, now=now, mutex_held=mutex)
        except _RoutingMutexFirst:
            mutex = True
            lead.refresh_from_db()
            continue
        activity.lead = lead
        return activity


def activity_effects_apply(
    *, lead: Lead, activity: Activity, now: datetime, mutex_held: bool | None = None
) -> None:
    """The life-cycle effects of an activity already recorded: clocks for a held lead,
    activation in silence, directed reactivation from the pool, recall from nurturing on a
    value rise. Intake calls it for a contact who comes in again (a bulk-created activity),
    with the routing mutex already held (mutex_held=None: the caller answers for the order)."""
    locked = Lead.objects.select_for_update(no_key=True).get(pk=lead.pk)
    if mutex_held is False and locked.status in ROUTING_STATUSES:
        raise _RoutingMutexFirst
    cache: dict = {}
    if locked.status == Lead.Status.ASSIGNED:
        # A back-dated activity (an import) counts from when it happened, and not at all when it
        # happened before this holding began.
        at = min(activity.occurred_at or now, now)
        current = locked.assigned_at is None or at >= locked.assigned_at
        contact = current and activity_is_contact(activity=activity, lead=locked)
        progress = current and activity_is_progress(activity=activity, lead=locked)
        if contact or progress:
            _clock_update(
                locked,
                _holding_clocks(locked, now=now, at=at, cache=cache, contact=contact, progress=progress),
            )
        # Fairness: a held lead is never recalled because its value rose (the rep earned it).
    elif locked.status == Lead.Status.SILENT:
        lead_activate_in_silence(lead=locked, activity=activity, now=now)
    elif locked.status == Lead.Status.POOLED:
        lead_reactivate_directed(lead=locked, activity=activity, now=now, cache=cache)
    elif locked.status == Lead.Status.NURTURING:
        lead_recall_on_value_rise(lead=locked, activity=activity, now=now)
    _refresh(lead, locked)


def _refresh(target: Lead, source: Lead) -> None:
    if target is not source:
        target.refresh_from_db()


@transaction.atomic
def lead_stage_move(*, lead: Lead, stage: Stage, actor, now: datetime | None = None) -> Lead:
    """Move a held lead to a sales stage; reaching a stage for the first time in this holding
    extends validity by the stage's extension (recorded with the old and new deadline), and a
    stage that counts as won converts the lead through the waist."""
    now = now or timezone.now()
    locked = Lead.objects.select_for_update(no_key=True).get(pk=lead.pk)
    if stage.lead_type_id != locked.lead_type_id:
        raise ValidationError(f"stage {stage.name!r} belongs to another lead type")
    if locked.status not in (Lead.Status.ASSIGNED, Lead.Status.CONVERTED):
        raise ValidationError(f"a {locked.get_status_display()} lead cannot change stage")
    if locked.stage_id == stage.pk:
        _refresh(lead, locked)
        return lead
    cache: dict = {}
    stages = stages_of(lead_type_id=locked.lead_type_id, cache=cache)
    new_rank = stage_rank(stage, stages)
    reached = lead_stage_reached_rank(lead=locked, stages=stages)
    held = locked.status == Lead.Status.ASSIGNED
    extension = (
        extension_between(stages=stages, after_rank=reached, up_to_rank=new_rank) if held else timedelta(0)
    )
    old_valid = locked.valid_until
    new_valid = old_valid + extension if old_valid is not None else None
    from_stage = locked.stage.name if locked.stage_id else ""
    values: dict[str, Any] = {"stage_id": stage.pk, "valid_until": new_valid}
    if held:
        progress = _holding_clocks(locked, now=now, cache=cache, contact=False, progress=True)
        progress.pop("warn_at")
        values.update(progress)
        policy = lead_policy(locked, rep_id=locked.owner_id, cache=cache)
        deadlines = [values.get(name, getattr(locked, name)) for name in WARNED_DEADLINES]
        values["warn_at"] = warn_at_compute(
            deadlines=deadlines, lead_time=policy.get("warning_lead_time"), now=now, include_imminent=False
        )
    _clock_update(locked, values)
    granted = bool(extension) and new_valid != old_valid
    reason = f"Stage {from_stage or '—'} → {stage.name}"
    if granted:
        reason += f"; validity +{duration_words(extension)} ({timezone.localtime(old_valid):%Y-%m-%d %H:%M} → {timezone.localtime(new_valid):%Y-%m-%d %H:%M})"
    lead_event_record(
        lead=locked,
        kind=STAGE_MOVED,
        reason=reason,
        actor=actor,
        data={
            "from_stage": from_stage,
            "to_stage": stage.name,
            "reached_rank": max(reached, new_rank),
            "old_valid_until": old_valid.isoformat() if old_valid else None,
            "new_valid_until": new_valid.isoformat() if new_valid else None,
            "extension_seconds": int(extension.total_seconds()) if granted else 0,
        },
        now=now,
    )
    if stage.is_won and held:
        lead_transition(
            lead=locked,
            status=Lead.Status.CONVERTED,
            owner=locked.owner,
            kind=KIND_CONVERTED,
            reason=f"Won: reached stage {stage.name}",
            actor=actor,
            now=now,
            expect_status=[Lead.Status.ASSIGNED],
        )
    _refresh(lead, locked)
    return lead


def leads_clocks_recompute(qs: QuerySet[Lead], now: datetime | None = None, *, batch_size: int = 2000) -> int:
    """Rebase the clocks of `qs` on the current policies and stages, set-wise (one read and one
    bulk UPDATE per batch); returns how many leads changed. Deadlines keep their starting points
    (assignment, last progress, silence, release), so an edit never restarts a holding."""
    now = now or timezone.now()
    cache: dict = {}
    changed_total = 0
    last_pk = 0
    base = leads_with_entered_at(qs.order_by()).order_by("pk")
    while True:
        rows = list(base.filter(pk__gt=last_pk)[:batch_size])
        if not rows:
            return changed_total
        last_pk = rows[-1].pk
        changed_rows: list[Lead] = []
        fields: set[str] = set()
        for lead in rows:
            values = clocks_rebased(lead, now=now, cache=cache, entered_at=lead.entered_at)
            if values:
                for name, value in values.items():
                    setattr(lead, name, value)
                lead.updated_at = now
                fields.update(values, ["updated_at"])
                changed_rows.append(lead)
        if changed_rows:
            with transaction.atomic():
                Lead.objects.bulk_update(changed_rows, sorted(fields), batch_size=batch_size)
            changed_total += len(changed_rows)


# Above this many leads an edit's recompute leaves the admin request for a django-q2 job.
RECOMPUTE_INLINE_MAX = 5000


@dataclass
class RecomputeOutcome:
    """What an edit did to the clocks: recomputed now, or handed to a background job."""

    changed: int = 0
    queued: int = 0


def _recompute_or_queue(
    qs: QuerySet[Lead], *, task_kwargs: dict, actor, now: datetime | None, inline_max: int | None
) -> RecomputeOutcome:
    if inline_max is not None:
        affected = qs.count()
        if affected > inline_max:
            from django_q.tasks import async_task

            kwargs = {**task_kwargs, "actor_id": getattr(actor, "pk", None)}
            transaction.on_commit(lambda: async_task("lifecycle.tasks.clocks_recompute", **kwargs))
            return RecomputeOutcome(queued=affected)
    return RecomputeOutcome(changed=leads_clocks_recompute(qs, now))


def policy_saved(
    *,
    policy: Policy,
    old_scope: tuple[int | None, str] | None = None,
    now: datetime | None = None,
    actor=None,
    inline_max: int | None = RECOMPUTE_INLINE_MAX,
) -> RecomputeOutcome:
    """After an admin edit of a policy: rebase every lead it may govern (old and new scope).
    A default policy can govern most of a million leads, which no admin request should wait
    for: beyond `inline_max` leads the recompute runs as a job that notifies `actor`."""
    scope = (policy.lead_type_id, policy.heat)
    return _recompute_or_queue(
        leads_affected_by_policy(policy=policy, old_scope=old_scope),
        task_kwargs={"scope": list(scope), "old_scope": list(old_scope) if old_scope else None},
        actor=actor,
        now=now,
        inline_max=inline_max,
    )


def stage_saved(
    *, stage: Stage, now: datetime | None = None, actor=None, inline_max: int | None = RECOMPUTE_INLINE_MAX
) -> RecomputeOutcome:
    """After an admin edit of a stage: its lead type's held leads get their validity rebased."""
    return _recompute_or_queue(
        Lead.objects.filter(lead_type_id=stage.lead_type_id, status=Lead.Status.ASSIGNED),
        task_kwargs={"lead_type_id": stage.lead_type_id},
        actor=actor,
        now=now,
        inline_max=inline_max,
    )
