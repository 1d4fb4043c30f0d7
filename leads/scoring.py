"""Explicit + behavioural lead scoring and the score bands that turn a score into a tier.

Callers that score many leads load the rules and bands once (`scoring_context_load`) and pass
them in, so scoring a batch costs no queries per lead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.catalogs import SCORING, catalog_cached
from leads.models import Activity, Lead, ScoreBand, ScoringRule, Tier
from leads.normalize import decimal_or_none

Breakdown = list[dict[str, Any]]


@dataclass(frozen=True)
class ScoringContext:
    """Active rules and bands, read once per batch."""

    rules: Sequence[ScoringRule]
    bands: Sequence[ScoreBand]
    # Explicit-rule results by the values the rules read, for lead_score(memo=...).
    memo: ExplicitMatchMemo | None = field(default=None, compare=False)

    # What each tier's band says to do, worked out on first use (asked once per lead).
    _actions: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.memo is None:
            object.__setattr__(self, "memo", ExplicitMatchMemo(self.rules))

    @property
    def behavioural_kinds(self) -> set[str]:
        return {
            r.activity_kind for r in self.rules if r.kind == ScoringRule.Kind.BEHAVIOURAL and r.activity_kind
        }

    def action_for(self, tier: str) -> str:
        action = self._actions.get(tier)
        if action is None:
            action = self._actions[tier] = band_action(tier, bands=self.bands)
        return action


def scoring_context_load() -> ScoringContext:
    return ScoringContext(rules=scoring_rules_load(), bands=score_bands_load())


def scoring_rules_load() -> list[ScoringRule]:
    """The active rules (kept in memory while the scoring catalogue is unchanged; read-only)."""
    return catalog_cached(
        SCORING, "rules", lambda: list(ScoringRule.objects.filter(active=True).order_by("kind", "name", "pk"))
    )


def score_bands_load() -> list[ScoreBand]:
    return catalog_cached(SCORING, "bands", lambda: list(ScoreBand.objects.order_by("-min_score")))


def band_action(tier: str, *, bands: Iterable[ScoreBand]) -> str:
    for band in bands:
        if band.tier == tier:
            return band.action
    return ScoreBand.Action.ROUTE if tier != Tier.LOW else ScoreBand.Action.NURTURE


def score_tier(score: int, *, bands: Iterable[ScoreBand]) -> str:
    """The highest band whose threshold the score reaches; low when no band is defined.

    One pass instead of sorting the bands for every lead; of two bands with the same
    threshold the first listed wins, as it did after a (stable) sort."""
    best: ScoreBand | None = None
    for band in bands:
        if score >= band.min_score and (best is None or band.min_score > best.min_score):
            best = band
    return best.tier if best is not None else Tier.LOW


def _field_value(lead: Lead, field: str) -> Any:
    if field.startswith("extra."):
        return (lead.extra or {}).get(field[len("extra.") :])
    if field == "source":
        return lead.source.code if lead.source_id else None
    if field == "heat":
        return lead.source.heat if lead.source_id else None
    if field == "lead_type":
        return lead.lead_type.code if lead.lead_type_id else None
    return getattr(lead, field, None)


_SAME_MEMO: dict[tuple, bool] = {}


def _same(left: Any, right: Any) -> bool:
    """_same_compute, memoized: a batch compares the same few region/industry/role values with
    the same rule values thousands of times. Types are part of the key (True == 1 == Decimal(1))."""
    key = (type(left), left, type(right), right)
    try:
        return _SAME_MEMO[key]
    except KeyError:
        pass
    except TypeError:  # unhashable (a list or dict from extra.*)
        return _same_compute(left, right)
    if len(_SAME_MEMO) > 50_000:
        _SAME_MEMO.clear()
    result = _SAME_MEMO[key] = _same_compute(left, right)
    return result


def _same_compute(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return bool(left) == (
            right if isinstance(right, bool) else str(right).lower() in {"1", "true", "yes"}
        )
    a, b = decimal_or_none(left), decimal_or_none(right)
    if a is not None and b is not None:
        return a == b
    return str(left).strip().casefold() == str(right).strip().casefold()


def _as_list(value: Any) -> list:
    if isinstance(value, list | tuple | set):
        return list(value)
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value]


# Names a rule's field may take besides Lead's own columns and extra.<key> (see _field_value).
_RELATED_FIELDS = ("source", "heat", "lead_type")


def scoring_fields() -> list[str]:
    plain = [f.name for f in Lead._meta.concrete_fields if not f.is_relation]
    return sorted({*plain, *_RELATED_FIELDS})


def scoring_rule_problems(rule: ScoringRule) -> dict[str, str]:
    """What makes a rule unusable, by form field. A rule with a field scoring cannot read or a
    ≥ compared with text never matches, silently: the manager who typed it must hear so when
    saving, not wonder later why nobody gets the points."""
    problems: dict[str, str] = {}
    if _holds_non_finite(rule.value):
        problems["value"] = _("NaN and infinity are not values a rule can compare with.")
    if rule.kind == ScoringRule.Kind.BEHAVIOURAL:
        if not rule.activity_kind:
            problems["activity_kind"] = _("A behavioural rule needs the activity kind it scores.")
        return problems
    field_name = (rule.field or "").strip()
    known = scoring_fields()
    if not field_name:
        problems["field"] = _("An explicit rule needs the lead field it looks at.")
    elif not (field_name in known or (field_name.startswith("extra.") and len(field_name) > 6)):
        problems["field"] = _("Unknown field “%(field)s”: use one of %(known)s, or extra.<key>.") % {
            "field": field_name,
            "known": ", ".join(known),
        }
    op = rule.operator
    if not op:
        problems["operator"] = _("An explicit rule needs an operator.")
    elif op in (ScoringRule.Operator.GTE, ScoringRule.Operator.LTE) and "value" not in problems:
        if decimal_or_none(rule.value) is None:
            problems["value"] = _("≥ and ≤ compare with a number; “%(value)s” is not one.") % {
                "value": rule.value
            }
    elif op in (ScoringRule.Operator.IN, ScoringRule.Operator.NOT_IN) and not _as_list(rule.value):
        problems["value"] = _("Give at least one value (a list, or values separated by commas).")
    return problems


def _holds_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list | tuple):
        return any(_holds_non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_non_finite(v) for v in value.values())
    return False


def explicit_rule_matches(rule: ScoringRule, lead: Lead) -> bool:
    value = _field_value(lead, rule.field)
    op = rule.operator
    empty = value is None or value == "" or value == [] or value == {}
    if op == ScoringRule.Operator.IS_EMPTY:
        return empty
    if op == ScoringRule.Operator.NOT_EMPTY:
        return not empty
    if empty:
        return False
    if op == ScoringRule.Operator.EQUALS:
        return _same(value, rule.value)
    if op == ScoringRule.Operator.IN:
        return any(_same(value, option) for option in _as_list(rule.value))
    if op == ScoringRule.Operator.NOT_IN:
        return not any(_same(value, option) for option in _as_list(rule.value))
    if op == ScoringRule.Operator.CONTAINS:
        return str(rule.value).casefold() in str(value).casefold()
    if op in (ScoringRule.Operator.GTE, ScoringRule.Operator.LTE):
        a, b = decimal_or_none(value), decimal_or_none(rule.value)
        if a is None or b is None:
            return False
        return a >= b if op == ScoringRule.Operator.GTE else a <= b
    return False


# Values a memo key may hold: equal keys give equal results for every operator (Decimals are
# keyed by their text, as CONTAINS compares text and Decimal("50") == Decimal("50.0")).
_MEMO_TYPES = (str, int, bool, type(None))


class ExplicitMatchMemo:
    """explicit_rule_matches of one rule list, remembered per field by the value the rules on
    that field read: a batch scores thousands of leads sharing a few regions, industries,
    titles and sizes.

    A value that cannot be keyed safely (a list in extra, an odd type) is computed directly;
    the results are the same either way.
    """

    MAX_VALUES = 5_000  # per field

    def __init__(self, rules: Sequence[ScoringRule]):
        self.rules = rules
        groups: dict[str, list[int]] = {}
        for position, rule in enumerate(rules):
            if rule.kind == ScoringRule.Kind.EXPLICIT and rule.field:
                groups.setdefault(rule.field, []).append(position)
        # (field, positions of its rules, {value key: their results})
        self.groups: list[tuple[str, tuple[int, ...], dict]] = [
            (name, tuple(positions), {}) for name, positions in groups.items()
        ]

    def matched(self, lead: Lead) -> list[bool | None]:
        """For each rule (by position): whether the explicit rule matches, None for the others."""
        rules = self.rules
        result: list[bool | None] = [None] * len(rules)
        for name, positions, cache in self.groups:
            value = _field_value(lead, name)
            kind = type(value)
            if kind is Decimal:
                value = str(value)
            elif kind not in _MEMO_TYPES:
                for position in positions:
                    result[position] = explicit_rule_matches(rules[position], lead)
                continue
            key = (kind, value)
            found = cache.get(key)
            if found is None:
                if len(cache) >= self.MAX_VALUES:
                    cache.clear()
                found = cache[key] = tuple(explicit_rule_matches(rules[p], lead) for p in positions)
            for position, hit in zip(positions, found, strict=True):
                result[position] = hit
        return result


def _capped(points: int, cap: int | None) -> int:
    if cap is None:
        return points
    return min(points, cap) if points >= 0 else max(points, -abs(cap))


def lead_score(
    lead: Lead,
    *,
    activities: Iterable[Activity] | None = None,
    rules: Sequence[ScoringRule] | None = None,
    bands: Sequence[ScoreBand] | None = None,
    now: datetime | None = None,
    memo: ExplicitMatchMemo | None = None,
) -> tuple[int, str, Breakdown]:
    """(score, tier, breakdown): every rule that gave points, so people can see why.

    `activities` defaults to the lead's stored activities (one query); pass [] for a lead that
    is not saved yet, or a preloaded list when scoring a batch. A batch passes its context's
    `memo` (built for the same `rules`) so leads with the same profile values share the work.
    """
    now = now or timezone.now()
    if rules is None:
        rules = scoring_rules_load()
    if bands is None:
        bands = score_bands_load()
    if activities is None:
        kinds = {r.activity_kind for r in rules if r.kind == ScoringRule.Kind.BEHAVIOURAL and r.activity_kind}
        activities = (
            list(lead.activities.filter(kind__in=kinds).only("kind", "occurred_at"))
            if kinds and lead.pk
            else []
        )
    by_kind: dict[str, list[datetime]] = {}
    for activity in activities:
        by_kind.setdefault(activity.kind, []).append(activity.occurred_at)
    matched = memo.matched(lead) if memo is not None and memo.rules is rules else None

    breakdown: Breakdown = []
    explicit = ScoringRule.Kind.EXPLICIT
    for position, rule in enumerate(rules):
        if rule.kind == explicit:
            if rule.field and (
                matched[position] if matched is not None else explicit_rule_matches(rule, lead)
            ):
                breakdown.append(
                    {"rule": rule.name, "rule_id": rule.pk, "points": _capped(rule.points, rule.cap)}
                )
            continue
        if not rule.activity_kind:
            continue
        times = by_kind.get(rule.activity_kind)
        if not times:  # nothing to count (a new lead has no activities at all)
            continue
        if rule.decay_days:
            since = now - timedelta(days=rule.decay_days)
            times = [t for t in times if t >= since]
        if times:
            points = _capped(rule.points * len(times), rule.cap)
            breakdown.append({"rule": rule.name, "rule_id": rule.pk, "points": points, "count": len(times)})
    score = sum(item["points"] for item in breakdown)
    return score, score_tier(score, bands=bands), breakdown


def lead_score_apply(lead: Lead, *, context: ScoringContext, activities=None, now=None) -> tuple[str, str]:
    """Score in memory and set score/tier/score_breakdown; returns (old_tier, new_tier)."""
    old = lead.tier
    lead.score, lead.tier, lead.score_breakdown = lead_score(
        lead, activities=activities, rules=context.rules, bands=context.bands, now=now
    )
    return old, lead.tier
