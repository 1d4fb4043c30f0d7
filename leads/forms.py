"""Validation of incoming lead and activity data; one form serves the API, imports and the admin.

Values arrive as text (CSV cells, JSON strings); the clean_* methods normalize them with
leads.normalize so every channel stores the same canonical values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from django import forms
from django.core.validators import (
    DecimalValidator,
    MaxLengthValidator,
    MaxValueValidator,
    ProhibitNullCharactersValidator,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leads import normalize
from leads.models import Activity, LeadType, Source

# Longest value kept for a column we do not know (it goes to Lead.extra).
EXTRA_VALUE_MAX_LENGTH = 2000

# The model columns' limits (validators are stateless: built once, not per row).
_COMPANY_SIZE_MAX = MaxValueValidator(2_147_483_647)
_BUDGET_DIGITS = DecimalValidator(max_digits=14, decimal_places=2)


def phone_clean(raw: str) -> str:
    """The canonical phone number, "" for none; the API, imports and both forms share it."""
    if not raw:
        return ""
    normalized = normalize.phone_normalize(raw)
    if normalized is None and normalize.SCIENTIFIC_NUMBER.fullmatch(raw.strip()):
        raise forms.ValidationError(
            _(
                "“%(value)s” is a number Excel shortened to scientific notation, so its digits are "
                "lost: format the phone column as text and export the file again."
            ),
            params={"value": raw[:40]},
        )
    if normalized is None:
        raise forms.ValidationError(_("“%(value)s” is not a valid phone number."), params={"value": raw[:40]})
    return normalized


def email_clean(raw: str) -> str:
    if not raw:
        return ""
    normalized = normalize.email_normalize(raw)
    if normalized is None:
        raise forms.ValidationError(
            _("“%(value)s” is not a valid e-mail address."), params={"value": raw[:60]}
        )
    return normalized


class LeadIntakeForm(forms.Form):
    """One incoming lead. Lookups (lead types, sources) are passed in as preloaded dicts so a
    batch of thousands of rows validates without a query per row."""

    name = forms.CharField(max_length=100, required=False)
    company = forms.CharField(max_length=200, required=False)
    phone = forms.CharField(max_length=40, required=False)
    email = forms.CharField(max_length=254, required=False)
    region = forms.CharField(max_length=50, required=False)
    industry = forms.CharField(max_length=50, required=False)
    product = forms.CharField(max_length=100, required=False)
    role = forms.CharField(max_length=100, required=False)
    language = forms.CharField(max_length=20, required=False)
    company_size = forms.CharField(max_length=50, required=False)
    budget = forms.CharField(max_length=50, required=False)
    lead_type = forms.CharField(max_length=50, required=False)
    is_referral = forms.CharField(max_length=10, required=False)
    referrer = forms.CharField(max_length=100, required=False)
    external_id = forms.CharField(max_length=100, required=False)
    source = forms.CharField(max_length=50, required=False)

    def __init__(
        self,
        data: Mapping,
        *,
        lead_types: Mapping[str, LeadType] | None = None,
        sources: Mapping[str, Source] | None = None,
    ):
        super().__init__(data)
        self.lead_types = (
            lead_types if lead_types is not None else {t.code: t for t in LeadType.objects.all()}
        )
        self._sources = sources
        # field.clean() results for text seen before by this form (see _clean_fields)
        self._cleaned_memo: dict[tuple[str, str], object] = {}

    def rebind(self, data: Mapping) -> LeadIntakeForm:
        """This form bound to another row's data, not validated yet.

        A batch validates its rows with one prepared form (same fields, hooks, lookups and
        messages) instead of building a form per row; is_valid(), errors and cleaned_data then
        describe the new row only.
        """
        self.data = data
        self._errors = None
        self._bound_fields_cache = {}
        self.__dict__.pop("cleaned_data", None)
        return self

    def _clean_fields(self) -> None:
        """Django's loop minus a BoundField per field (the form's main cost on a 100k-row import).

        Valid because these fields are plain text fields: none is disabled, none takes files and
        each reads one key of `data`. Three shortcuts give exactly what field.clean() gives:
        a missing or empty value of these optional fields cleans to the field's empty_value
        (to_python returns it and validators skip empty values); text for a plain optional
        CharField (see _field_plan) cleans to itself stripped when it passes the field's own
        two validators (length and NUL), checked inline; and a text the form has already
        cleaned successfully cleans the same way again (a batch repeats regions, industries,
        titles ...). Failures are never shortcut: each one is raised by field.clean().
        """
        data = self.data
        cleaned_data = self.cleaned_data
        memo = self._cleaned_memo
        for name, field, limit, hook in _field_plan(type(self), self.fields):
            try:
                value = data.get(name)
                if type(value) is str and limit is not None:
                    text = value.strip()
                    if len(text) <= limit and "\x00" not in text:
                        cleaned_data[name] = text
                    else:
                        cleaned_data[name] = field.clean(value)
                elif value is None or value == "" and type(value) is str:
                    if field.required:
                        cleaned_data[name] = field.clean(value)
                    else:
                        cleaned_data[name] = field.empty_value
                elif type(value) is str:
                    key = (name, value)
                    try:
                        cleaned_data[name] = memo[key]
                    except KeyError:
                        cleaned_data[name] = cleaned = field.clean(value)
                        if len(memo) >= _CLEANED_MEMO_SIZE:
                            memo.clear()
                        memo[key] = cleaned
                else:
                    cleaned_data[name] = field.clean(_scalar(value))
                if hook is not None:
                    cleaned_data[name] = hook(self)
            except forms.ValidationError as exc:
                self.add_error(name, exc)

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone", "")
        self.cleaned_data["phone_normalized"] = ""
        self.cleaned_data["phone_normalized"] = phone_clean(raw)
        return raw

    def clean_email(self) -> str:
        return email_clean(self.cleaned_data.get("email", ""))

    def clean_region(self) -> str:
        province, city = normalize.region_normalize(self.cleaned_data.get("region", ""))
        self.cleaned_data["city"] = city
        return province

    def clean_company_size(self) -> int | None:
        try:
            size = normalize.company_size_parse(self.cleaned_data.get("company_size", ""))
        except ValueError as exc:
            raise forms.ValidationError(_("Enter a head count such as 300 or 100-499.")) from exc
        if size is not None:
            _COMPANY_SIZE_MAX(size)
        return size

    def clean_budget(self):
        try:
            budget = normalize.budget_parse(self.cleaned_data.get("budget", ""))
        except ValueError as exc:
            raise forms.ValidationError(_("Enter an amount such as 50 or 1,000.")) from exc
        if budget is not None:
            if budget < 0:
                raise forms.ValidationError(_("The budget cannot be negative."))
            _BUDGET_DIGITS(budget)
        return budget

    def clean_lead_type(self) -> LeadType | None:
        code = self.cleaned_data.get("lead_type", "")
        if not code:
            return None
        lead_type = self.lead_types.get(code)
        if lead_type is None:
            raise forms.ValidationError(_("Unknown lead type “%(value)s”."), params={"value": code[:50]})
        return lead_type

    def clean_is_referral(self) -> bool:
        return normalize.flag_parse(self.cleaned_data.get("is_referral", ""))

    def clean_source(self) -> Source | None:
        code = self.cleaned_data.get("source", "")
        if not code:
            return None
        sources = self._sources
        source = (
            sources.get(code)
            if sources is not None
            else Source.objects.filter(code=code, active=True).first()
        )
        if source is None:
            raise forms.ValidationError(_("Unknown source “%(value)s”."), params={"value": code[:50]})
        return source

    def clean(self):
        cleaned = super().clean()
        if "phone" in self.errors or "email" in self.errors:
            return cleaned
        if not cleaned.get("phone_normalized") and not cleaned.get("email"):
            self.add_error(None, _("A lead needs a valid phone number or e-mail address."))
        return cleaned


def _scalar(value):
    """JSON bodies may put a list or an object where text belongs: a field error, not a crash."""
    if isinstance(value, list | dict | tuple):
        raise forms.ValidationError(_("Expected a single value, not a list or an object."))
    return value


_CLEANED_MEMO_SIZE = 20_000

# (name, field, inline length limit or None, clean_<name> method or None) per field
_FieldPlan = list[tuple[str, forms.Field, int | None, Callable | None]]
_plans_by_class: dict[type, tuple[Mapping, _FieldPlan]] = {}


def _field_plan(form_class: type[forms.Form], fields: Mapping[str, forms.Field]) -> _FieldPlan:
    """How _clean_fields cleans each field of a form class, worked out once per fields mapping.

    A field gets an inline length limit when field.clean(text) is exactly "text stripped, then
    MaxLengthValidator and ProhibitNullCharactersValidator": a plain, optional, stripping
    CharField with "" as empty value, an int max_length and no other validators."""
    cached = _plans_by_class.get(form_class)
    if cached is not None and cached[0] is fields:
        return cached[1]
    plan: _FieldPlan = []
    for name, field in fields.items():
        plan.append((name, field, _inline_limit(field), getattr(form_class, f"clean_{name}", None)))
    _plans_by_class[form_class] = (fields, plan)
    return plan


def _inline_limit(field: forms.Field) -> int | None:
    if type(field) is not forms.CharField or field.required or not field.strip or field.empty_value != "":
        return None
    limit = field.max_length
    if type(limit) is not int or field.min_length is not None:
        return None
    kinds = [type(v) for v in field.validators]
    if kinds != [MaxLengthValidator, ProhibitNullCharactersValidator]:
        return None
    return limit if field.validators[0].limit_value == limit else None


class _SharedFields(dict):
    """Field objects that every instance may share: deep-copying them is a no-op."""

    def __deepcopy__(self, memo):
        return self


# LeadIntakeForm never mutates its fields per instance (lookups come in as arguments), so a big
# import skips deep-copying 16 fields for every row (measured: ~40% of the form's cost).
LeadIntakeForm.base_fields = _SharedFields(LeadIntakeForm.base_fields)


# Clocks of the systems that push activities drift a little; more than this is a wrong clock.
OCCURRED_AT_SKEW = timedelta(minutes=5)


class ActivityIntakeForm(forms.Form):
    """A behaviour event pushed by another system: which lead, what happened, when."""

    lead_id = forms.IntegerField(required=False, min_value=1)
    phone = forms.CharField(max_length=40, required=False)
    email = forms.CharField(max_length=254, required=False)
    kind = forms.ChoiceField(choices=Activity.Kind.choices)
    actor = forms.ChoiceField(
        choices=[
            (Activity.Actor.CUSTOMER, Activity.Actor.CUSTOMER.label),
            (Activity.Actor.SYSTEM, Activity.Actor.SYSTEM.label),
        ],
        required=False,
    )
    occurred_at = forms.DateTimeField(required=False)
    note = forms.CharField(max_length=5000, required=False)
    outcome = forms.CharField(max_length=100, required=False)
    data = forms.JSONField(required=False)
    lead = forms.JSONField(
        required=False, help_text=_("Lead fields used when the activity may create the lead.")
    )

    def _clean_fields(self) -> None:
        """Django's loop, with a field error for a list or object where a scalar belongs."""
        for name, field in self.fields.items():
            try:
                value = self.data.get(name)
                if not isinstance(field, forms.JSONField):
                    value = _scalar(value)
                    if value is not None and not isinstance(value, str | int) or isinstance(value, bool):
                        value = str(value)  # JSON numbers/booleans where text belongs: validate as text
                    if isinstance(value, int) and not isinstance(field, forms.IntegerField):
                        value = str(value)
                self.cleaned_data[name] = field.clean(value)
                hook = getattr(self, f"clean_{name}", None)
                if hook is not None:
                    self.cleaned_data[name] = hook()
            except forms.ValidationError as exc:
                self.add_error(name, exc)

    def clean_phone(self) -> str:
        return phone_clean(self.cleaned_data.get("phone", ""))

    def clean_email(self) -> str:
        return email_clean(self.cleaned_data.get("email", ""))

    def clean_actor(self) -> str:
        return self.cleaned_data.get("actor") or Activity.Actor.CUSTOMER

    def clean_occurred_at(self) -> datetime | None:
        """A sender whose clock runs ahead would otherwise stamp the lead's last activity in
        the future (it would sort first and its behaviour points would never decay)."""
        value = self.cleaned_data.get("occurred_at")
        if value is not None and value > timezone.now() + OCCURRED_AT_SKEW:
            raise forms.ValidationError(
                _("%(value)s is in the future; send when the activity happened."),
                params={"value": value.isoformat()},
            )
        return value

    def clean_data(self) -> dict:
        value = self.cleaned_data.get("data")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Must be a JSON object."))
        return value

    def clean_lead(self) -> dict:
        value = self.cleaned_data.get("lead")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Must be a JSON object."))
        return value

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if not (cleaned.get("lead_id") or cleaned.get("phone") or cleaned.get("email")):
            self.add_error(None, _("Identify the lead by lead_id, phone or email."))
        return cleaned


def form_errors(form: forms.Form) -> dict[str, list[str]]:
    """Errors as {field: [messages]}; the form-wide error is reported under "contact"."""
    errors: dict[str, list[str]] = {}
    for field, messages in form.errors.items():
        errors["contact" if field == "__all__" else field] = [str(m) for m in messages]
    return errors


def intake_row_split(row: Mapping) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    """(form data, extra, errors) from an incoming row.

    Known keys become form data (cleaned text, NUL and control bytes dropped); other keys go to
    Lead.extra; keys starting with "_" are the caller's bookkeeping and are skipped. A nested
    "extra" mapping (API) is merged in. Over-long extra values are errors, never truncated.
    """
    known = LeadIntakeForm.base_fields
    text_clean = normalize.text_clean
    data: dict[str, str] = {}
    extra: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for key, value in row.items():
        if key in known:  # most keys: a str cell of a lead field, often empty
            if type(value) is str:
                data[key] = text_clean(value) if value else ""
            else:
                data[key] = value if isinstance(value, bool | list | dict) else text_clean(value)
            continue
        if not isinstance(key, str) or key.startswith("_"):
            continue
        if key == "extra" and isinstance(value, Mapping):
            for extra_key, extra_value in value.items():
                extra[text_clean(extra_key)[:100]] = extra_value
            continue
        cleaned_key = text_clean(key)[:100]
        if not isinstance(value, str):
            if cleaned_key and value not in (None, "", [], {}):
                extra[cleaned_key] = value
            continue
        cleaned = text_clean(value)
        if not cleaned_key or not cleaned:
            continue
        if len(cleaned) > EXTRA_VALUE_MAX_LENGTH:
            errors[cleaned_key] = [
                str(
                    _("Ensure this value has at most %(limit)d characters (it has %(count)d).")
                    % {
                        "limit": EXTRA_VALUE_MAX_LENGTH,
                        "count": len(cleaned),
                    }
                )
            ]
            continue
        extra[cleaned_key] = cleaned
    return data, extra, errors
