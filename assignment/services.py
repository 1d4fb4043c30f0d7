"""Writes of the assignment layer: routing, and (below) pool claims, recall, transfer, departure.

Every owner/status change goes through leads.services' waist. Lock order, everywhere here:
the routing mutex, then rep rows, then lead rows — so routing, claims and transfers queue
instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone

from assignment.models import AssignmentRule
from assignment.routing import ROUTABLE_STATUSES, ROUTE_EVENT_KIND, RoutingContext, RoutingDecision, lead_decide
from leads.models import Lead
from leads.services import TransitionRequest, leads_transition_bulk

__all__ = ["RoutingDecision", "lead_route", "leads_route_bulk"]


def _transition_request(decision: RoutingDecision, *, trigger: str, reason: str) -> TransitionRequest:
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
        kind=ROUTE_EVENT_KIND,
        reason=text,
        rule=rule,
        data={"explanation": decision.explanation, "trigger": trigger},
        fields=fields,
    )


def _rules_hit(*, hits: dict[int, int], now: datetime) -> None:
    """One UPDATE for all rules that decided in the batch."""
    if not hits:
        return
    AssignmentRule.objects.filter(pk__in=list(hits)).update(
        hit_count=Case(
            *[When(pk=pk, then=F("hit_count") + Value(n)) for pk, n in hits.items()],
            default=F("hit_count"),
            output_field=IntegerField(),
        ),
        last_matched_at=now,
    )


@transaction.atomic
def leads_route_bulk(
    leads: Iterable[Lead],
    *,
    trigger: str = "new",
    now: datetime | None = None,
    actor=None,
    reason: str = "",
    context: RoutingContext | None = None,
    exclude_previous: bool | None = None,
) -> list[RoutingDecision]:
    """Route leads in order with one in-memory context and write the results set-wise.

    The same leads routed one by one get the same owners: the context carries loads, quotas and
    cursors forward exactly as the database would between two calls. Leads that are closed are
    returned untouched (decision.applied is False). `exclude_previous` (default: on for the
    recycled trigger) keeps a lead away from the rep who just lost it.
    """
    now = now or timezone.now()
    leads = list(leads)
    if not leads:
        return []
    ctx = context or RoutingContext(trigger=trigger, now=now)
    ctx.mutex_acquire()
    if exclude_previous is None:
        exclude_previous = trigger == "recycled"
    decisions: list[RoutingDecision] = []
    for lead in leads:
        if lead.status not in ROUTABLE_STATUSES:
            decisions.append(RoutingDecision(lead=lead, status=lead.status, owner=lead.owner))
            continue
        ctx.exclude = {pk for pk in (lead.owner_id, lead.previous_owner_id) if pk} if exclude_previous else set()
        decisions.append(lead_decide(lead=lead, ctx=ctx))
    routed = [d for d in decisions if d.explanation]
    statuses = sorted({d.lead.status for d in routed})
    events = leads_transition_bulk(
        [_transition_request(d, trigger=trigger, reason=reason) for d in routed],
        actor=actor,
        now=now,
        expect_status=statuses,
    )
    by_lead = {event.lead_id: event for event in events}
    for decision in routed:
        decision.event = by_lead.get(decision.lead.pk)
    ctx.cursors_save()
    _rules_hit(hits=ctx.hits, now=now)
    return decisions


def lead_route(*, lead: Lead, trigger: str = "new", now: datetime | None = None, actor=None, reason: str = "") -> RoutingDecision:
    """Route one lead (fresh intake, or re-route of a pooled / silent / nurturing one)."""
    return leads_route_bulk([lead], trigger=trigger, now=now, actor=actor, reason=reason)[0]
