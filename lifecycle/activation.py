"""Activation: what activity does to a lead that is silent, released or nurturing.

- 静默期内激活: rep-caused activity → the old rep, always; the customer's own → a senior/expert
  old rep gets it back, a junior one's lead is re-routed by the 'reactivated' rules;
- 定向分配: after release, configured events inside the window → the rep who earned the lead;
- value rise: a nurturing lead that the customer's own activity made high-value is routed by the
  'new' rules; a rise caused by a rep never recalls anything (fairness).
Called by lifecycle.services.activity_log with the lead locked.
"""

from __future__ import annotations

from datetime import datetime

from assignment.services import lead_route
from crm.models import Rep
from crm.services import notifications_send
from leads.models import Activity, Lead, Tier
from leads.services import lead_transition
from lifecycle.clocks import lead_policy
from lifecycle.policies import duration_words
from lifecycle.selectors import activity_is_customer_caused, activity_is_rep_caused

SENIOR_LEVELS = (Rep.Level.SENIOR, Rep.Level.EXPERT)

# Transition kinds written here (LeadEvent.kind).
KIND_ACTIVATED = "activated"
KIND_REACTIVATED = "reactivated"


def _lead_label(lead: Lead) -> str:
    return f"{lead} (#{lead.pk})"


def _notify_rep(*, rep_id: int | None, kind: str, message: str, lead: Lead, now: datetime) -> None:
    if not rep_id:
        return
    rep = Rep.objects.select_related("user").get(pk=rep_id)
    notifications_send(users=[rep.user], kind=kind, message=message, lead_id=lead.pk, email=True, now=now)


def _route(*, lead: Lead, trigger: str, now: datetime, reason: str = "") -> None:
    lead_route(lead=lead, trigger=trigger, now=now, reason=reason)


def lead_activate_in_silence(*, lead: Lead, activity: Activity, now: datetime) -> None:
    """静默期内激活: rep-caused → the old rep, always; customer-caused → a senior/expert old rep
    gets it back, a junior one's lead is woken and re-routed by the 'reactivated' rules."""
    if activity.actor == Activity.Actor.SYSTEM:
        return
    owner = Rep.objects.get(pk=lead.owner_id)
    what = activity.get_kind_display()
    available = owner.status != Rep.Status.DEPARTED
    if activity_is_rep_caused(activity=activity) and available:
        reason = f"Reactivated during silence by {owner}'s own outreach ({what}): back to {owner}"
        restore = True
    elif activity_is_customer_caused(activity=activity) and available and owner.level in SENIOR_LEVELS:
        reason = f"Reactivated during silence by the customer ({what}); {owner} is {owner.level}: restored"
        restore = True
    else:
        reason = (
            f"Woken from silence by the customer ({what}); {owner} is {owner.level}"
            f"{' and has left' if not available else ''}: re-routed by the rules"
        )
        restore = False
    if restore:
        event = lead_transition(
            lead=lead,
            status=Lead.Status.ASSIGNED,
            owner=owner,
            kind=KIND_ACTIVATED,
            reason=reason,
            data={"activity": activity.pk, "activity_kind": activity.kind},
            now=now,
            expect_status=[Lead.Status.SILENT],
        )
        if event:
            _notify_rep(
                rep_id=owner.pk,
                kind="reactivated",
                message=f"{_lead_label(lead)}: {reason}",
                lead=lead,
                now=now,
            )
        return
    # Woken and re-routed in one step: the routing event carries this reason and the explanation.
    _route(lead=lead, trigger="reactivated", now=now, reason=reason)


def lead_reactivate_directed(*, lead: Lead, activity: Activity, now: datetime, cache: dict) -> None:
    """定向分配: after release, configured events inside the window route the lead back to the
    rep who earned it (a lapsed renewal, a new lead from the rep's WeCom contact)."""
    if not (lead.previous_owner_id and lead.released_at and lead.reactivation_until):
        return
    at = activity.occurred_at or now
    if not (lead.released_at <= at <= lead.reactivation_until):
        return
    policy = lead_policy(lead, rep_id=lead.previous_owner_id, cache=cache)
    if activity.kind not in policy.reactivation_kinds:
        return
    rep = Rep.objects.get(pk=lead.previous_owner_id)
    if rep.status == Rep.Status.DEPARTED:
        return
    window = policy.source("reactivation_window")
    reason = (
        f"Directed reactivation: {activity.get_kind_display()} within "
        f"{duration_words(window.value) if window else 'the window'} of release"
        f"{f' (policy {window.policy_name!r})' if window else ''}: back to {rep}"
    )
    event = lead_transition(
        lead=lead,
        status=Lead.Status.ASSIGNED,
        owner=rep,
        kind=KIND_REACTIVATED,
        reason=reason,
        data={"activity": activity.pk, "activity_kind": activity.kind},
        now=now,
        expect_status=[Lead.Status.POOLED],
    )
    if event:
        _notify_rep(
            rep_id=rep.pk, kind="reactivated", message=f"{_lead_label(lead)}: {reason}", lead=lead, now=now
        )


def lead_recall_on_value_rise(*, lead: Lead, activity: Activity, now: datetime) -> None:
    """从自动化/孵化中召回: a nurturing lead whose value rose to high through the customer's own
    activity is routed by the high-value rules at once. A rise caused by a rep never recalls."""
    old, new = getattr(activity, "tier_change", (None, None)) or (None, None)
    if new != Tier.HIGH or old == Tier.HIGH:
        return
    if not activity_is_customer_caused(activity=activity):
        return
    _route(lead=lead, trigger="new", now=now)
