"""Reads of the life-cycle layer: what counts as contact, progress and rep-caused activity, which
stages a holding has reached, and which leads a policy edit touches. Each definition lives here
once; the sweeps, services, admin and tests all call these."""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery

from leads.models import Activity, Lead, LeadEvent
from lifecycle.models import Policy, Stage
from lifecycle.policies import stage_rank

STAGE_MOVED = "stage_moved"
ACTIVE_STATUSES = (Lead.Status.ASSIGNED, Lead.Status.SILENT, Lead.Status.POOLED)


def activity_is_by_holder(*, activity: Activity, lead: Lead) -> bool:
    """The rep's own work on a lead they hold (a colleague's note is not the holder's contact)."""
    return activity.actor == Activity.Actor.REP and (
        activity.rep_id is None or activity.rep_id == lead.owner_id
    )


def activity_is_contact(*, activity: Activity, lead: Lead) -> bool:
    """First contact: the holder reached the customer by call, visit, e-mail or WeCom."""
    return activity_is_by_holder(activity=activity, lead=lead) and activity.kind in Activity.CONTACT_KINDS


def activity_is_progress(*, activity: Activity, lead: Lead) -> bool:
    """Progress resets the no-progress clock: any contact by the holder (stage moves count too,
    in lead_stage_move). Notes alone do not, or a rep could keep a lead by typing."""
    return activity_is_contact(activity=activity, lead=lead)


def activity_is_rep_caused(*, activity: Activity) -> bool:
    """坐席原因: the rep's own outreach, or the customer answering it (a reply to a WeCom message)."""
    return activity.actor == Activity.Actor.REP or bool(activity.caused_by_rep)


def activity_is_customer_caused(*, activity: Activity) -> bool:
    """非坐席原因: the customer acting on their own (browsing the app, clicking an ad)."""
    return activity.actor == Activity.Actor.CUSTOMER and not activity.caused_by_rep


def lead_stage_reached_rank(*, lead: Lead, stages: list[Stage]) -> int:
    """How far the current holding has got: the highest stage rank reached since assignment.

    Read from the stage-move events (the audit log is the memory), so moving back and forth
    never grants an extension twice; with no move yet it is the stage the holding started at.
    """
    latest = (
        LeadEvent.objects.filter(lead=lead, kind=STAGE_MOVED, at__gte=lead.assigned_at)
        .order_by("-id")
        .values_list("data", flat=True)
        .first()
        if lead.assigned_at
        else None
    )
    if latest and "reached_rank" in latest:
        return int(latest["reached_rank"])
    current = next((s for s in stages if s.pk == lead.stage_id), None)
    return stage_rank(current, stages) if current else 0


def leads_in_policy_scope(*, lead_type_id: int | None, heat: str) -> QuerySet[Lead]:
    """Leads whose clocks a policy with this scope may set (rep level is left out: released leads
    follow their previous owner's level, so filtering on the owner would miss them)."""
    qs = Lead.objects.filter(status__in=ACTIVE_STATUSES)
    if lead_type_id:
        qs = qs.filter(lead_type_id=lead_type_id)
    if heat:
        qs = qs.filter(source__heat=heat)
    return qs


def leads_affected_by_policy(
    *, policy: Policy, old_scope: tuple[int | None, str] | None = None
) -> QuerySet[Lead]:
    """Every lead the edit may change: the new scope, plus the old one when the scope moved."""
    qs = leads_in_policy_scope(lead_type_id=policy.lead_type_id, heat=policy.heat)
    if old_scope is not None and old_scope != (policy.lead_type_id, policy.heat):
        old = leads_in_policy_scope(lead_type_id=old_scope[0], heat=old_scope[1])
        qs = Lead.objects.filter(Q(pk__in=qs.values("pk")) | Q(pk__in=old.values("pk")))
    return qs


def leads_with_entered_at(qs: QuerySet[Lead]) -> QuerySet[Lead]:
    """Annotate when each lead entered its current status (its latest transition event)."""
    latest = (
        LeadEvent.objects.filter(lead=OuterRef("pk")).exclude(to_status="").order_by("-id").values("at")[:1]
    )
    return qs.annotate(entered_at=Subquery(latest))
