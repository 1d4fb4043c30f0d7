"""Who may see and work a lead. The single definition of lead visibility; the list selector
leads.selectors.leads_visible_to mirrors it (rules cannot filter querysets).

A rep sees leads they own, pooled leads in pools open to them (public + their team's) and leads
they handled before (read-only); a team lead sees their team's; managers see all. Object
predicates answer False for obj=None, so model-level checks (the admin) fall to managers and,
for viewing, team leads: ordinary reps never get admin access through these rules.
"""

from __future__ import annotations

import rules

from crm.rules import is_manager, is_rep, is_team_lead, led_team_ids, no_object, user_rep
from leads.models import Lead


@rules.predicate
def owns_lead(user, lead) -> bool:
    rep = user_rep(user)
    return lead is not None and rep is not None and lead.owner_id == rep.pk


@rules.predicate
def lead_is_workable(user, lead) -> bool:
    """Only an assigned lead is worked; a silent one is frozen (静默), a closed one is history."""
    return lead is not None and lead.status == Lead.Status.ASSIGNED


@rules.predicate
def lead_in_open_pool(user, lead) -> bool:
    """Pooled in the public pool or in the pool of the rep's own team."""
    if lead is None or lead.status != Lead.Status.POOLED:
        return False
    rep = user_rep(user)
    if rep is None:
        return False
    return lead.pool_team_id is None or (rep.team_id is not None and lead.pool_team_id == rep.team_id)


@rules.predicate
def handled_lead_before(user, lead) -> bool:
    rep = user_rep(user)
    return lead is not None and rep is not None and lead.previous_owner_id == rep.pk


@rules.predicate
def lead_in_led_team(user, lead) -> bool:
    if lead is None:
        return False
    led = led_team_ids(user)
    return bool(led) and (lead.team_id in led or lead.pool_team_id in led)


# Model level (obj None): managers, and team leads, whose admin changelist is scoped to their
# teams by its get_queryset (assignment/admin.py); ordinary reps never.
can_view_lead = (
    is_manager
    | (is_team_lead & no_object)
    | (is_rep & (owns_lead | lead_in_open_pool | handled_lead_before))
    | lead_in_led_team
)
# Working a lead (log a follow-up, move its stage): its owner while assigned — never the old rep
# of a silent lead. Managers keep it so an object-aware admin still lets them edit.
can_change_lead = is_manager | (is_rep & owns_lead & lead_is_workable)

rules.add_perm("leads.view_lead", can_view_lead)
rules.add_perm("leads.change_lead", can_change_lead)

# App-label rule: the admin index lists the app for managers and team leads (each model still
# needs its own permission).
rules.add_perm("leads", is_manager | is_team_lead)

__all__ = [
    "can_change_lead",
    "can_view_lead",
    "handled_lead_before",
    "lead_in_led_team",
    "lead_in_open_pool",
    "lead_is_workable",
    "no_object",
    "owns_lead",
]
