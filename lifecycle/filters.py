"""django-filter FilterSets for the rep workspace lists (my leads, pool, team).

Every filter is an equality or range on an indexed column of a queryset that the view has already
narrowed by owner, pool or team, so filtering never scans the whole lead table.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import django_filters
from django.db.models import Case, DateTimeField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Rep
from leads.models import Heat, Lead, Source, Tier
from lifecycle.models import Stage

DUE_SOON = timedelta(hours=24)


def _far_future():
    return Value(datetime(9999, 1, 1, tzinfo=timezone.get_fixed_timezone(0)), output_field=DateTimeField())


def next_due_expression():
    """The earliest clock that binds the owner: silent → silent_until; assigned → the earliest of
    first contact (until made), claim follow-up, progress and validity. NULLs sort last
    (coalesced, because SQLite's MIN() of a NULL is NULL while PostgreSQL's LEAST skips it)."""
    far = _far_future()
    assigned_due = Least(
        Coalesce(Case(When(first_contacted_at__isnull=True, then="first_contact_due")), far),
        Coalesce("claim_due", far),
        Coalesce("progress_due", far),
        Coalesce("valid_until", far),
    )
    return Case(
        When(status=Lead.Status.SILENT, then=Coalesce("silent_until", far)),
        When(status=Lead.Status.ASSIGNED, then=assigned_due),
        default=far,
        output_field=DateTimeField(),
    )


def due_before_q(moment: datetime) -> Q:
    """Leads with some binding clock before `moment` (the same clocks as next_due_expression)."""
    assigned = Q(status=Lead.Status.ASSIGNED) & (
        Q(first_contacted_at__isnull=True, first_contact_due__lt=moment)
        | Q(claim_due__lt=moment)
        | Q(progress_due__lt=moment)
        | Q(valid_until__lt=moment)
    )
    silent = Q(status=Lead.Status.SILENT, silent_until__lt=moment)
    return assigned | silent


class DueFilter(django_filters.ChoiceFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [("soon", _("due within 24 h")), ("overdue", _("overdue"))])
        kwargs.setdefault("empty_label", _("any"))
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value):
        now = timezone.now()
        if value == "overdue":
            return qs.filter(due_before_q(now))
        if value == "soon":
            return qs.filter(due_before_q(now + DUE_SOON)).exclude(due_before_q(now))
        return qs


class MyLeadFilter(django_filters.FilterSet):
    """The rep's own leads. Without a status the view shows open work (assigned + silent)."""

    status = django_filters.ChoiceFilter(
        label=_("status"),
        choices=[
            (Lead.Status.ASSIGNED, Lead.Status.ASSIGNED.label),
            (Lead.Status.SILENT, Lead.Status.SILENT.label),
            (Lead.Status.CONVERTED, Lead.Status.CONVERTED.label),
            (Lead.Status.LOST, Lead.Status.LOST.label),
        ],
        empty_label=_("open (assigned + silent)"),
    )
    stage = django_filters.ModelChoiceFilter(
        label=_("stage"),
        empty_label=_("any"),
        queryset=Stage.objects.select_related("lead_type").order_by("lead_type__name", "position"),
    )
    tier = django_filters.ChoiceFilter(label=_("tier"), empty_label=_("any"), choices=Tier.choices)
    heat = django_filters.ChoiceFilter(
        label=_("heat"), empty_label=_("any"), field_name="source__heat", choices=Heat.choices
    )
    source = django_filters.ModelChoiceFilter(
        label=_("source"), empty_label=_("any"), queryset=Source.objects.all()
    )
    region = django_filters.CharFilter(label=_("region"), lookup_expr="exact")
    due = DueFilter(label=_("deadline"))
    order = django_filters.OrderingFilter(
        label=_("sort"),
        empty_label=_("most urgent first"),
        fields=(
            ("next_due", "next_due"),
            ("score", "score"),
            ("created_at", "created_at"),
            ("last_activity_at", "last_activity_at"),
        ),
        field_labels={
            "next_due": _("next deadline, soonest first"),
            "-next_due": _("next deadline, latest first"),
            "-score": _("highest score first"),
            "score": _("lowest score first"),
            "-created_at": _("newest lead first"),
            "created_at": _("oldest lead first"),
            "-last_activity_at": _("most recently worked first"),
            "last_activity_at": _("least recently worked first"),
        },
    )

    class Meta:
        model = Lead
        fields: list[str] = []


class PoolFilter(django_filters.FilterSet):
    """Pooled leads a rep may claim: by score, heat, age, region, industry, source."""

    tier = django_filters.ChoiceFilter(label=_("tier"), empty_label=_("any"), choices=Tier.choices)
    heat = django_filters.ChoiceFilter(
        label=_("heat"), empty_label=_("any"), field_name="source__heat", choices=Heat.choices
    )
    source = django_filters.ModelChoiceFilter(
        label=_("source"), empty_label=_("any"), queryset=Source.objects.all()
    )
    region = django_filters.CharFilter(label=_("region"), lookup_expr="exact")
    industry = django_filters.CharFilter(label=_("industry"), lookup_expr="exact")
    min_score = django_filters.NumberFilter(label=_("score at least"), field_name="score", lookup_expr="gte")
    order = django_filters.OrderingFilter(
        label=_("sort"),
        empty_label=_("newest first"),
        fields=(("score", "score"), ("pooled_at", "pooled_at"), ("created_at", "created_at")),
        field_labels={
            "-score": _("highest score first"),
            "score": _("lowest score first"),
            "pooled_at": _("waiting longest first"),
            "-pooled_at": _("most recently pooled first"),
            "created_at": _("oldest lead first"),
            "-created_at": _("newest lead first"),
        },
    )

    class Meta:
        model = Lead
        fields: list[str] = []


class TeamLeadFilter(django_filters.FilterSet):
    """A team lead's view of the team's open leads."""

    owner = django_filters.ModelChoiceFilter(label=_("owner"), empty_label=_("any"), queryset=None)
    status = django_filters.ChoiceFilter(
        label=_("status"),
        choices=[
            (Lead.Status.ASSIGNED, Lead.Status.ASSIGNED.label),
            (Lead.Status.SILENT, Lead.Status.SILENT.label),
        ],
        empty_label=_("open (assigned + silent)"),
    )
    due = DueFilter(label=_("deadline"))
    order = django_filters.OrderingFilter(
        label=_("sort"),
        empty_label=_("most urgent first"),
        fields=(("next_due", "next_due"), ("score", "score"), ("created_at", "created_at")),
        field_labels={
            "next_due": _("next deadline, soonest first"),
            "-next_due": _("next deadline, latest first"),
            "-score": _("highest score first"),
            "score": _("lowest score first"),
            "-created_at": _("newest lead first"),
            "created_at": _("oldest lead first"),
        },
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    def __init__(self, *args, reps=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner"].queryset = reps if reps is not None else Rep.objects.none()
