"""Reads of the assignment layer: the active rules (cached per process, checked against the
database on every use), the pools a rep may see and what a rep may still claim."""

from __future__ import annotations

import threading
from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from assignment.models import AssignmentRule, RuleSet

_rules_cache: dict[str, tuple[tuple, RuleSet, list[AssignmentRule]]] = {}
_rules_lock = threading.Lock()
_generation = [0]
# RuleSnapshot ids by digest, filled only after the creating transaction committed (routing.py).
rule_snapshot_ids: dict[str, int] = {}


def rules_cache_clear(**_kwargs) -> None:
    """Called on every save/delete of a rule set, rule or target in this process (signals wired
    in apps.py), so a process never routes with rules it has just changed itself."""
    with _rules_lock:
        _generation[0] += 1
        _rules_cache.clear()
        rule_snapshot_ids.clear()


def _rules_version(trigger: str) -> tuple | None:
    """What identifies the live rule list: any edit, reorder, target change or switch of the
    active set changes one of these figures. Plain SQL: this runs before every routing, and
    compiling the equivalent annotated ORM query cost more than running it."""
    from assignment.models import RuleTarget

    rs, rule, target = RuleSet._meta.db_table, AssignmentRule._meta.db_table, RuleTarget._meta.db_table
    sql = (
        f"SELECT s.id, s.updated_at, COUNT(DISTINCT r.id), MAX(r.updated_at), SUM(r.position), "
        f"MAX(t.updated_at), COUNT(DISTINCT t.id) FROM {rs} s "
        f"LEFT JOIN {rule} r ON r.rule_set_id = s.id LEFT JOIN {target} t ON t.rule_id = r.id "
        f"WHERE s.{connection.ops.quote_name('trigger')} = %s AND s.is_active = %s "
        f"GROUP BY s.id, s.updated_at ORDER BY s.id LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [trigger, True])
        row = cursor.fetchone()
    return tuple(row) if row else None


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
