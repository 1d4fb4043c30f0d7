"""Forms of the rep workspace: they parse and validate input; the services do the work."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Rep
from leads.models import Activity, Channel, Source
from lifecycle.models import Stage

FOLLOW_UP_KINDS = [
    (Activity.Kind.CALL, Activity.Kind.CALL.label),
    (Activity.Kind.VISIT, Activity.Kind.VISIT.label),
    (Activity.Kind.WECOM, Activity.Kind.WECOM.label),
    (Activity.Kind.EMAIL, Activity.Kind.EMAIL.label),
    (Activity.Kind.NOTE, Activity.Kind.NOTE.label),
]

OUTCOMES = [
    ("", "—"),
    ("reached", _("reached, talked")),
    ("no_answer", _("no answer")),
    ("interested", _("interested")),
    ("not_interested", _("not interested")),
    ("call_back", _("call back later")),
    ("wrong_number", _("wrong number")),
]

# Channels a rep meets a customer through in person; an API or import source is not offered.
CARD_CHANNELS = [Channel.CARD, Channel.EVENT, Channel.REFERRAL, Channel.PARTNER]


class FollowUpForm(forms.Form):
    kind = forms.ChoiceField(label=_("what"), choices=FOLLOW_UP_KINDS, initial=Activity.Kind.CALL)
    outcome = forms.ChoiceField(label=_("outcome"), choices=OUTCOMES, required=False)
    note = forms.CharField(
        label=_("note"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class StageMoveForm(forms.Form):
    stage = forms.ModelChoiceField(label=_("stage"), queryset=Stage.objects.none())

    def __init__(self, *args, lead, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the stages of this lead's type; another type's stage id is a validation error.
        self.fields["stage"].queryset = Stage.objects.filter(lead_type_id=lead.lead_type_id)


class ReleaseForm(forms.Form):
    reason = forms.CharField(label=_("why release it"), max_length=300)


class BusinessCardForm(forms.Form):
    """A card met at an event; the intake pipeline scores, de-duplicates and routes it."""

    source = forms.ModelChoiceField(label=_("source"), queryset=Source.objects.none(), empty_label=None)
    name = forms.CharField(label=_("name"), max_length=100)
    company = forms.CharField(label=_("company"), max_length=200, required=False)
    role = forms.CharField(label=_("role / title"), max_length=100, required=False)
    phone = forms.CharField(label=_("phone"), max_length=40, required=False)
    email = forms.EmailField(label=_("e-mail"), required=False)
    region = forms.CharField(label=_("region"), max_length=50, required=False)
    industry = forms.CharField(label=_("industry"), max_length=50, required=False)
    product = forms.CharField(label=_("product"), max_length=100, required=False)
    note = forms.CharField(
        label=_("note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = Source.objects.filter(
            active=True, channel__in=CARD_CHANNELS
        ).order_by("channel", "name")

    def clean(self):
        data = super().clean()
        if not data.get("phone") and not data.get("email"):
            raise forms.ValidationError(_("Give a phone number or an e-mail address."))
        return data

    def intake_data(self) -> dict:
        """The lead fields for lead_intake (empty values left out)."""
        return {k: v for k, v in self.cleaned_data.items() if k != "source" and v not in ("", None)}


class TransferForm(forms.Form):
    leads = forms.ModelMultipleChoiceField(label=_("leads"), queryset=None)
    to_rep = forms.ModelChoiceField(label=_("to rep"), queryset=Rep.objects.none())
    reason = forms.CharField(label=_("reason"), max_length=300)

    def __init__(self, *args, leads_qs, reps_qs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["leads"].queryset = leads_qs
        self.fields["to_rep"].queryset = reps_qs


class MarkReadForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any integers; the service only touches the user's own notifications.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()
