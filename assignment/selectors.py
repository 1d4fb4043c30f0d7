"""Reads of the assignment layer: the active rules (kept per process while their catalogue
version stands still), the pools a rep may see and what a rep may still claim."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from assignment.models import AssignmentRule, RuleSet
from assignment.strategies import PICKING
from crm.catalogs import RULES, catalog_cached
from crm.models import Rep

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


def rule_set_warnings(*, rule_set: RuleSet) -> dict[int, list[str]]:
    """What is wrong with a rule set as a manager arranged it, by rule id, in plain words: rules
    that can never be reached because an earlier rule takes every lead (the classic mistake
    of dragging a catch-all up), and picking rules whose target has nobody left to pick.

    Routing already survives both (the lead falls through to the default, and the explanation
    says why), but each lead's explanation is the wrong place to learn that a rule is dead:
    this is shown next to the rules, where they are ordered."""
    rules = list(
        AssignmentRule.objects.filter(rule_set=rule_set)
        .select_related("target_team", "default_owner")
        .prefetch_related("targets__rep__user")
        .order_by("position", "id")
    )
    team_ids = {rule.target_team_id for rule in rules if rule.target_team_id}
    staffed: dict[tuple[int, str], int] = {}
    for team_id, level in (
        Rep.objects.filter(team_id__in=team_ids)
        .exclude(status=Rep.Status.DEPARTED)
        .values_list("team_id", "level")
    ):
        staffed[(team_id, "")] = staffed.get((team_id, ""), 0) + 1
        staffed[(team_id, level)] = staffed.get((team_id, level), 0) + 1
    warnings: dict[int, list[str]] = {rule.pk: [] for rule in rules}
    catch_all: tuple[int, AssignmentRule] | None = None
    for n, rule in enumerate(rules, start=1):
        if not rule.active:
            continue
        found = warnings[rule.pk]
        if catch_all is not None:
            found.append(
                _("Never reached: rule %(n)s “%(name)s” above it takes every lead.")
                % {"n": catch_all[0], "name": catch_all[1].name}
            )
        if rule.strategy in PICKING:
            found += _target_warnings(rule, staffed)
        if catch_all is None and not rule.is_default and _takes_every_lead(rule):
            catch_all = (n, rule)
    return warnings


def _takes_every_lead(rule: AssignmentRule) -> bool:
    """No condition and no schedule (as routing reads one), and it decides even when nobody is
    eligible."""
    if rule.conditions or rule.any_conditions:
        return False
    if rule.schedule_days or (rule.schedule_start and rule.schedule_end):
        return False
    return rule.strategy not in PICKING or rule.on_no_eligible == AssignmentRule.OnNoEligible.POOL


def _target_warnings(rule: AssignmentRule, staffed: dict[tuple[int, str], int]) -> list[str]:
    targets = list(rule.targets.all())
    if targets:
        gone = [t.rep for t in targets if t.rep.status == Rep.Status.DEPARTED]
        if len(gone) == len(targets):
            return [_("Nobody to pick: every rep it names has left.")]
        if gone:
            names = ", ".join(rep.display_name for rep in gone)
            return [_("Names reps who have left (they are skipped): %(names)s.") % {"names": names}]
        return []
    if rule.strategy == "direct" and rule.default_owner_id:  # the lane's named rep, as routing reads it
        if rule.default_owner.status == Rep.Status.DEPARTED:
            return [_("Nobody to pick: every rep it names has left.")]
        return []
    level = rule.target_level or ""
    if rule.target_team_id and not staffed.get((rule.target_team_id, level), 0):
        if level:
            return [
                _("Nobody to pick: team “%(team)s” has no %(level)s reps who have not left.")
                % {
                    "team": rule.target_team.name,
                    "level": Rep.Level(level).label if level in Rep.Level.values else level,
                }
            ]
        return [
            _("Nobody to pick: team “%(team)s” has no reps who have not left.")
            % {"team": rule.target_team.name}
        ]
    return []
