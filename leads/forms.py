"""Validation of incoming lead and activity data; one form serves the API, imports and the admin.

Values arrive as text (CSV cells, JSON strings); the clean_* methods normalize them with
leads.normalize so every channel stores the same canonical values.
"""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.core.validators import DecimalValidator, MaxValueValidator
from django.utils.translation import gettext_lazy as _

from leads import normalize
from leads.models import Activity, LeadType, Source

# Longest value kept for a column we do not know (it goes to Lead.extra).
EXTRA_VALUE_MAX_LENGTH = 2000


def phone_clean(raw: str) -> str:
    """The canonical phone number, "" for none; the API, imports and both forms share it."""
    if not raw:
        return ""
    normalized = normalize.phone_normalize(raw)
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

    def _clean_fields(self) -> None:
        """Django's loop minus a BoundField per field (the form's main cost on a 100k-row import).

        Valid because these fields are plain text fields: none is disabled, none takes files and
        each reads one key of `data`.
        """
        data = self.data
        for name, field in self.fields.items():
            try:
                self.cleaned_data[name] = field.clean(_scalar(data.get(name, "")))
                hook = getattr(self, f"clean_{name}", None)
                if hook is not None:
                    self.cleaned_data[name] = hook()
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
            MaxValueValidator(2_147_483_647)(size)
        return size

    def clean_budget(self):
        try:
            budget = normalize.budget_parse(self.cleaned_data.get("budget", ""))
        except ValueError as exc:
            raise forms.ValidationError(_("Enter an amount such as 50 or 1,000.")) from exc
        if budget is not None:
            if budget < 0:
                raise forms.ValidationError(_("The budget cannot be negative."))
            DecimalValidator(max_digits=14, decimal_places=2)(budget)
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


class _SharedFields(dict):
    """Field objects that every instance may share: deep-copying them is a no-op."""

    def __deepcopy__(self, memo):
        return self


# LeadIntakeForm never mutates its fields per instance (lookups come in as arguments), so a big
# import skips deep-copying 16 fields for every row (measured: ~40% of the form's cost).
LeadIntakeForm.base_fields = _SharedFields(LeadIntakeForm.base_fields)


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
    data: dict[str, str] = {}
    extra: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for key, value in row.items():
        if not isinstance(key, str) or key.startswith("_"):
            continue
        if key == "extra" and isinstance(value, Mapping):
            for extra_key, extra_value in value.items():
                extra[normalize.text_clean(extra_key)[:100]] = extra_value
            continue
        if key in known:
            data[key] = value if isinstance(value, bool | list | dict) else normalize.text_clean(value)
            continue
        cleaned_key = normalize.text_clean(key)[:100]
        if not isinstance(value, str):
            if cleaned_key and value not in (None, "", [], {}):
                extra[cleaned_key] = value
            continue
        cleaned = normalize.text_clean(value)
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
