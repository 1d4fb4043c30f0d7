"""Reads of the assignment layer: the active rules (kept per process while their catalogue
version stands still), the pools a rep may see and what a rep may still claim."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from assignment.models import AssignmentRule, RuleSet
from crm.catalogs import RULES, catalog_cached

# RuleSnapshot ids by digest, filled only after the creating transaction committed (routing.py).
rule_snapshot_ids: dict[str, int] = {}


def rules_for_trigger(*, trigger: str) -> tuple[RuleSet | None, list[AssignmentRule]]:
    """The active rule set for a trigger and its rules in evaluation order (targets preloaded).

    Loading 50 rules with their targets costs more than routing one lead, so the list is kept in
    memory while the "rules" catalogue version (crm.catalogs; triggers on rule sets, rules and
    targets) says nothing changed anywhere. Callers must treat the returned rules as read-only."""
    return catalog_cached(RULES, ("trigger", trigger), lambda: _rules_load(trigger))


def _rules_load(trigger: str) -> tuple[RuleSet | None, list[AssignmentRule]]:
    rule_set = RuleSet.objects.filter(trigger=trigger, is_active=True).order_by("pk").first()
    if rule_set is None:
        return None, []
    rules = list(
        AssignmentRule.objects.filter(rule_set=rule_set)
        .select_related("pool_team", "default_owner__user")
        .prefetch_related("targets")
        .order_by("position", "id")
    )
    for rule in rules:
        rule.rule_set = rule_set
    return rule_set, rules


def pool_leads_for(rep) -> QuerySet:
    """What a rep sees in the pool: the public pool and their own team's pool."""
    from assignment.pool import pool_visibility_q
    from leads.models import Lead

    return Lead.objects.filter(pool_visibility_q(rep))


def rep_claim_allowance(rep, now: datetime | None = None) -> dict:
    """Caps, counts and the plain reasons behind them, for the pool page."""
    from assignment.pool import claim_allowance

    return claim_allowance(rep=rep, now=now or timezone.now()).as_dict()


def leads_manageable_by(*, user) -> QuerySet:
    """Leads a user may recall or transfer: all for managers, their teams' for team leads
    (mirrors leads.recall_lead / leads.transfer_lead, which rules cannot apply to a queryset)."""
    from crm.rules import led_team_ids, user_is_manager
    from leads.models import Lead

    if user_is_manager(user):
        return Lead.objects.all()
    led = led_team_ids(user)
    if not led:
        return Lead.objects.none()
    return Lead.objects.filter(Q(team_id__in=led) | Q(pool_team_id__in=led))
