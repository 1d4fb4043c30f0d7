"""Due-work passes over the indexed clock columns: one idempotent sweep does every transition whose
time has come.

How a pass stays safe with several workers and after a crash:
- each pass selects only `<due column> <= now` (each column indexed), in batches;
- a batch is one short transaction: `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, then the
  waist's bulk form with `expect_status`, which re-reads every row under the same lock, then
  commit — a second worker skips rows the first holds and, once committed, they are no longer due;
- every transition clears or moves the due column it was selected by (the clock hook), so a
  second run at the same instant finds nothing, and a crash loses at most one uncommitted batch,
  which the next run redoes.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import OuterRef, Subquery

from assignment.models import AssignmentRule, RuleSet
from assignment.routing import RoutingContext
from assignment.services import leads_route_bulk, rep_penalize, reps_penalties_expire
from crm.models import Rep, Team
from crm.services import notifications_send
from leads.models import Lead, LeadEvent
from leads.services import TransitionRequest, leads_transition_bulk
from lifecycle.clocks import (
    POOL_REASON_CASCADE,
    POOL_REASON_CLAIM_LAPSED,
    POOL_REASON_RECALLED,
    POOL_REASON_RELEASED,
    WARNED_DEADLINES,
    claim_follow_up_defaults,
    lead_policy,
    rep_levels,
)
from lifecycle.models import Policy
from lifecycle.policies import duration_words, window_words

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
CLAIM_EVENT_KIND = "claim"

# Transition kinds (LeadEvent.kind) written by the sweep.
KIND_FIRST_CONTACT_RECALL = "sla_recall"
KIND_PROGRESS_RECALL = "progress_recall"
KIND_CLAIM_LAPSED = "claim_lapsed"
KIND_SILENCED = "silenced"
KIND_RELEASED = "released"
KIND_CASCADE = "cascade_step"

COUNTS = (
    "penalties_expired",
    "first_contact_recalls",
    "progress_recalls",
    "claims_lapsed",
    "silenced",
    "released",
    "cascaded",
    "rerouted",
    "warnings",
    "clocks_cleared",
)


@dataclass
class Outbox:
    """Notifications of one batch, grouped per rep and kind so a rep who lost twenty leads gets
    one message, not twenty (and the query count per batch stays bounded by reps, not leads)."""

    items: dict[tuple[int, str], list[tuple[Lead, str]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, *, rep_id: int | None, kind: str, lead: Lead, text: str) -> None:
        if rep_id:
            self.items[(rep_id, kind)].append((lead, text))

    def send(self, *, now: datetime, verbs: dict[str, str]) -> None:
        if not self.items:
            return
        users = {
            rep.pk: rep.user
            for rep in Rep.objects.filter(pk__in={k[0] for k in self.items}).select_related("user")
        }
        for (rep_id, kind), entries in self.items.items():
            user = users.get(rep_id)
            if user is None:
                continue
            lead, text = entries[0]
            if len(entries) == 1:
                message = f"{lead} (#{lead.pk}): {text}"
                lead_id = lead.pk
            else:
                message = f"{len(entries)} leads {verbs.get(kind, kind)}, e.g. {lead} (#{lead.pk}): {text}"
                lead_id = None
            notifications_send(users=[user], kind=kind, message=message, lead_id=lead_id, email=True, now=now)


VERBS = {
    "recalled": "were recalled",
    "silenced": "went silent",
    "released": "were released",
    "warning": "have deadlines coming up",
    "claim_lapsed": "lapsed without follow-up",
}


def _due(*, field_name: str, now: datetime, exclude: set[int], batch_size: int) -> list[Lead]:
    """One batch of due leads, locked and skipped-if-locked where the database can.

    Filtered on the due column alone, so the plan is a range scan of that column's index that
    stops at the LIMIT (with a status condition the planner may pick the status index and sort
    every held lead). The status is checked in Python and again under the lock by the waist.
    """
    qs = Lead.objects.filter(**{f"{field_name}__lte": now})
    if exclude:
        qs = qs.exclude(pk__in=exclude)
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, no_key=True, of=("self",))
    return list(qs.order_by(field_name)[:batch_size])


def _pass(
    *,
    field_name: str,
    status: str,
    now: datetime,
    act: Callable[[list[Lead]], int],
    counts: dict[str, int],
    after: Callable[[], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Run `act` over every due batch in `status`, one short transaction (and commit) per batch.

    A due clock on a lead in another status no longer applies (a won lead's hold for repeat
    sales, or a clock left by code outside the waist): it is cleared, which keeps the indexes
    holding live deadlines only. A row seen twice means `act` did not move its clock (it always
    should); it is excluded so the pass cannot spin, and logged.
    """
    done = 0
    seen: set[int] = set()
    stuck: set[int] = set()
    while True:
        with transaction.atomic():
            rows = _due(field_name=field_name, now=now, exclude=stuck, batch_size=batch_size)
            fresh = [row for row in rows if row.pk not in seen]
            repeated = {row.pk for row in rows} - {row.pk for row in fresh}
            if repeated:
                logger.warning(
                    "sweep %s: leads %s still due after acting on them", field_name, sorted(repeated)[:20]
                )
                stuck |= repeated
            if not fresh:
                if repeated:
                    continue
                break
            seen.update(row.pk for row in fresh)
            others = [row.pk for row in fresh if row.status != status]
            if others:
                counts["clocks_cleared"] += Lead.objects.filter(pk__in=others).update(**{field_name: None})
            matching = [row for row in fresh if row.status == status]
            if matching:
                done += act(matching)
        if after is not None:
            after()
    return done


def _breach_words(window) -> str:
    return f" (policy {window.policy_name!r})" if window else ""


def _best_performer_context(*, team_id: int | None, now: datetime) -> RoutingContext:
    """A one-off rule list for the 'top_performer' breach: the team's best-converting rep (the
    routing engine's own strategy, so eligibility and explanations are the usual ones), else
    the public pool. The rules are drafts: nothing is saved and no rule counter moves."""
    best = AssignmentRule(
        name="Best-converting rep (policy breach)", strategy="top_performer", target_team_id=team_id
    )
    fallback = AssignmentRule(name="Nobody eligible: public pool", strategy="pool", is_default=True)
    return RoutingContext(trigger="recycled", now=now, rules=[best, fallback])


def _next_tier_team(*, team_id: int | None, cache: dict) -> Team | None:
    """The pool a lead cascades to from `team_id`: a child team of a higher tier first, then
    the first team of the next tier; None means the public pool (the end of the cascade)."""
    teams = cache.get("teams")
    if teams is None:
        teams = cache["teams"] = list(Team.objects.order_by("tier", "name"))
    current = next((t for t in teams if t.pk == team_id), None)
    tier = current.tier if current else 0
    higher = [t for t in teams if t.tier > tier]
    if not higher:
        return None
    children = [t for t in higher if current is not None and t.parent_id == current.pk]
    return (children or higher)[0]


class Sweep:
    """One run at one instant; holds the policy cache and the leads to route after commit."""

    def __init__(self, *, now: datetime, batch_size: int = BATCH_SIZE) -> None:
        self.now = now
        self.batch_size = batch_size
        self.cache: dict = {}
        self.counts = dict.fromkeys(COUNTS, 0)
        self.to_route: list[int] = []
        self.to_best: dict[int | None, list[int]] = defaultdict(list)  # team id -> lead ids

    # -- routing after commit --------------------------------------------------------------
    def _route_pending(self) -> None:
        """Re-route leads recalled or released in the batch just committed: by the 'recycled'
        rules, or to the best performer of the old rep's team when the policy says so. The old
        rep is left out either way. A routing failure leaves them pooled (a valid, visible state)
        and is logged, so the clock keeps ticking even if a rule is broken."""
        ids, self.to_route = self.to_route, []
        best, self.to_best = self.to_best, defaultdict(list)
        jobs: list[tuple[list[int], RoutingContext | None]] = []
        if ids and RuleSet.objects.filter(trigger="recycled", is_active=True).exists():
            jobs.append((ids, None))
        for team_id, lead_ids in best.items():
            jobs.append((lead_ids, _best_performer_context(team_id=team_id, now=self.now)))
        for lead_ids, context in jobs:
            try:
                leads = list(Lead.objects.filter(pk__in=lead_ids, status=Lead.Status.POOLED).order_by("pk"))
                decisions = leads_route_bulk(leads, trigger="recycled", now=self.now, context=context)
            except Exception:
                logger.exception(
                    "sweep: re-routing %d recalled leads failed; they stay in the pool", len(lead_ids)
                )
                continue
            self.counts["rerouted"] += sum(
                1 for d in decisions if d.applied and d.status == Lead.Status.ASSIGNED
            )

    # -- SLA recalls ---------------------------------------------------------------------------
    def _recall(self, rows: list[Lead], *, window_name: str, kind: str, words: Callable[[str], str]) -> int:
        requests = []
        outbox = Outbox()
        for lead in rows:
            policy = lead_policy(lead, rep_id=lead.owner_id, cache=self.cache)
            window = policy.source(window_name)
            span = window_words(window_name, window.value) if window else "the agreed time"
            reason = words(span) + _breach_words(window)
            action = window.on_breach if window else Policy.Breach.POOL
            fields = {"pool_reason": POOL_REASON_RECALLED, "pool_team": None}
            if action == Policy.Breach.NEXT_TIER:
                team = _next_tier_team(team_id=lead.team_id, cache=self.cache)
                if team is not None:
                    fields = {"pool_reason": POOL_REASON_CASCADE, "pool_team": team, "cascade_step": 1}
                    reason += f": offered to {team.name}'s pool"
            elif action == Policy.Breach.REROUTE:
                reason += ": re-routed by the recycled-lead rules"
            elif action == Policy.Breach.TOP_PERFORMER:
                reason += ": to the best-converting rep of the team"
            else:
                reason += ": back to the pool"
            requests.append(
                TransitionRequest(
                    lead=lead,
                    status=Lead.Status.POOLED,
                    owner=None,
                    kind=kind,
                    reason=reason,
                    data={"policy": window.policy_id if window else None, "on_breach": action},
                    fields=fields,
                )
            )
            outbox.add(rep_id=lead.owner_id, kind="recalled", lead=lead, text=reason)
            if action == Policy.Breach.REROUTE:
                self.to_route.append(lead.pk)
            elif action == Policy.Breach.TOP_PERFORMER:
                self.to_best[lead.team_id].append(lead.pk)
        events = leads_transition_bulk(requests, now=self.now, expect_status=[Lead.Status.ASSIGNED])
        outbox.send(now=self.now, verbs=VERBS)
        return len(events)

    def first_contact(self) -> None:
        self.counts["first_contact_recalls"] = _pass(
            counts=self.counts,
            field_name="first_contact_due",
            status=Lead.Status.ASSIGNED,
            now=self.now,
            batch_size=self.batch_size,
            act=lambda rows: self._recall(
                rows,
                window_name="first_contact_sla",
                kind=KIND_FIRST_CONTACT_RECALL,
                words=lambda span: f"No first contact within {span}",
            ),
            after=self._route_pending,
        )

    def progress(self) -> None:
        self.counts["progress_recalls"] = _pass(
            counts=self.counts,
            field_name="progress_due",
            status=Lead.Status.ASSIGNED,
            now=self.now,
            batch_size=self.batch_size,
            act=lambda rows: self._recall(
                rows,
                window_name="progress_window",
                kind=KIND_PROGRESS_RECALL,
                words=lambda span: f"No progress for more than {span}",
            ),
            after=self._route_pending,
        )

    # -- claims --------------------------------------------------------------------------------
    def _claims(self, rows: list[Lead]) -> int:
        """A claimed lead not followed up in time goes back to the pool and its claimer is
        penalized. A lead that reached its holder otherwise (routed out of the pool) only loses
        the claim clock: nobody is penalized for a lead they did not choose."""
        latest = (
            LeadEvent.objects.filter(lead=OuterRef("pk"))
            .exclude(to_status="")
            .order_by("-id")
            .values("kind")[:1]
        )
        kinds = dict(
            Lead.objects.filter(pk__in=[r.pk for r in rows])
            .annotate(k=Subquery(latest))
            .values_list("pk", "k")
        )
        claimed = [r for r in rows if kinds.get(r.pk) == CLAIM_EVENT_KIND]
        claimers = {r.pk: r.owner_id for r in claimed}  # the waist clears owner_id on the rows
        routed = [r.pk for r in rows if kinds.get(r.pk) != CLAIM_EVENT_KIND]
        if routed:
            Lead.objects.filter(pk__in=routed).update(claim_due=None)
        requests = []
        outbox = Outbox()
        for lead in claimed:
            policy = lead_policy(lead, rep_id=lead.owner_id, cache=self.cache)
            window = policy.source("claim_follow_up")
            if window:
                span, origin = window_words("claim_follow_up", window.value), _breach_words(window)
            else:
                level = rep_levels(cache=self.cache).get(lead.owner_id, "")
                default = claim_follow_up_defaults(cache=self.cache).get(level)
                span = window_words("claim_follow_up", default) if default else "the agreed time"
                origin = f" (claim policy for {level} reps)" if default else ""
            reason = f"Claimed but not followed up within {span}{origin}: back to the pool"
            requests.append(
                TransitionRequest(
                    lead=lead,
                    status=Lead.Status.POOLED,
                    owner=None,
                    kind=KIND_CLAIM_LAPSED,
                    reason=reason,
                    fields={"pool_reason": POOL_REASON_CLAIM_LAPSED, "pool_team": None},
                )
            )
            outbox.add(rep_id=lead.owner_id, kind="claim_lapsed", lead=lead, text=reason)
        events = leads_transition_bulk(requests, now=self.now, expect_status=[Lead.Status.ASSIGNED])
        moved = {e.lead_id for e in events}
        lapsed = Counter(owner for pk, owner in claimers.items() if pk in moved)
        for rep in Rep.objects.filter(pk__in=list(lapsed)).select_related("user", "team"):
            count = lapsed[rep.pk]
            rep_penalize(
                rep=rep,
                reason=f"{count} claimed lead{'s' if count != 1 else ''} lapsed without follow-up",
                now=self.now,
            )
        outbox.send(now=self.now, verbs=VERBS)
        return len(events)

    def claims(self) -> None:
        self.counts["claims_lapsed"] = _pass(
            counts=self.counts,
            field_name="claim_due",
            status=Lead.Status.ASSIGNED,
            now=self.now,
            act=self._claims,
            batch_size=self.batch_size,
        )

    # -- validity and silence ------------------------------------------------------------------
    def _silence(self, rows: list[Lead]) -> int:
        requests = []
        outbox = Outbox()
        reps = {rep.pk: rep for rep in Rep.objects.filter(pk__in={r.owner_id for r in rows})}
        for lead in rows:
            policy = lead_policy(lead, rep_id=lead.owner_id, cache=self.cache)
            validity, silence = policy.source("validity"), policy.get("silence_window")
            reason = (
                f"Validity{f' of {duration_words(validity.value)}' if validity else ''} ended{_breach_words(validity)}: "
                f"silent{f' for {duration_words(silence)}' if silence else ''}, then released"
            )
            requests.append(
                TransitionRequest(
                    lead=lead,
                    status=Lead.Status.SILENT,
                    owner=reps[lead.owner_id],
                    kind=KIND_SILENCED,
                    reason=reason,
                )
            )
            outbox.add(rep_id=lead.owner_id, kind="silenced", lead=lead, text=reason)
        events = leads_transition_bulk(requests, now=self.now, expect_status=[Lead.Status.ASSIGNED])
        outbox.send(now=self.now, verbs=VERBS)
        return len(events)

    def validity(self) -> None:
        self.counts["silenced"] = _pass(
            counts=self.counts,
            field_name="valid_until",
            status=Lead.Status.ASSIGNED,
            now=self.now,
            act=self._silence,
            batch_size=self.batch_size,
        )

    def _release(self, rows: list[Lead]) -> int:
        requests = []
        outbox = Outbox()
        for lead in rows:
            policy = lead_policy(lead, rep_id=lead.owner_id, cache=self.cache)
            silence = policy.source("silence_window")
            reason = (
                f"Silence{f' of {duration_words(silence.value)}' if silence else ''} ended{_breach_words(silence)}: "
                "released to the pool (previous owner remembered)"
            )
            requests.append(
                TransitionRequest(
                    lead=lead,
                    status=Lead.Status.POOLED,
                    owner=None,
                    kind=KIND_RELEASED,
                    reason=reason,
                    fields={"pool_reason": POOL_REASON_RELEASED, "pool_team": None},
                )
            )
            outbox.add(rep_id=lead.owner_id, kind="released", lead=lead, text=reason)
        events = leads_transition_bulk(requests, now=self.now, expect_status=[Lead.Status.SILENT])
        self.to_route.extend(e.lead_id for e in events)
        outbox.send(now=self.now, verbs=VERBS)
        return len(events)

    def silence(self) -> None:
        self.counts["released"] = _pass(
            counts=self.counts,
            field_name="silent_until",
            status=Lead.Status.SILENT,
            now=self.now,
            act=self._release,
            after=self._route_pending,
            batch_size=self.batch_size,
        )

    # -- cascade -------------------------------------------------------------------------------
    def _cascade(self, rows: list[Lead]) -> int:
        requests = []
        for lead in rows:
            policy = lead_policy(lead, rep_id=None, cache=self.cache)
            window = policy.source("cascade_window")
            # A lead whose team pool vanished (team deleted) ends its cascade in the public pool.
            team = _next_tier_team(team_id=lead.pool_team_id, cache=self.cache) if lead.pool_team_id else None
            here = next(
                (t.name for t in self.cache.get("teams", ()) if t.pk == lead.pool_team_id), "the team"
            )
            waited = f" within {window_words('cascade_window', window.value)}" if window else ""
            target = f"{team.name}'s pool (tier {team.tier})" if team else "the public pool"
            reason = f"Nobody claimed or progressed it{waited} in {here}'s pool{_breach_words(window)}: offered to {target}"
            requests.append(
                TransitionRequest(
                    lead=lead,
                    status=Lead.Status.POOLED,
                    owner=None,
                    kind=KIND_CASCADE,
                    reason=reason,
                    fields={
                        "pool_reason": POOL_REASON_CASCADE,
                        "pool_team": team,
                        "cascade_step": lead.cascade_step + 1,
                    },
                )
            )
        return len(leads_transition_bulk(requests, now=self.now, expect_status=[Lead.Status.POOLED]))

    def cascade(self) -> None:
        self.counts["cascaded"] = _pass(
            counts=self.counts,
            field_name="cascade_due",
            status=Lead.Status.POOLED,
            now=self.now,
            act=self._cascade,
            batch_size=self.batch_size,
        )

    # -- warnings ------------------------------------------------------------------------------
    def _warn(self, rows: list[Lead]) -> int:
        """Warn once per deadline: everything due within the lead time is in this warning, and
        warn_at moves to the next deadline's warning time (or clears)."""
        outbox = Outbox()
        warned = 0
        for lead in rows:
            policy = lead_policy(lead, rep_id=lead.owner_id, cache=self.cache)
            lead_time = policy.get("warning_lead_time") or timedelta(0)
            upcoming = {name: getattr(lead, name) for name in WARNED_DEADLINES if getattr(lead, name)}
            imminent = [(name, d) for name, d in upcoming.items() if d - lead_time <= self.now < d]
            later = [d - lead_time for d in upcoming.values() if d - lead_time > self.now]
            lead.warn_at = min(later, default=None)
            if imminent:
                text = "; ".join(
                    f"{WARNED_DEADLINES[name]} due in {_remaining_words(d - self.now)}"
                    for name, d in sorted(imminent, key=lambda item: item[1])
                )
                outbox.add(rep_id=lead.owner_id, kind="warning", lead=lead, text=text)
                warned += 1
        Lead.objects.bulk_update(rows, ["warn_at"])
        outbox.send(now=self.now, verbs=VERBS)
        return warned

    def warnings(self) -> None:
        self.counts["warnings"] = _pass(
            counts=self.counts,
            field_name="warn_at",
            status=Lead.Status.ASSIGNED,
            now=self.now,
            act=self._warn,
            batch_size=self.batch_size,
        )

    # -- housekeeping --------------------------------------------------------------------------
    def penalties(self) -> None:
        expired = reps_penalties_expire(now=self.now)
        self.counts["penalties_expired"] = expired

    def run(self) -> dict[str, int]:
        """Every pass in order; a pass runs only when the probe says its column has something
        due, and the probe is repeated after a pass acted (silence may start and end at once)."""
        self.penalties()
        passes = [
            ("first_contact_due", self.first_contact),
            ("progress_due", self.progress),
            ("claim_due", self.claims),
            ("valid_until", self.validity),
            ("silent_until", self.silence),
            ("cascade_due", self.cascade),
            ("warn_at", self.warnings),
        ]
        due = columns_due(names=[name for name, _ in passes], now=self.now)
        for name, run_pass in passes:
            if name not in due:
                continue
            before = sum(self.counts.values())
            run_pass()
            if sum(self.counts.values()) != before:
                due = columns_due(names=[name for name, _ in passes], now=self.now)
        return self.counts


def columns_due(*, names: list[str], now: datetime) -> set[str]:
    """Which clock columns have anything due, in one round trip of index probes (an idle sweep
    then costs two statements whatever the table size)."""
    table = connection.ops.quote_name(Lead._meta.db_table)
    probes = []
    for name in names:
        column = connection.ops.quote_name(Lead._meta.get_field(name).column)
        # ORDER BY + LIMIT 1 makes it an index probe; a bare EXISTS may be planned as a scan
        # that, with nothing due, reads the whole table.
        probes.append(f"(SELECT 1 FROM {table} WHERE {column} <= %s ORDER BY {column} LIMIT 1)")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(probes)}", [now] * len(names))  # names are model fields
        flags = cursor.fetchone()
    return {name for name, flag in zip(names, flags, strict=True) if flag}


def _remaining_words(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes >= 60:
        return duration_words(timedelta(hours=round(minutes / 60)), hours_up_to=timedelta(hours=72))
    return duration_words(timedelta(minutes=minutes))


def sweep_run(*, now: datetime, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Run every due transition at `now` and return counts per transition kind."""
    return Sweep(now=now, batch_size=batch_size).run()
