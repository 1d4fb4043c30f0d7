"""Reads of the assignment layer: the active rules (cached per process, checked against the
database on every use), the pools a rep may see and what a rep may still claim."""

from __future__ import annotations

import threading
from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from assignment.models import AssignmentRule, RuleSet

_rules_cache: dict[str, tuple[tuple, RuleSet, list[AssignmentRule]]] = {}
_rules_lock = threading.Lock()
_generation = [0]


def rules_cache_clear(**_kwargs) -> None:
    """Called on every save/delete of a rule set, rule or target in this process (signals wired
    in apps.py), so a process never routes with rules it has just changed itself."""
    with _rules_lock:
        _generation[0] += 1
        _rules_cache.clear()


def _rules_version(trigger: str) -> tuple | None:
    row = (
        RuleSet.objects.filter(trigger=trigger, is_active=True)
        .annotate(
            n=Count("rules", distinct=True),
            changed=Max("rules__updated_at"),
            order=Sum("rules__position"),
            targets_changed=Max("rules__targets__updated_at"),
            targets=Count("rules__targets", distinct=True),
        )
        .values_list("pk", "updated_at", "n", "changed", "order", "targets_changed", "targets")
        .first()
    )
    return row


def rules_for_trigger(*, trigger: str) -> tuple[RuleSet | None, list[AssignmentRule]]:
    """The active rule set for a trigger and its rules in evaluation order (targets preloaded).

    Loading 50 rules with their targets costs more than routing one lead, so the list is kept per
    process and reused while one small version query says nothing changed anywhere. Callers must
    treat the returned rules as read-only."""
    version = _rules_version(trigger)
    if version is None:
        return None, []
    generation = _generation[0]
    key = (generation, *version)
    cached = _rules_cache.get(trigger)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    rules = list(
        AssignmentRule.objects.filter(rule_set_id=version[0])
        .select_related("rule_set", "pool_team", "default_owner__user")
        .prefetch_related("targets")
        .order_by("position", "id")
    )
    rule_set = rules[0].rule_set if rules else RuleSet.objects.get(pk=version[0])
    with _rules_lock:
        if _generation[0] == generation:
            _rules_cache[trigger] = (key, rule_set, rules)
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
