"""Run a rule set — the saved one or a draft order — over recent or sample leads, side by side
with the live set, without writing anything: the routing engine in read-only mode."""

from __future__ import annotations

import contextlib
import copy
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from assignment.explain import explanation_sentences
from assignment.models import AssignmentRule, RuleSet
from assignment.routing import RoutingContext, RoutingDecision, lead_decide
from assignment.selectors import rules_for_trigger
from leads.models import Lead, Source
from leads.normalize import budget_parse, company_size_parse, decimal_or_none, region_normalize, text_clean

LEAD_TEXT_FIELDS = (
    "name",
    "company",
    "region",
    "industry",
    "product",
    "role",
    "language",
    "referrer",
    "tier",
)


@dataclass
class SimulationRow:
    lead: Lead
    live: RoutingDecision | None
    draft: RoutingDecision

    @property
    def changed(self) -> bool:
        if self.live is None:
            return True
        return _outcome(self.live) != _outcome(self.draft)


@dataclass
class SimulationResult:
    rows: list[SimulationRow] = field(default_factory=list)
    live_distribution: Counter = field(default_factory=Counter)
    draft_distribution: Counter = field(default_factory=Counter)

    @property
    def distribution_rows(self) -> list[tuple[str, int, int]]:
        keys = sorted(set(self.live_distribution) | set(self.draft_distribution))
        return [(key, self.live_distribution[key], self.draft_distribution[key]) for key in keys]

    @property
    def changed_count(self) -> int:
        return sum(1 for row in self.rows if row.changed)


def _outcome(decision: RoutingDecision) -> str:
    if decision.owner is not None:
        return decision.owner.display_name
    if decision.status == Lead.Status.POOLED:
        team = decision.pool_team.name if decision.pool_team else "public"
        return f"pool: {team} ({decision.pool_reason})"
    return decision.status


def outcome_text(decision: RoutingDecision | None) -> str:
    return "—" if decision is None else _outcome(decision)


def decision_sentences(decision: RoutingDecision | None) -> list[str]:
    return explanation_sentences(decision.explanation) if decision else []


def _as_fresh(lead: Lead) -> Lead:
    """A detached copy that looks like a fresh intake, so nothing can be saved back by mistake."""
    twin = copy.copy(lead)
    twin._state = copy.copy(lead._state)
    twin.owner_id = None
    twin.status = Lead.Status.NEW
    twin.pk = lead.pk
    return twin


def leads_from_sample(rows: list[dict]) -> list[Lead]:
    """Unsaved leads from sample rows (as leads.importing reads a file: lead fields by their
    column, the rest by header), normalized as intake would store them, so that a rule on
    region=北京 matches a sample's 北京市 as it will match the imported lead. `source` by
    code; other columns go to extra."""
    sources = {s.code: s for s in Source.objects.all()}
    leads = []
    for index, row in enumerate(rows, start=1):
        lead = Lead(status=Lead.Status.NEW, created_at=timezone.now(), extra={})
        lead.pk = None
        lead.sample_index = index
        for key, raw in row.items():
            if not isinstance(key, str) or key.startswith("_"):
                continue
            key, value = key.strip(), text_clean(raw)
            if key == "region":
                lead.region, city = region_normalize(value)
                if city:
                    lead.extra.setdefault("city", city)
            elif key in LEAD_TEXT_FIELDS:
                setattr(lead, key, value)
            elif key == "score":
                number = decimal_or_none(value)  # not NaN or infinity: a sample cell, not a crash
                if number is not None:
                    lead.score = int(number)
            elif key == "company_size":
                with contextlib.suppress(ValueError, ArithmeticError):
                    lead.company_size = company_size_parse(value)
            elif key == "budget":
                with contextlib.suppress(ValueError, ArithmeticError):
                    lead.budget = budget_parse(value)
            elif key == "is_referral":
                lead.is_referral = value.lower() in ("1", "true", "yes", "是")
            elif key == "source":
                source = sources.get(value)
                lead.source_id = source.pk if source else None
            elif value:
                lead.extra[key] = value
        leads.append(lead)
    return leads


def draft_rules(*, rule_set: RuleSet, order: list[tuple[int, bool]] | None) -> list[AssignmentRule]:
    """The rule set's rules in a draft order with draft on/off switches, as detached copies."""
    rules = {
        r.pk: r
        for r in AssignmentRule.objects.filter(rule_set=rule_set)
        .select_related("rule_set", "pool_team", "default_owner__user")
        .prefetch_related("targets")
    }
    if order is None:
        order = [(r.pk, r.active) for r in sorted(rules.values(), key=lambda r: (r.position, r.pk))]
    result = []
    for pk, active in order:
        rule = rules.get(pk)
        if rule is None:
            continue
        twin = copy.copy(rule)
        twin.active = active
        result.append(twin)
    return result


def rule_set_simulate(
    *,
    rule_set: RuleSet,
    leads: list[Lead],
    order: list[tuple[int, bool]] | None = None,
    now: datetime | None = None,
) -> SimulationResult:
    """Route every lead with the draft and with the live rule set for the same trigger, each in
    its own read-only context that carries loads and rotation forward in memory. Reads only."""
    now = now or timezone.now()
    draft_ctx = RoutingContext(
        trigger=rule_set.trigger,
        now=now,
        lock=False,
        rules=draft_rules(rule_set=rule_set, order=order),
        rule_set=rule_set,
    )
    live_set, live_list = rules_for_trigger(trigger=rule_set.trigger)
    live_ctx = None
    if live_set is not None:
        live_ctx = RoutingContext(
            trigger=rule_set.trigger,
            now=now,
            lock=False,
            rules=[copy.copy(r) for r in live_list],
            rule_set=live_set,
        )
    result = SimulationResult()
    for lead in leads:
        fresh = _as_fresh(lead)
        draft = lead_decide(lead=fresh, ctx=draft_ctx)
        live = lead_decide(lead=_as_fresh(lead), ctx=live_ctx) if live_ctx else None
        result.rows.append(SimulationRow(lead=lead, live=live, draft=draft))
        result.draft_distribution[_outcome(draft)] += 1
        if live is not None:
            result.live_distribution[_outcome(live)] += 1
    return result


def recent_leads(*, count: int) -> list[Lead]:
    return list(Lead.objects.order_by("-created_at", "-id")[:count])
