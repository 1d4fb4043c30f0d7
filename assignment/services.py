"""Writes of the assignment layer: routing, and (below) pool claims, recall, transfer, departure.

Every owner/status change goes through leads.services' waist. Lock order, everywhere here:
the routing mutex, then rep rows, then lead rows — so routing, claims and transfers queue
instead of deadlocking.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from assignment.eligibility import rep_has_room
from assignment.models import AssignmentRule, ClaimPolicy
from assignment.pool import CLAIM_EVENT_KIND, claim_allowance, claim_policy_for, lead_visible_in_pool
from assignment.routing import (
    ROUTABLE_STATUSES,
    ROUTE_EVENT_KIND,
    RoutingContext,
    RoutingDecision,
    lead_decide,
    routing_mutex_acquire,
)
from assignment.selectors import leads_manageable_by
from crm.catalogs import catalogs_pinned
from crm.collection import gc_paused
from crm.models import Rep, Team
from crm.rules import user_is_manager
from crm.services import notifications_send
from leads.models import Lead, LeadEvent
from leads.selectors import open_lead_statuses
from leads.services import TransitionRequest, lead_transition, leads_create_bulk, leads_transition_bulk
from leads.writing import Writes

__all__ = [
    "ClaimResult",
    "RoutingDecision",
    "lead_claim",
    "lead_release",
    "lead_route",
    "leads_recall",
    "leads_reroute",
    "leads_route_bulk",
    "leads_transfer",
    "rep_depart",
    "rep_penalize",
    "reps_penalties_expire",
]


def _transition_request(
    decision: RoutingDecision, *, trigger: str, reason: str, kind: str = ROUTE_EVENT_KIND
) -> TransitionRequest:
    fields: dict = {}
    if decision.status == Lead.Status.POOLED:
        fields = {
            "pool_team": decision.pool_team,
            "pool_reason": decision.pool_reason,
            "cascade_step": decision.cascade_step,
        }
    elif decision.status == Lead.Status.NURTURING:
        fields = {"team": None, "cascade_step": 0}
    else:
        fields = {"cascade_step": 0}
    rule = decision.rule if decision.rule is not None and decision.rule.pk else None
    text = reason or (f"rule '{rule.name}'" if rule else "no rule decided")
    return TransitionRequest(
        lead=decision.lead,
        status=decision.status,
        owner=decision.owner,
        kind=kind,
        reason=text,
        rule=rule,
        data={"explanation": decision.explanation, "trigger": trigger},
        fields=fields,
    )


# From this batch size on, load every candidate rep and cursor up front (a fixed number of
# queries); below it, load only what the matching rules need (cheaper for one lead).
PRELOAD_FROM = 20


def _rules_hit(*, hits: dict[int, int], now: datetime, writes: Writes) -> None:
    """The batch's hit counters in one statement, left in `writes` to go with the lead writes.

    PostgreSQL: one `UPDATE … FROM unnest(keys, counts)`, where a pipelined executemany still
    planned one UPDATE per rule (~4 ms of a 1,000-lead batch over 50 rules); the routing mutex
    keeps two batches from locking rule rows at once. Elsewhere a prepared UPDATE run once per
    rule, in rule order. A CASE over 50 rules built with the ORM took longer to compile than the
    batch's decisions took to make."""
    if not hits:
        return
    meta = AssignmentRule._meta
    conn = connections[AssignmentRule.objects.db]
    q = conn.ops.quote_name
    table, pk = q(meta.db_table), q(meta.pk.column)
    hit_count, last_matched_at = q(meta.get_field("hit_count").column), meta.get_field("last_matched_at")
    at = last_matched_at.get_db_prep_save(now, conn)
    ordered = sorted(hits.items())
    if len(ordered) > 1 and writes.deferring:
        key_type = meta.pk.rel_db_type(conn)
        writes.add(
            f"UPDATE {table} SET {hit_count} = {table}.{hit_count} + v._n, {q(last_matched_at.column)} = %s "
            f"FROM unnest(%b::{key_type}[], %b::integer[]) AS v(_pk, _n) "
            f"WHERE {table}.{pk} = ANY(%b::{key_type}[]) AND {table}.{pk} = v._pk",
            [at, [k for k, _ in ordered], [n for _, n in ordered], [k for k, _ in ordered]],
            rows=len(ordered),
        )
        return
    sql = (
        f"UPDATE {table} SET {hit_count} = {hit_count} + %s, {q(last_matched_at.column)} = %s WHERE {pk} = %s"
    )
    params = [(n, at, key) for key, n in ordered]
    if len(params) == 1:  # one lead, one rule: a pipelined executemany costs more
        writes.add(sql, params[0])
        return
    with conn.cursor() as cursor:
        cursor.executemany(sql, params)


@transaction.atomic(savepoint=False)  # joins the caller's transaction: no savepoint round trips
def leads_route_bulk(
    leads: Iterable[Lead],
    *,
    trigger: str = "new",
    now: datetime | None = None,
    actor=None,
    reason: str = "",
    context: RoutingContext | None = None,
    exclude_previous: bool | None = None,
    kind: str = ROUTE_EVENT_KIND,
) -> list[RoutingDecision]:
    """Route leads in order with one in-memory context and write the results set-wise.

    The same leads routed one by one get the same owners: the context carries loads, quotas and
    cursors forward exactly as the database would between two calls. Leads that are closed are
    returned untouched (decision.applied is False). `exclude_previous` (default: on for the
    recycled trigger) keeps a lead away from the rep who just lost it.

    Leads not stored yet (intake's new leads, status "new") are created in their routed state
    through the waist's leads_create_bulk: one INSERT instead of an INSERT and an UPDATE.
    """

    leads = list(leads)
    if not leads:
        return []
    with gc_paused(len(leads) >= PRELOAD_FROM), catalogs_pinned():
        return _route_many(
            leads,
            trigger=trigger,
            now=now or timezone.now(),
            actor=actor,
            reason=reason,
            context=context,
            exclude_previous=exclude_previous,
            kind=kind,
        )


def _route_many(
    leads: list[Lead],
    *,
    trigger: str,
    now: datetime,
    actor,
    reason: str,
    context: RoutingContext | None,
    exclude_previous: bool | None,
    kind: str,
) -> list[RoutingDecision]:
    if context is None:
        # Before the context reads its rules: the lock goes with the catalogue tokens' read.
        routing_mutex_acquire()
        ctx = RoutingContext(trigger=trigger, now=now)
    else:
        ctx = context
        ctx.mutex_acquire()
    if len(leads) >= PRELOAD_FROM:
        ctx.preload()
    if exclude_previous is None:
        exclude_previous = trigger == "recycled"
    decisions: list[RoutingDecision] = []
    for lead in leads:
        if lead.status not in ROUTABLE_STATUSES:
            decisions.append(RoutingDecision(lead=lead, status=lead.status, owner=lead.owner))
            continue
        ctx.exclude = (
            {pk for pk in (lead.owner_id, lead.previous_owner_id) if pk} if exclude_previous else set()
        )
        decisions.append(lead_decide(lead=lead, ctx=ctx))
    routed = [d for d in decisions if d.explanation]
    stored = [d for d in routed if d.lead.pk is not None]
    fresh = [d for d in routed if d.lead.pk is None]
    # The rotation cursors and hit counters are decided with the last lead: written with the
    # leads' own writes (one statement for a single lead on PostgreSQL), or on their own.
    writes = Writes(Lead.objects.db)
    ctx.cursors_save(writes=writes)
    _rules_hit(hits=ctx.hits, now=now, writes=writes)
    if stored:
        statuses = sorted({d.lead.status for d in stored})
        events = leads_transition_bulk(
            [_transition_request(d, trigger=trigger, reason=reason, kind=kind) for d in stored],
            actor=actor,
            now=now,
            expect_status=statuses,
            writes=writes,
        )
        by_lead = {event.lead_id: event for event in events}
        for decision in stored:
            decision.event = by_lead.get(decision.lead.pk)
    if fresh:
        created = leads_create_bulk(
            [_transition_request(d, trigger=trigger, reason=reason, kind=kind) for d in fresh],
            actor=actor,
            now=now,
            writes=writes,
        )
        for decision, event in zip(fresh, created, strict=True):
            decision.event = event
    writes.flush()
    return decisions


def lead_route(
    *, lead: Lead, trigger: str = "new", now: datetime | None = None, actor=None, reason: str = ""
) -> RoutingDecision:
    """Route one lead (fresh intake, or re-route of a pooled / silent / nurturing one)."""
    return leads_route_bulk([lead], trigger=trigger, now=now, actor=actor, reason=reason)[0]


# --- rule sets ------------------------------------------------------------------------------------


class RuleSetError(ValueError):
    """A rule set that may not go live as it is (e.g. no default rule)."""


@transaction.atomic
def rule_set_activate(*, rule_set) -> None:
    """Make this the one live rule set of its trigger: the old one is switched off in the same
    transaction, so intake never sees zero or two live sets."""
    from assignment.models import RuleSet

    defaults = rule_set.rules.filter(is_default=True)
    if defaults.count() != 1:
        raise RuleSetError("a rule set needs exactly one default rule before it can go live")
    list(
        RuleSet.objects.select_for_update().filter(trigger=rule_set.trigger).order_by("pk").values_list("pk")
    )
    RuleSet.objects.filter(trigger=rule_set.trigger, is_active=True).exclude(pk=rule_set.pk).update(
        is_active=False, updated_at=timezone.now()
    )
    RuleSet.objects.filter(pk=rule_set.pk).update(is_active=True, updated_at=timezone.now())
    rule_set.is_active = True


def rule_set_default_last(*, rule_set) -> None:
    """Keep the default rule at the end of the evaluation order whatever was dragged below it."""
    rules = list(rule_set.rules.order_by("position", "id"))
    default = [r for r in rules if r.is_default]
    ordered = [r for r in rules if not r.is_default] + default
    changed = []
    for position, rule in enumerate(ordered, start=1):
        if rule.position != position:
            rule.position = position
            changed.append(rule)
    if changed:
        AssignmentRule.objects.bulk_update(changed, ["position"])


# --- the pool: claim and release ------------------------------------------------------------------


@dataclass
class ClaimResult:
    """What the rep sees after clicking: never an error page, always a sentence."""

    ok: bool
    message: str
    lead: Lead | None = None
    event: LeadEvent | None = None


def _rep_lock(rep: Rep) -> Rep:
    return (
        Rep.objects.select_for_update(no_key=True, of=("self",)).select_related("user", "team").get(pk=rep.pk)
    )


def _taken_message(lead: Lead) -> str:
    if lead.owner_id:
        owner = Rep.objects.select_related("user").filter(pk=lead.owner_id).first()
        who = owner.display_name if owner else _("another rep")
        return _("Already taken by %(who)s.") % {"who": who}
    return _("This lead is no longer in the pool (%(status)s).") % {"status": lead.get_status_display()}


@transaction.atomic
def lead_claim(*, lead: Lead, rep: Rep, now: datetime | None = None) -> ClaimResult:
    """First come, first served: lock the rep (caps are counted under that lock), then the lead;
    re-check it is still pooled and open to this rep, then hand it over through the waist.
    Two reps clicking at once: the second waits for the first lock and is told who won."""
    now = now or timezone.now()
    rep = _rep_lock(rep)
    locked = Lead.objects.select_for_update(no_key=True, of=("self",)).filter(pk=lead.pk).first()
    if locked is None:
        return ClaimResult(ok=False, message=_("This lead no longer exists."))
    if locked.status != Lead.Status.POOLED:
        return ClaimResult(ok=False, message=_taken_message(locked), lead=locked)
    if not lead_visible_in_pool(lead=locked, rep=rep):
        return ClaimResult(ok=False, message=_("This lead is not in a pool open to you."), lead=locked)
    allowance = claim_allowance(rep=rep, now=now)
    refusal = allowance.refusal()
    if refusal:
        return ClaimResult(ok=False, message=refusal, lead=locked)
    event = lead_transition(
        lead=locked,
        status=Lead.Status.ASSIGNED,
        owner=rep,
        kind=CLAIM_EVENT_KIND,
        reason="claimed from the pool",
        actor=rep.user,
        now=now,
        expect_status=(Lead.Status.POOLED,),
        claim_due=now + timedelta(hours=allowance.follow_up_hours),
        cascade_step=0,
        data={
            "pool_team": locked.pool_team_id,
            "pool_reason": locked.pool_reason,
            "allowance": allowance.cap,
        },
    )
    _refresh(lead, locked)
    if event is None:  # pragma: no cover - the row lock above makes this unreachable
        return ClaimResult(ok=False, message=_taken_message(locked), lead=locked)
    return ClaimResult(ok=True, message=_("Claimed: the lead is yours."), lead=locked, event=event)


def _refresh(target: Lead, source: Lead) -> None:
    if target is not source:
        for f in Lead._meta.concrete_fields:
            setattr(target, f.attname, getattr(source, f.attname))


@transaction.atomic
def lead_release(*, lead: Lead, rep: Rep, reason: str, now: datetime | None = None) -> ClaimResult:
    """A rep gives their own assigned lead back to their team's pool, with a reason."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        return ClaimResult(ok=False, message=_("Say why you release this lead."))
    locked = Lead.objects.select_for_update(no_key=True, of=("self",)).filter(pk=lead.pk).first()
    if locked is None or locked.owner_id != rep.pk or locked.status != Lead.Status.ASSIGNED:
        return ClaimResult(
            ok=False, message=_("Only the owner of an assigned lead can release it."), lead=locked
        )
    event = lead_transition(
        lead=locked,
        status=Lead.Status.POOLED,
        owner=None,
        kind="release",
        reason=reason,
        actor=rep.user,
        now=now,
        expect_status=(Lead.Status.ASSIGNED,),
        pool_team=rep.team,
        pool_reason="released_by_rep",
        claim_due=None,
        cascade_step=0,
    )
    _refresh(lead, locked)
    return ClaimResult(ok=True, message=_("Released to the pool."), lead=locked, event=event)


# --- risk control ---------------------------------------------------------------------------------


def rep_penalize(*, rep: Rep, reason: str, now: datetime | None = None) -> Rep:
    """降权: lower the claim cap or block claiming for the level's configured time. Repeating it
    while a penalty runs extends it. Visible on the pool page, in the rep admin, and notified."""
    now = now or timezone.now()
    policy = claim_policy_for(rep)
    hours = policy.penalty_hours if policy else 72
    until = now + timedelta(hours=hours)
    blocks = bool(policy and policy.penalty_mode == ClaimPolicy.PenaltyMode.BLOCK)
    factor = None if blocks else (policy.penalty_factor if policy else 0.5)
    Rep.objects.filter(pk=rep.pk).update(
        penalty_until=until,
        penalty_factor=factor,
        penalty_blocks_claims=blocks,
        penalty_reason=reason[:300],
    )
    rep.penalty_until, rep.penalty_factor, rep.penalty_blocks_claims, rep.penalty_reason = (
        until,
        factor,
        blocks,
        reason[:300],
    )
    effect = (
        _("claiming is blocked")
        if blocks
        else _("your claim cap is × %(factor)s") % {"factor": f"{factor:g}"}
    )
    notifications_send(
        users=[rep.user] + ([rep.team.lead] if rep.team_id and rep.team.lead_id else []),
        kind="penalty",
        message=_("%(rep)s: %(effect)s until %(until)s — %(why)s")
        % {
            "rep": rep.display_name,
            "effect": effect,
            "until": f"{timezone.localtime(until):%Y-%m-%d %H:%M}",
            "why": reason,
        },
        url="/pool/",
        now=now,
    )
    return rep


def reps_penalties_expire(*, now: datetime | None = None) -> int:
    """Clear penalties whose time is up (eligibility already ignores them; this tidies the row)."""
    now = now or timezone.now()
    return Rep.objects.filter(penalty_until__lte=now).update(
        penalty_until=None, penalty_factor=None, penalty_blocks_claims=False, penalty_reason=""
    )


# --- manual recall, transfer, re-route ------------------------------------------------------------


@dataclass
class BulkResult:
    changed: int
    skipped: int
    message: str
    events: list = field(default_factory=list)


class ActionRefused(ValueError):
    """The whole action was refused (permission, capacity): nothing changed."""


def _require(user, perm: str) -> None:
    if user is None or not user.has_perm(perm):
        raise PermissionDenied(perm)


def _scoped(leads_qs, actor):
    """Managers act on anything; team leads only on their teams' leads.

    The scope is ANDed into the caller's own WHERE (for a manager it adds nothing) rather than a
    `pk IN (SELECT pk FROM lead …)` semi-join over the whole table; querysets that cannot be
    combined (sliced, distinct, unions) fall back to the subquery."""
    manageable = leads_manageable_by(user=actor)
    try:
        return leads_qs & manageable
    except TypeError:
        return leads_qs.filter(pk__in=manageable.values("pk"))


def _notify_owners(*, owner_counts: Counter, actor, verb: str, reason: str, now: datetime) -> None:
    if not owner_counts:
        return
    reps = Rep.objects.select_related("user").filter(pk__in=list(owner_counts))
    who = actor.get_full_name() or actor.get_username() if actor else "the system"
    for rep in reps:
        n = owner_counts[rep.pk]
        notifications_send(
            users=[rep.user],
            kind=verb,
            message=f"{n} of your leads {'was' if n == 1 else 'were'} {verb} by {who}: {reason}",
            url="/leads/",
            now=now,
        )


BATCH = 2000


@transaction.atomic
def leads_recall(
    *,
    leads_qs,
    actor,
    reason: str,
    now: datetime | None = None,
    pool_team: Team | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BulkResult:
    """召回: take owned leads back into the pool (public unless a team is given), set-wise in
    batches, one event per lead with the manager as actor and the reason; owners are notified.
    `progress(done, total)` is called after each batch (queued jobs report it to the admin)."""
    now = now or timezone.now()
    _require(actor, "leads.recall_lead")
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused("a reason is required")
    scoped = _scoped(leads_qs, actor)
    # One read gives both the owned ids (ascending, the waist's lock order across batches too)
    # and, when the scope narrowed nothing (managers), the total for the "skipped" figure.
    rows = list(scoped.order_by("pk").values_list("pk", "status"))
    ids = [pk for pk, status in rows if status in Lead.OWNED_STATUSES]
    total = len(rows) if user_is_manager(actor) else leads_qs.count()
    owners: Counter = Counter()
    changed = 0
    fields = {"pool_team": pool_team, "pool_reason": "recalled", "claim_due": None, "cascade_step": 0}
    for start in range(0, len(ids), BATCH):
        # Primary keys only: the waist locks and reads each row itself (and re-checks its status).
        requests = [
            TransitionRequest(
                lead=pk,
                status=Lead.Status.POOLED,
                owner=None,
                kind="recall",
                reason=reason,
                fields=fields,
            )
            for pk in ids[start : start + BATCH]
        ]
        events = leads_transition_bulk(requests, actor=actor, now=now, expect_status=Lead.OWNED_STATUSES)
        owners.update(e.from_owner_id for e in events if e.from_owner_id)
        changed += len(events)
        if progress is not None:
            progress(min(start + BATCH, len(ids)), len(ids))
    _notify_owners(owner_counts=owners, actor=actor, verb="recalled", reason=reason, now=now)
    return BulkResult(
        changed=changed, skipped=total - changed, message=f"{changed} leads recalled to the pool."
    )


def _team_rule(team: Team) -> AssignmentRule:
    """The rule that routes inside a team: the live rule targeting it, or plain round robin; a
    team with nobody eligible keeps the leads in its own pool."""
    from assignment.selectors import rules_for_trigger
    from assignment.strategies import PICKING

    _rule_set, rules = rules_for_trigger(trigger="new")
    base = next(
        (
            r
            for r in rules
            if r.active and r.target_team_id == team.pk and r.strategy in PICKING and not r.targets.all()
        ),
        None,
    )
    options = dict(base.options) if base and isinstance(base.options, dict) else {}
    options["cursor_key"] = f"rule:{base.pk}" if base else f"team:{team.pk}"
    rule = AssignmentRule(
        name=f"{team.name} team rule" if base is None else base.name,
        strategy=base.strategy if base else "round_robin",
        target_team=team,
        target_level=base.target_level if base else "",
        on_no_eligible=AssignmentRule.OnNoEligible.POOL,
        pool_team=team,
        options=options,
    )
    return rule


@transaction.atomic
def leads_transfer(
    *,
    leads_qs,
    actor,
    reason: str,
    to_rep: Rep | None = None,
    to_team: Team | None = None,
    now: datetime | None = None,
) -> BulkResult:
    """Hand leads to one rep (refused as a whole if it would break their hard cap) or to a team,
    routed inside it by its rule. Closed leads are left alone."""
    now = now or timezone.now()
    _require(actor, "leads.transfer_lead")
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused("a reason is required")
    if (to_rep is None) == (to_team is None):
        raise ActionRefused("transfer to exactly one rep or one team")
    scoped = _scoped(leads_qs, actor).exclude(status__in=Lead.TERMINAL_STATUSES)
    total = leads_qs.count()
    if to_rep is not None:
        return _transfer_to_rep(
            scoped=scoped, total=total, actor=actor, reason=reason, to_rep=to_rep, now=now
        )
    leads = list(scoped.order_by("pk"))
    ctx = RoutingContext(
        trigger="new", now=now, rules=[_team_rule(to_team)], rule_set=None, cursor_prefix="team"
    )
    owners: Counter = Counter(lead.owner_id for lead in leads if lead.owner_id)
    decisions = leads_route_bulk(
        leads,
        trigger="transfer",
        now=now,
        actor=actor,
        reason=reason,
        context=ctx,
        exclude_previous=True,
        kind="transfer",
    )
    changed = sum(1 for d in decisions if d.applied)
    _notify_owners(owner_counts=owners, actor=actor, verb="transferred", reason=reason, now=now)
    receivers = Counter(d.owner.pk for d in decisions if d.applied and d.owner is not None)
    _notify_receivers(receivers=receivers, actor=actor, reason=reason, now=now)
    pooled = sum(1 for d in decisions if d.applied and d.status == Lead.Status.POOLED)
    return BulkResult(
        changed=changed,
        skipped=total - changed,
        message=f"{changed} leads transferred to {to_team.name}"
        + (f" ({pooled} into its pool: nobody eligible)." if pooled else "."),
    )


def _notify_receivers(*, receivers: Counter, actor, reason: str, now: datetime) -> None:
    for rep in Rep.objects.select_related("user").filter(pk__in=list(receivers)):
        n = receivers[rep.pk]
        notifications_send(
            users=[rep.user],
            kind="transferred_in",
            message=f"{n} lead{'s' if n != 1 else ''} transferred to you: {reason}",
            url="/leads/",
            now=now,
        )


def _transfer_to_rep(*, scoped, total: int, actor, reason: str, to_rep: Rep, now: datetime) -> BulkResult:
    to_rep = _rep_lock(to_rep)
    if to_rep.status == Rep.Status.DEPARTED:
        raise ActionRefused(f"{to_rep.display_name} has departed")
    leads = list(scoped.exclude(owner=to_rep, status=Lead.Status.ASSIGNED).order_by("pk"))
    becoming_open = len(leads)  # every transferred lead becomes assigned (open) to the new rep
    load = Lead.objects.filter(owner=to_rep, status__in=open_lead_statuses()).count()
    if not rep_has_room(rep=to_rep, load=load, extra=becoming_open):
        raise ActionRefused(
            f"{to_rep.display_name} has {load}/{to_rep.max_open_leads} open leads: {becoming_open} more would break the cap"
        )
    owners: Counter = Counter(lead.owner_id for lead in leads if lead.owner_id)
    requests = [
        TransitionRequest(
            lead=lead,
            status=Lead.Status.ASSIGNED,
            owner=to_rep,
            kind="transfer",
            reason=reason,
            fields={"claim_due": None, "cascade_step": 0},
        )
        for lead in leads
    ]
    events = []
    for start in range(0, len(requests), BATCH):
        events += leads_transition_bulk(
            requests[start : start + BATCH],
            actor=actor,
            now=now,
            expect_status=[s for s in Lead.Status.values if s not in Lead.TERMINAL_STATUSES],
        )
    _notify_owners(owner_counts=owners, actor=actor, verb="transferred", reason=reason, now=now)
    _notify_receivers(
        receivers=Counter({to_rep.pk: len(events)}) if events else Counter(),
        actor=actor,
        reason=reason,
        now=now,
    )
    return BulkResult(
        changed=len(events),
        skipped=total - len(events),
        message=f"{len(events)} leads transferred to {to_rep.display_name}.",
    )


@transaction.atomic
def leads_reroute(
    *, leads_qs, actor, reason: str, now: datetime | None = None, trigger: str | None = None
) -> BulkResult:
    """Send leads through the rules again (the recycled-lead rule set when one is live), keeping
    each away from the rep who holds it now."""
    from assignment.selectors import rules_for_trigger

    now = now or timezone.now()
    _require(actor, "leads.transfer_lead")
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused("a reason is required")
    if trigger is None:
        trigger = "recycled" if rules_for_trigger(trigger="recycled")[0] is not None else "new"
    leads = list(_scoped(leads_qs, actor).exclude(status__in=Lead.TERMINAL_STATUSES).order_by("pk"))
    total = leads_qs.count()
    owners: Counter = Counter(lead.owner_id for lead in leads if lead.owner_id)
    decisions = []
    for start in range(0, len(leads), BATCH):
        decisions += leads_route_bulk(
            leads[start : start + BATCH],
            trigger=trigger,
            now=now,
            actor=actor,
            reason=reason,
            exclude_previous=True,
            kind="reroute",
        )
    changed = sum(1 for d in decisions if d.applied)
    _notify_owners(owner_counts=owners, actor=actor, verb="re-routed", reason=reason, now=now)
    return BulkResult(
        changed=changed, skipped=total - changed, message=f"{changed} leads re-routed by the rules."
    )


# --- departure ------------------------------------------------------------------------------------


@transaction.atomic
def rep_depart(
    *,
    rep: Rep,
    actor,
    open_to: str | Rep | Team = "pool",
    silent_to: str | Rep | Team = "pool",
    reason: str = "departure",
    now: datetime | None = None,
) -> dict:
    """A rep leaves: every open lead goes to the pool, one rep, or a team (routed by its rule),
    silent ones likewise (a rep keeps them silent), the account is closed and the rep is marked
    departed — all or nothing. History and metrics stay (the rep row is kept)."""
    now = now or timezone.now()
    if actor is None or not actor.has_perm("crm.depart_rep", rep):
        raise PermissionDenied("crm.depart_rep")
    rep = _rep_lock(rep)
    for target in (open_to, silent_to):
        if isinstance(target, Rep) and target.pk == rep.pk:
            raise ActionRefused("the departing rep cannot take their own leads")
    Rep.objects.filter(pk=rep.pk).update(status=Rep.Status.DEPARTED, departed_at=now)
    rep.status, rep.departed_at = Rep.Status.DEPARTED, now
    text = f"{reason}: {rep.display_name} left"
    moved = {"open": 0, "silent": 0}
    for status, target, key in (
        (Lead.Status.ASSIGNED, open_to, "open"),
        (Lead.Status.SILENT, silent_to, "silent"),
    ):
        leads = list(Lead.objects.filter(owner=rep, status=status).order_by("pk"))
        if not leads:
            continue
        moved[key] = _handover(leads=leads, status=status, target=target, actor=actor, reason=text, now=now)
    type(rep.user).objects.filter(pk=rep.user_id).update(is_active=False)
    left = Lead.objects.filter(owner=rep, status__in=Lead.OWNED_STATUSES).count()
    if left:
        raise ActionRefused(f"{left} leads could not be handed over; nothing was changed")
    return moved


def _handover(*, leads: list[Lead], status: str, target, actor, reason: str, now: datetime) -> int:
    if isinstance(target, Team):
        if status == Lead.Status.SILENT:
            requests = [
                TransitionRequest(
                    lead=lead,
                    status=Lead.Status.POOLED,
                    owner=None,
                    kind="handover",
                    reason=reason,
                    fields={"pool_team": target, "pool_reason": "departure", "cascade_step": 0},
                )
                for lead in leads
            ]
            return len(leads_transition_bulk(requests, actor=actor, now=now, expect_status=(status,)))
        ctx = RoutingContext(
            trigger="new", now=now, rules=[_team_rule(target)], rule_set=None, cursor_prefix="team"
        )
        decisions = leads_route_bulk(
            leads,
            trigger="handover",
            now=now,
            actor=actor,
            reason=reason,
            context=ctx,
            exclude_previous=True,
            kind="handover",
        )
        receivers = Counter(d.owner.pk for d in decisions if d.applied and d.owner is not None)
        _notify_receivers(receivers=receivers, actor=actor, reason=reason, now=now)
        return sum(1 for d in decisions if d.applied)
    if isinstance(target, Rep):
        receiver = _rep_lock(target)
        if receiver.status == Rep.Status.DEPARTED:
            raise ActionRefused(f"{receiver.display_name} has departed")
        if status == Lead.Status.ASSIGNED:
            load = Lead.objects.filter(owner=receiver, status__in=open_lead_statuses()).count()
            if not rep_has_room(rep=receiver, load=load, extra=len(leads)):
                raise ActionRefused(
                    f"{receiver.display_name} has {load}/{receiver.max_open_leads} open leads: "
                    f"{len(leads)} more would break the cap"
                )
        requests = [
            TransitionRequest(
                lead=lead,
                status=status,
                owner=receiver,
                kind="handover",
                reason=reason,
                fields={"claim_due": None},
            )
            for lead in leads
        ]
        events = leads_transition_bulk(requests, actor=actor, now=now, expect_status=(status,))
        _notify_receivers(receivers=Counter({receiver.pk: len(events)}), actor=actor, reason=reason, now=now)
        return len(events)
    requests = [
        TransitionRequest(
            lead=lead,
            status=Lead.Status.POOLED,
            owner=None,
            kind="handover",
            reason=reason,
            fields={"pool_team": None, "pool_reason": "departure", "claim_due": None, "cascade_step": 0},
        )
        for lead in leads
    ]
    return len(leads_transition_bulk(requests, actor=actor, now=now, expect_status=(status,)))
