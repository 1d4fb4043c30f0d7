"""Rule conditions: the lead fields a rule may test, the operators, and how one condition is
checked, validated and put into words. Pure functions over an in-memory lead (no queries)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _

from leads.normalize import decimal_or_none

EXTRA_PREFIX = "extra."


@dataclass(frozen=True)
class FieldSpec:
    label: str
    kind: str  # "text" | "number" | "bool"


# What a condition may test. heat / source / channel / lead_type come from related rows that the
# routing context holds in memory, so a condition never costs a query.
FIELDS: dict[str, FieldSpec] = {
    "region": FieldSpec(_("region"), "text"),
    "industry": FieldSpec(_("industry"), "text"),
    "product": FieldSpec(_("product"), "text"),
    "company_size": FieldSpec(_("company size"), "number"),
    "budget": FieldSpec(_("budget"), "number"),
    "role": FieldSpec(_("role / title"), "text"),
    "language": FieldSpec(_("language"), "text"),
    "lead_type": FieldSpec(_("lead type (code)"), "text"),
    "is_referral": FieldSpec(_("referral"), "bool"),
    "referrer": FieldSpec(_("referred by"), "text"),
    "score": FieldSpec(_("score"), "number"),
    "tier": FieldSpec(_("tier"), "text"),
    "heat": FieldSpec(_("heat"), "text"),
    "source": FieldSpec(_("source (code)"), "text"),
    "channel": FieldSpec(_("channel"), "text"),
    "name": FieldSpec(_("name"), "text"),
    "company": FieldSpec(_("company"), "text"),
    "email": FieldSpec(_("e-mail"), "text"),
    "phone": FieldSpec(_("phone"), "text"),
}

OPERATORS: dict[str, str] = {
    "eq": "=",
    "ne": "≠",
    "in": "in",
    "not_in": "not in",
    "between": "between",
    "contains": "contains",
    "gte": "≥",
    "lte": "≤",
    "empty": "is empty",
    "not_empty": "is not empty",
}
OPERATOR_LABELS = {
    "eq": _("equals"),
    "ne": _("does not equal"),
    "in": _("is one of"),
    "not_in": _("is none of"),
    "between": _("between (inclusive)"),
    "contains": _("contains"),
    "gte": _("≥"),
    "lte": _("≤"),
    "empty": _("is empty"),
    "not_empty": _("is not empty"),
}
# The words of an explanation sentence ("region in [北京, 天津]"); symbols need no translation.
OPERATOR_WORDS = {
    "in": _("in"),
    "not_in": _("not in"),
    "contains": _("contains"),
    "empty": _("is empty"),
    "not_empty": _("is not empty"),
}
LIST_OPS = frozenset({"in", "not_in"})
NO_VALUE_OPS = frozenset({"empty", "not_empty"})
NUMBER_OPS = frozenset({"gte", "lte", "between"})


class LeadFacts:
    """Resolves a condition's field on one lead, with related codes looked up in memory."""

    def __init__(self, *, sources: Callable[[], dict], lead_types: Callable[[], dict]):
        self._sources_load = sources
        self._lead_types_load = lead_types
        self._sources: dict | None = None
        self._lead_types: dict | None = None

    @property
    def sources(self) -> dict:
        if self._sources is None:
            self._sources = self._sources_load()
        return self._sources

    @property
    def lead_types(self) -> dict:
        if self._lead_types is None:
            self._lead_types = self._lead_types_load()
        return self._lead_types

    def value(self, lead, field: str) -> Any:
        if field.startswith(EXTRA_PREFIX):
            extra = lead.extra if isinstance(lead.extra, dict) else {}
            return extra.get(field[len(EXTRA_PREFIX) :])
        if field in ("heat", "source", "channel"):
            source = self.sources.get(lead.source_id)
            if source is None:
                return None
            return {"heat": source.heat, "source": source.code, "channel": source.channel}[field]
        if field == "lead_type":
            lead_type = self.lead_types.get(lead.lead_type_id)
            return lead_type.code if lead_type else None
        if field in FIELDS:
            return getattr(lead, field, None)
        return None


def field_known(field: str) -> bool:
    return field in FIELDS or (field.startswith(EXTRA_PREFIX) and len(field) > len(EXTRA_PREFIX))


def field_kind(field: str) -> str:
    spec = FIELDS.get(field)
    return spec.kind if spec else "text"


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict | tuple) and len(value) == 0)


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "是"):
        return True
    if text in ("0", "false", "no", "n", "否", ""):
        return False
    return None


def _same(actual: Any, expected: Any) -> bool:
    """Equality that forgives the types a form or a JSON payload produce ("5" == 5, "true" == True)."""
    if isinstance(actual, str) and isinstance(expected, str):
        if actual.strip().casefold() == expected.strip().casefold():
            return True
        if not (actual[:1].isdigit() or actual[:1] in "+-.") or not (
            expected[:1].isdigit() or expected[:1] in "+-."
        ):
            return False
    if isinstance(actual, bool) or isinstance(expected, bool):
        return _bool(actual) == _bool(expected)
    a, e = decimal_or_none(actual), decimal_or_none(expected)
    if a is not None and e is not None:
        return a == e
    if actual is None:
        return False
    return str(actual).strip().casefold() == str(expected).strip().casefold()


def condition_holds(condition: dict, actual: Any) -> bool:
    """Whether one condition holds for the field's actual value; a missing value fails every
    test except 'is empty' and 'not in' / 'does not equal'."""
    op = condition.get("op")
    expected = condition.get("value")
    if op == "empty":
        return _is_empty(actual)
    if op == "not_empty":
        return not _is_empty(actual)
    if op == "eq":
        return _same(actual, expected)
    if op == "ne":
        return not _same(actual, expected)
    if op in LIST_OPS:
        options = expected if isinstance(expected, list) else [expected]
        found = any(_same(actual, option) for option in options)
        return found if op == "in" else not found
    if op == "contains":
        if actual is None:
            return False
        if isinstance(actual, list):
            return any(_same(item, expected) for item in actual)
        return str(expected).casefold() in str(actual).casefold()
    if op in NUMBER_OPS:
        number = decimal_or_none(actual)
        if number is None:
            return False
        if op == "between":
            low, high = (expected + [None, None])[:2] if isinstance(expected, list) else (None, None)
            low_n, high_n = decimal_or_none(low), decimal_or_none(high)
            return (low_n is None or number >= low_n) and (high_n is None or number <= high_n)
        bound = decimal_or_none(expected)
        if bound is None:
            return False
        return number >= bound if op == "gte" else number <= bound
    return False


def _plain_text(value: Any) -> bool:
    """A string that `_same` can only ever compare by case-folded text (no number, no yes/no)."""
    return isinstance(value, str) and not (value[:1].isdigit() or value[:1] in "+-.") and value.strip() != ""


def condition_compile(condition: dict) -> Callable[[Any], bool]:
    """`condition_holds` for one condition, with the expected value prepared once. Routing tests
    the same few conditions on every lead of a batch, so the common shapes (text equals / is one
    of, number bounds) get a direct test; everything else falls back to condition_holds, which
    stays the one definition of what a condition means."""
    op = condition.get("op")
    expected = condition.get("value")

    def general(actual: Any) -> bool:
        return condition_holds(condition, actual)

    if op in ("eq", "in", "not_in"):
        options = expected if isinstance(expected, list) else [expected]
        if options and all(_plain_text(o) for o in options):
            folded = frozenset(o.strip().casefold() for o in options)
            found_means = op != "not_in"

            def text_test(actual: Any) -> bool:
                if type(actual) is str:
                    return (actual.strip().casefold() in folded) is found_means
                return general(actual)

            # For routing's rule index: which texts pass, and whether passing means "not found".
            text_test.folded = folded
            text_test.negated = not found_means
            return text_test
    if op in ("gte", "lte"):
        bound = decimal_or_none(expected)
        if bound is not None:
            above = op == "gte"

            def bound_test(actual: Any) -> bool:
                if type(actual) is int:
                    return actual >= bound if above else actual <= bound
                return general(actual)

            return bound_test
    return general


def condition_validate(condition: Any) -> list[str]:
    """Messages that name what is wrong, so the admin can show them next to the row."""
    if not isinstance(condition, dict):
        return [f"a condition must be a field, an operator and a value, not {condition!r}"]
    errors = []
    field = condition.get("field") or ""
    op = condition.get("op") or ""
    value = condition.get("value")
    if not field_known(field):
        errors.append(f"unknown field {field!r}: use one of {', '.join(sorted(FIELDS))} or extra.<key>")
    if op not in OPERATORS:
        errors.append(f"unknown operator {op!r}: use one of {', '.join(OPERATORS)}")
        return errors
    if op in LIST_OPS and (not isinstance(value, list) or not value):
        errors.append(f"{field} {OPERATORS[op]}: give at least one value")
    if op == "between":
        if not isinstance(value, list) or len(value) != 2 or all(decimal_or_none(v) is None for v in value):
            errors.append(f"{field} between: give a lower and/or an upper number")
        elif any(v not in (None, "") and decimal_or_none(v) is None for v in value):
            errors.append(f"{field} between: both bounds must be numbers")
    if op in ("gte", "lte") and decimal_or_none(value) is None:
        errors.append(f"{field} {OPERATORS[op]}: the value must be a number, not {value!r}")
    if op in ("eq", "ne", "contains") and _is_empty(value) and value is not False:
        errors.append(f"{field} {OPERATORS[op]}: give a value (or use 'is empty')")
    if (
        field_kind(field) == "number"
        and op in ("eq", "ne")
        and decimal_or_none(value) is None
        and not _is_empty(value)
    ):
        errors.append(f"{field} is a number: {value!r} is not")
    return errors


def conditions_validate(conditions: Any) -> list[str]:
    if conditions in (None, ""):
        return []
    if not isinstance(conditions, list):
        return ["conditions must be a list"]
    errors = []
    for index, condition in enumerate(conditions, start=1):
        errors.extend(f"condition {index}: {message}" for message in condition_validate(condition))
    return errors


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    if value is None:
        return str(_("nothing"))
    return str(value)


def condition_text(condition: dict, actual: Any = None, *, with_actual: bool = False) -> str:
    """`region=华东`, `score ≥ 80`, `budget between 10 and 50`; with the lead's value when it failed.
    Field names stay as the codes a manager typed in the rule; the words around them translate."""
    field = condition.get("field", "?")
    op = condition.get("op", "?")
    value = condition.get("value")
    if op == "eq" or (op == "in" and isinstance(value, list) and len(value) == 1):
        text = f"{field}={_value_text(value[0] if isinstance(value, list) else value)}"
    elif op in NO_VALUE_OPS:
        text = f"{field} {OPERATOR_WORDS[op]}"
    elif op == "between" and isinstance(value, list) and len(value) == 2:
        text = _("%(field)s between %(low)s and %(high)s") % {
            "field": field,
            "low": _value_text(value[0]),
            "high": _value_text(value[1]),
        }
    elif op in OPERATOR_WORDS:
        text = f"{field} {OPERATOR_WORDS[op]} {_value_text(value)}"
    else:
        text = f"{field} {OPERATORS.get(op, op)} {_value_text(value)}"
    if with_actual:
        has = _value_text(actual) if not _is_empty(actual) else str(_("nothing"))
        text += " " + str(_("(lead has %(value)s)") % {"value": has})
    return text


def value_jsonable(value: Any) -> Any:
    """A lead value as stored in the explanation (Decimal and dates are not JSON)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list | tuple):
        return [value_jsonable(v) for v in value]
    return str(value)
