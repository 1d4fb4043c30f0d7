"""Admin forms: the structured condition editor (rows of field / operator / value, never JSON),
rule validation, the simulation form and the confirmation forms of the bulk lead actions."""

from __future__ import annotations

import io
from itertools import islice
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from assignment.conditions import (
    FIELDS,
    LIST_OPS,
    NO_VALUE_OPS,
    OPERATOR_LABELS,
    conditions_validate,
    field_kind,
)
from assignment.models import AssignmentRule
from crm.models import Rep, Team
from leads.importing import ImportFileError, table_open

BLANK_ROWS = 3
SAMPLE_MAX_BYTES = 5_000_000
SAMPLE_MAX_ROWS = 5000
WEEKDAYS = [
    (1, _("Mon")),
    (2, _("Tue")),
    (3, _("Wed")),
    (4, _("Thu")),
    (5, _("Fri")),
    (6, _("Sat")),
    (7, _("Sun")),
]


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join("" if v is None else str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value_parse(field: str, op: str, text: str) -> Any:
    """Form text to the stored value: lists split on commas, numbers and yes/no typed by field."""
    text = (text or "").strip()
    kind = field_kind(field)

    def one(part: str) -> Any:
        part = part.strip()
        if kind == "number" or op in ("gte", "lte", "between"):
            try:
                number = float(part)
            except ValueError:
                return part or None
            return int(number) if number.is_integer() else number
        if kind == "bool":
            low = part.lower()
            if low in ("true", "yes", "1", "是", "y"):
                return True
            if low in ("false", "no", "0", "否", "n"):
                return False
        return part

    if op in NO_VALUE_OPS:
        return None
    if op in LIST_OPS:
        return [one(p) for p in text.replace("，", ",").split(",") if p.strip()]
    if op == "between":
        parts = text.replace("，", ",").split(",")
        parts = (parts + ["", ""])[:2]
        return [one(p) if p.strip() else None for p in parts]
    return one(text)


class ConditionsWidget(forms.Widget):
    """One row per condition: a field (known fields offered in a list, or extra.<key>), an
    operator from a menu and a plain-text value (commas separate lists and between-bounds)."""

    template_name = "assignment/widgets/conditions.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = value if isinstance(value, list) else []
        rows = [r if isinstance(r, dict) else {"field": "", "op": "", "value": r} for r in rows]
        shown = [
            {"field": r.get("field", ""), "op": r.get("op", ""), "value": _value_text(r.get("value"))}
            for r in rows
        ]
        shown += [{"field": "", "op": "", "value": ""}] * BLANK_ROWS
        context["widget"].update(
            {
                "rows": [{"index": i, **row} for i, row in enumerate(shown)],
                "count": len(shown),
                "fields": sorted(FIELDS),
                "operators": list(OPERATOR_LABELS.items()),
            }
        )
        return context

    def value_from_datadict(self, data, files, name):
        try:
            count = min(int(data.get(f"{name}-count", 0)), 100)
        except (TypeError, ValueError):
            count = 0
        rows = []
        for i in range(count):
            field = (data.get(f"{name}-{i}-field") or "").strip()
            op = (data.get(f"{name}-{i}-op") or "").strip()
            value = data.get(f"{name}-{i}-value") or ""
            if data.get(f"{name}-{i}-delete") or (not field and not op and not value.strip()):
                continue
            rows.append({"field": field, "op": op, "value": _value_parse(field, op, value)})
        return rows


class ConditionsField(forms.Field):
    widget = ConditionsWidget

    def to_python(self, value):
        return value if isinstance(value, list) else []

    def validate(self, value):
        super().validate(value)
        errors = conditions_validate(value)
        if errors:
            raise ValidationError(errors)

    def prepare_value(self, value):
        return value


class AssignmentRuleForm(forms.ModelForm):
    conditions = ConditionsField(label=_("conditions (all must hold)"), required=False)
    any_conditions = ConditionsField(label=_("conditions (at least one must hold)"), required=False)
    schedule_days = forms.TypedMultipleChoiceField(
        label=_("applies on days"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked = every day."),
    )

    class Meta:
        model = AssignmentRule
        fields = [
            "rule_set",
            "name",
            "active",
            "is_default",
            "position",
            "conditions",
            "any_conditions",
            "schedule_days",
            "schedule_start",
            "schedule_end",
            "schedule_timezone",
            "strategy",
            "target_team",
            "target_level",
            "on_no_eligible",
            "default_owner",
            "pool_team",
            "options",
        ]

    def clean(self):
        data = super().clean()
        if self.instance.pk and self.instance.is_default and not data.get("is_default"):
            self.add_error(
                "is_default",
                _("Make another rule of this set the default first: every set needs exactly one."),
            )
        if data.get("is_default") and data.get("active") is False:
            self.add_error(
                "active",
                _("The default rule cannot be switched off: it catches every lead the others leave."),
            )
        options = data.get("options")
        if options not in (None, "") and not isinstance(options, dict):
            self.add_error("options", _('Options must be a mapping, e.g. {"min_sample": 5}.'))
        return data


class SimulationForm(forms.Form):
    last_n = forms.IntegerField(
        label=_("last N leads"), min_value=1, max_value=5000, initial=200, required=False
    )
    sample = forms.FileField(
        label=_("or a sample CSV"),
        required=False,
        help_text=_(
            "A CSV or XLSX file like an import file (Chinese or English headers, any encoding), "
            "plus score, tier and source columns if you like; other columns go to extra."
        ),
    )

    def __init__(self, *args, rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.rules = list(rules)
        for index, rule in enumerate(self.rules, start=1):
            self.fields[f"order_{rule.pk}"] = forms.IntegerField(
                initial=index, required=False, label=rule.name
            )
            self.fields[f"active_{rule.pk}"] = forms.BooleanField(initial=rule.active, required=False)

    def rule_rows(self):
        return [(rule, self[f"order_{rule.pk}"], self[f"active_{rule.pk}"]) for rule in self.rules]

    def draft_order(self) -> list[tuple[int, bool]]:
        """(rule id, active) in the draft order; the default rule always stays last."""
        rows = []
        for index, rule in enumerate(self.rules, start=1):
            order = self.cleaned_data.get(f"order_{rule.pk}")
            active = self.cleaned_data.get(f"active_{rule.pk}") or rule.is_default
            rows.append(
                (1 if rule.is_default else 0, order if order is not None else index, index, rule.pk, active)
            )
        rows.sort()
        return [(pk, active) for *_ignored, pk, active in rows]

    def clean_sample(self):
        """Read by the importer's own reader: a manager tries the rules on the kind of file
        they import (GB18030 from Excel, 手机/地区 headers, a title row, XLSX). Decoded as
        UTF-8 only, such a file's regions came out as replacement characters, matched no rule
        and showed a wrong distribution without a word."""
        upload = self.cleaned_data.get("sample")
        if not upload:
            return upload
        if upload.size > SAMPLE_MAX_BYTES:
            raise forms.ValidationError(
                _("A sample may be at most %(mb)d MB; try the rules on part of the file."),
                params={"mb": SAMPLE_MAX_BYTES // 1_000_000},
            )
        try:
            table = table_open(io.BytesIO(upload.read()))
            self._sample = [row for row in islice(table.rows, SAMPLE_MAX_ROWS) if not row.get("_error")]
        except ImportFileError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return upload

    def sample_rows(self) -> list[dict] | None:
        return getattr(self, "_sample", None)


class LeadActionForm(forms.Form):
    """The confirmation step of a bulk lead action: a reason is always required."""

    reason = forms.CharField(label=_("reason"), max_length=300, widget=forms.TextInput(attrs={"size": 60}))


class TransferToRepForm(LeadActionForm):
    to_rep = forms.ModelChoiceField(
        label=_("to rep"), queryset=Rep.objects.exclude(status=Rep.Status.DEPARTED).select_related("user")
    )


class TransferToTeamForm(LeadActionForm):
    to_team = forms.ModelChoiceField(label=_("to team"), queryset=Team.objects.all())


class DepartureForm(forms.Form):
    OPEN_CHOICES = [
        ("pool", _("to the pool")),
        ("rep", _("to one rep")),
        ("team", _("spread over a team by its rule")),
        ("manager", _("kept by a manager (named rep)")),
    ]
    SILENT_CHOICES = [("pool", _("to the pool")), ("rep", _("to one rep")), ("team", _("spread over a team"))]
    open_to = forms.ChoiceField(label=_("open leads go"), choices=OPEN_CHOICES, initial="pool")
    silent_to = forms.ChoiceField(label=_("silent leads go"), choices=SILENT_CHOICES, initial="pool")
    to_rep = forms.ModelChoiceField(
        label=_("rep (for 'to one rep' / 'kept by')"),
        queryset=Rep.objects.exclude(status=Rep.Status.DEPARTED).select_related("user"),
        required=False,
    )
    to_team = forms.ModelChoiceField(
        label=_("team (for 'spread over a team')"), queryset=Team.objects.all(), required=False
    )
    reason = forms.CharField(label=_("reason"), max_length=300, initial="departure")

    def clean(self):
        data = super().clean()
        for key in ("open_to", "silent_to"):
            choice = data.get(key)
            if choice in ("rep", "manager") and not data.get("to_rep"):
                self.add_error("to_rep", _("Choose the rep who takes them."))
            if choice == "team" and not data.get("to_team"):
                self.add_error("to_team", _("Choose the team."))
        return data

    def targets(self, choice: str):
        if choice in ("rep", "manager"):
            return self.cleaned_data.get("to_rep")
        if choice == "team":
            return self.cleaned_data.get("to_team")
        return None
