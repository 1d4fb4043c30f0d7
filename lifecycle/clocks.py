"""The clock columns on Lead: set inside the waist on every owner/status change, and rebased when
a policy or stage changes, so the sweep only ever reads indexed `due <= now` columns.

Each function here computes values; the waist (or a bulk update) writes them in the same UPDATE as
the transition, so a lead's state and its clocks can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from leads.models import Lead
from leads.selectors import sources_by_id
from leads.services import CLOCK_FIELDS
from lifecycle.policies import ResolvedPolicy, extension_between, policy_resolve, stage_rank, stages_of

# Why a lead sits in the pool; the hook keys release and cascade clocks on these.
POOL_REASON_RELEASED = "released"
POOL_REASON_CASCADE = "cascade"
POOL_REASON_RECALLED = "recalled"
POOL_REASON_CLAIM_LAPSED = "claim_lapsed"

# Deadlines a rep is warned about before they pass, with the words used in the warning.
WARNED_DEADLINES = {
    "first_contact_due": "first contact",
    "claim_due": "follow-up of a claimed lead",
    "progress_due": "next progress",
    "valid_until": "end of validity",
}

ALL_CLOCKS = CLOCK_FIELDS


def _memo(cache: dict, key: str, load) -> Any:
    if key not in cache:
        cache[key] = load()
    return cache[key]


def rep_levels(*, cache: dict) -> dict[int, str]:
    """Every rep's level in one query per bulk call (reps number in the thousands at most)."""
    from crm.models import Rep

    return _memo(cache, "rep_levels", lambda: dict(Rep.objects.values_list("pk", "level")))


def source_heats(*, cache: dict) -> dict[int, str]:
    return _memo(cache, "source_heats", lambda: {pk: s.heat for pk, s in sources_by_id().items()})


def team_tiers(*, cache: dict) -> dict[int, int]:
    from crm.models import Team

    return _memo(cache, "team_tiers", lambda: dict(Team.objects.values_list("pk", "tier")))


def claim_follow_up_defaults(*, cache: dict) -> dict[str, timedelta]:
    """The pool's per-level follow-up window ([D]), used when no policy sets claim_follow_up."""
    from assignment.models import ClaimPolicy

    return _memo(
        cache,
        "claim_follow_up",
        lambda: {
            level: timedelta(hours=hours)
            for level, hours in ClaimPolicy.objects.values_list("level", "follow_up_hours")
        },
    )


def lead_policy(lead: Lead, *, rep_id: int | None, cache: dict) -> ResolvedPolicy:
    """The merged policy for this lead as held by `rep_id` (or unowned when None)."""
    if not rep_id:
        level = ""
    elif rep_id == lead.owner_id and Lead.owner.is_cached(lead):
        level = lead.owner.level  # the waist hands over the Rep object: no query for one lead
    else:
        level = rep_levels(cache=cache).get(rep_id, "")
    heat = source_heats(cache=cache).get(lead.source_id, "")
    return policy_resolve(lead_type_id=lead.lead_type_id, rep_level=level, heat=heat, cache=cache)


def stage_extension(lead: Lead, *, cache: dict) -> timedelta:
    """Extensions of every stage up to the lead's current one (reached stages count once)."""
    if not lead.stage_id or not lead.lead_type_id:
        return timedelta(0)
    stages = stages_of(lead_type_id=lead.lead_type_id, cache=cache)
    current = next((s for s in stages if s.pk == lead.stage_id), None)
    if current is None:
        return timedelta(0)
    return extension_between(stages=stages, after_rank=0, up_to_rank=stage_rank(current, stages))


def warn_at_compute(
    *,
    deadlines: Iterable[datetime | None],
    lead_time: timedelta | None,
    now: datetime,
    include_imminent: bool,
) -> datetime | None:
    """When to warn next. Deadlines already inside the lead time are warned about at once only
    when a new holding starts (include_imminent); otherwise they were warned about already."""
    if not lead_time:
        return None
    times = [d - lead_time for d in deadlines if d is not None and d > now]
    if include_imminent and any(t <= now for t in times):
        return now
    return min((t for t in times if t > now), default=None)


def _plus(now: datetime, window: timedelta | None) -> datetime | None:
    return now + window if window is not None else None


def clocks_for_transition(
    lead: Lead,
    *,
    from_status: str,
    from_owner_id: int | None,
    now: datetime,
    cache: dict,
    kind: str | None = None,
) -> dict[str, Any]:
    """The clock values after a transition (lead already carries its new owner and status)."""
    status = lead.status
    owner_changed = lead.owner_id != from_owner_id
    cleared = dict.fromkeys(ALL_CLOCKS)
    cleared["cascade_step"] = 0
    cleared.pop("first_contacted_at")

    if status == Lead.Status.ASSIGNED:
        if from_status == Lead.Status.ASSIGNED and not owner_changed:
            return {}
        policy = lead_policy(lead, rep_id=lead.owner_id, cache=cache)
        values = dict(cleared)
        resumed = from_status == Lead.Status.SILENT and not owner_changed
        if not resumed:
            values["first_contacted_at"] = None
        contacted = resumed and lead.first_contacted_at is not None
        values["first_contact_due"] = None if contacted else _plus(now, policy.get("first_contact_sla"))
        values["progress_due"] = _plus(now, policy.get("progress_window"))
        validity = policy.get("validity")
        values["valid_until"] = (
            now + validity + stage_extension(lead, cache=cache) if validity is not None else None
        )
        # A claim starts the claim clock. The claim service passes claim_due itself (a pooled
        # lead has none, so a value here came from the caller); a policy window overrides it.
        # Routing out of the pool passes none and starts no claim clock.
        claimed = from_status == Lead.Status.POOLED and (kind == "claim" or lead.claim_due is not None)
        if claimed:
            follow_up = policy.get("claim_follow_up")
            if follow_up is not None:
                values["claim_due"] = now + follow_up
            elif lead.claim_due is not None:
                values["claim_due"] = lead.claim_due
            else:
                level = rep_levels(cache=cache).get(lead.owner_id, "")
                values["claim_due"] = _plus(now, claim_follow_up_defaults(cache=cache).get(level))
        values["warn_at"] = warn_at_compute(
            deadlines=[values[name] for name in WARNED_DEADLINES],
            lead_time=policy.get("warning_lead_time"),
            now=now,
            include_imminent=True,
        )
        return values

    if status == Lead.Status.SILENT:
        if from_status == Lead.Status.SILENT and not owner_changed:
            return {}
        policy = lead_policy(lead, rep_id=lead.owner_id, cache=cache)
        values = dict(cleared)
        # No silence window means "release at the next sweep", never "silent forever".
        values["silent_until"] = now + (policy.get("silence_window") or timedelta(0))
        return values

    if status == Lead.Status.POOLED:
        values = dict(cleared)
        values["cascade_step"] = lead.cascade_step
        keep_release = from_status == Lead.Status.POOLED
        values["released_at"] = lead.released_at if keep_release else None
        values["reactivation_until"] = lead.reactivation_until if keep_release else None
        if lead.pool_reason == POOL_REASON_RELEASED and from_status != Lead.Status.POOLED:
            policy = lead_policy(lead, rep_id=from_owner_id, cache=cache)
            values["released_at"] = now
            values["reactivation_until"] = _plus(now, policy.get("reactivation_window"))
        if lead.pool_reason == POOL_REASON_CASCADE:
            # Offered to a team pool: the next tier gets it when this window passes. In the
            # public pool the cascade has ended; cascade_step (set by the caller) stays as history.
            if lead.pool_team_id:
                policy = lead_policy(lead, rep_id=None, cache=cache)
                values["cascade_due"] = _plus(now, policy.get("cascade_window"))
        else:
            values["cascade_step"] = 0
        return values

    values = dict(cleared)
    if status == Lead.Status.CONVERTED:
        # A won lead keeps its extended validity as the rep's hold for repeat sales (复购).
        values.pop("valid_until")
    return values


def lead_clocks_on_transition(
    lead: Lead, *, from_status: str, from_owner_id: int | None, now: datetime, cache: dict, **context: Any
) -> list[str]:
    """The transition hook (registered in LifecycleConfig.ready): set the clocks in place and
    return the names of the columns it changed, for the waist's UPDATE."""
    kind = context.get("kind")
    key = _fresh_holding_key(lead, from_status=from_status, from_owner_id=from_owner_id, now=now, kind=kind)
    values = cache.get(key) if key is not None else None
    if values is None:
        values = clocks_for_transition(
            lead, from_status=from_status, from_owner_id=from_owner_id, now=now, cache=cache, kind=kind
        )
        if key is not None:
            cache[key] = values  # read-only from here on: shared by every lead with this key
    changed = []
    for name, value in values.items():
        if getattr(lead, name) != value:
            setattr(lead, name, value)
            changed.append(name)
    return changed


_FRESH_FROM = frozenset({Lead.Status.NEW, Lead.Status.NURTURING, Lead.Status.POOLED})


def _fresh_holding_key(
    lead: Lead, *, from_status: str, from_owner_id: int | None, now: datetime, kind: str | None
) -> tuple | None:
    """For the commonest transition — a lead routed to a rep from intake, nurturing or the pool,
    not claimed — everything clocks_for_transition reads of the lead is in this key: the policy
    (lead type, the new holder's level, the source's heat), the stage extension (lead type,
    stage) and `now`. A bulk call computes the clocks once per key instead of once per lead.
    None for every other transition (resumed silence, claims, pooling ...): computed each time."""
    if (
        lead.status != Lead.Status.ASSIGNED
        or from_status not in _FRESH_FROM
        or lead.owner_id is None
        or lead.owner_id == from_owner_id
        or kind == "claim"
        or lead.claim_due is not None
    ):
        return None
    if Lead.owner.is_cached(lead):
        level = lead.owner.level
    else:
        return None  # the level would cost a lookup: not worth a key
    return ("fresh_holding", from_status, lead.lead_type_id, level, lead.source_id, lead.stage_id, now)


def clocks_rebased(lead: Lead, *, now: datetime, cache: dict, entered_at: datetime | None) -> dict[str, Any]:
    """Clock values recomputed from their starting points after a policy or stage edit.

    `entered_at` is when the lead entered its current status (the latest transition event), the
    base of the silence and cascade windows; the others start at assigned_at / the last progress.
    """
    values: dict[str, Any] = {}
    if lead.status == Lead.Status.ASSIGNED and lead.assigned_at:
        policy = lead_policy(lead, rep_id=lead.owner_id, cache=cache)
        start = lead.assigned_at
        if lead.first_contacted_at is None:
            values["first_contact_due"] = _plus(start, policy.get("first_contact_sla"))
        last_progress = max(start, lead.last_rep_activity_at or start)
        values["progress_due"] = _plus(last_progress, policy.get("progress_window"))
        validity = policy.get("validity")
        values["valid_until"] = (
            start + validity + stage_extension(lead, cache=cache) if validity is not None else None
        )
        if lead.claim_due is not None:
            values["claim_due"] = _plus(start, policy.get("claim_follow_up")) or lead.claim_due
        deadlines = [values.get(name, getattr(lead, name)) for name in WARNED_DEADLINES]
        values["warn_at"] = warn_at_compute(
            deadlines=deadlines, lead_time=policy.get("warning_lead_time"), now=now, include_imminent=False
        )
    elif lead.status == Lead.Status.SILENT and entered_at:
        policy = lead_policy(lead, rep_id=lead.owner_id, cache=cache)
        values["silent_until"] = entered_at + (policy.get("silence_window") or timedelta(0))
    elif lead.status == Lead.Status.POOLED:
        if lead.released_at and lead.previous_owner_id:
            policy = lead_policy(lead, rep_id=lead.previous_owner_id, cache=cache)
            values["reactivation_until"] = _plus(lead.released_at, policy.get("reactivation_window"))
        if lead.cascade_due is not None and entered_at:
            policy = lead_policy(lead, rep_id=None, cache=cache)
            values["cascade_due"] = _plus(entered_at, policy.get("cascade_window"))
    return {name: value for name, value in values.items() if getattr(lead, name) != value}
