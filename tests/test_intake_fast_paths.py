"""The bulk intake's shortcuts give exactly what the plain Django paths give: the dedup lookup's
one-parameter IN matches the rows `__in` matches, the form's inline text cleaning equals
Field.clean, and the lean writer's keys (PostgreSQL: drawn from the sequence, then COPY) land on
the right instances, in ascending order, logged as one query per write."""

import pytest
from django import forms
from django.db import connection
from django.db.models import F, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.dedup import OneOf, dedup_index_load
from leads.forms import LeadIntakeForm, _field_plan, form_errors
from leads.models import Lead, LeadEvent, Tier
from leads.writing import rows_insert

pytestmark = pytest.mark.django_db

ODD_TEXTS = [
    "plain",
    "with space",
    "comma,inside",
    'double "quote"',
    "single 'quote'",
    "back\\slash",
    "{braces}",
    "NULL",
    "王伟@例子.中国",
    "[1, 2]",
    "",
]


def _lead(source, **values):
    return Lead.objects.create(source=source, status=Lead.Status.POOLED, created_at=timezone.now(), **values)


def test_one_of_matches_what_in_matches(source):
    for text in ODD_TEXTS:
        _lead(source, email_normalized=text, phone_normalized=text[:20])
    _lead(source, email_normalized="other")
    wanted = set(ODD_TEXTS[::2]) | {"not stored"}

    ours = Lead.objects.filter(OneOf(F("email_normalized"), wanted)).order_by("pk")
    theirs = Lead.objects.filter(email_normalized__in=wanted).order_by("pk")
    assert list(ours) == list(theirs) and len(theirs) == len(ODD_TEXTS[::2])

    combined = Lead.objects.filter(
        Q(OneOf(F("phone_normalized"), {"plain"})) | Q(OneOf(F("email_normalized"), {"NULL"}))
    )
    assert {lead.email_normalized for lead in combined} == {"plain", "NULL"}
    assert not Lead.objects.filter(OneOf(F("email_normalized"), set())).exists()


def test_dedup_index_takes_the_oldest_of_stored_duplicates(source):
    first = _lead(source, phone_normalized="+8613800138000", email_normalized="a@example.cn")
    _lead(source, phone_normalized="+8613800138000", email_normalized="a@example.cn")
    by_external = _lead(source, external_id="crm-1")

    index = dedup_index_load([("+8613800138000", "a@example.cn", source.pk, "crm-1")])

    assert index.by_phone["+8613800138000"].pk == first.pk
    assert index.by_email["a@example.cn"].pk == first.pk
    assert index.by_external[(source.pk, "crm-1")].pk == by_external.pk
    assert index.find(phone="", email="", source_id=source.pk, external_id="crm-1").pk == by_external.pk


def test_every_intake_field_is_cleaned_inline():
    plan = _field_plan(LeadIntakeForm, LeadIntakeForm.base_fields)
    assert [name for name, _, limit, _ in plan if limit is None] == []


@pytest.mark.parametrize(
    "value",
    ["  padded  ", "x" * 100, "x" * 101, "nul\x00inside", "y" * 101 + "\x00", "\t\n", "全角\u3000空格"],
)
def test_inline_cleaning_equals_field_clean(value):
    field = forms.CharField(max_length=100, required=False)
    try:
        expected = {"name": field.clean(value)}
    except forms.ValidationError as exc:
        expected = {"errors": [str(m) for m in exc.messages]}

    form = LeadIntakeForm({"name": value, "phone": "13800138000"}, lead_types={}, sources={})
    valid = form.is_valid()
    got = {"name": form.cleaned_data["name"]} if valid else {"errors": form_errors(form).get("name")}

    assert got == expected


def test_rows_insert_sets_ascending_keys_on_the_right_instances_and_logs_one_query(source):
    leads = [Lead(source=source, name=str(i), status="pooled", created_at=timezone.now()) for i in range(30)]

    with CaptureQueriesContext(connection) as queries:
        rows_insert(leads)

    keys = [lead.pk for lead in leads]
    assert keys == sorted(keys) and len(set(keys)) == 30
    assert dict(Lead.objects.filter(pk__in=keys).values_list("pk", "name")) == {
        lead.pk: lead.name for lead in leads
    }
    if connection.vendor == "postgresql":
        assert len(queries) == 1  # the keys and the COPY are one write

    events = [
        LeadEvent(lead=lead, kind="k", at=timezone.now(), data={"i": i}) for i, lead in enumerate(leads)
    ]
    rows_insert(events)
    assert [e.lead_id for e in LeadEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("pk")] == keys
    # the next ordinary INSERT continues after the keys the writer drew
    assert Lead.objects.create(source=source, status="pooled", created_at=timezone.now()).pk > keys[-1]


@pytest.mark.parametrize("score", [-5, 0, 49, 50, 79, 80, 200])
def test_score_tier_picks_what_the_sorted_bands_picked(score):
    from leads.models import ScoreBand
    from leads.scoring import score_tier

    bands = [
        ScoreBand(tier="medium", min_score=50),
        ScoreBand(tier="high", min_score=80),
        ScoreBand(tier="low", min_score=0),
        ScoreBand(tier="high", min_score=50),  # same threshold as an earlier band: never chosen
    ]
    expected = next(
        (b.tier for b in sorted(bands, key=lambda b: -b.min_score) if score >= b.min_score), "low"
    )
    assert score_tier(score, bands=bands) == expected
    assert score_tier(score, bands=iter(bands)) == expected


def test_printable_text_has_nothing_for_text_clean_to_drop_or_fold():
    """The premise of _text_clean's shortcut, over every code point."""
    import re

    from leads.normalize import _CONTROL

    spaces = re.compile(r"\s")
    for code in range(0x110000):
        char = chr(code)
        if char != " " and char.isprintable():
            assert not spaces.match(char) and not _CONTROL.match(char) and char != "\u3000", hex(code)


@pytest.mark.parametrize(
    "raw", ["  a  b ", "a\u3000b", "x\x00y", "tab\there", " 客户 0 ", "line\nbreak", "\xa0nbsp\xa0", "ok"]
)
def test_text_clean_shortcut_equals_the_full_cleaning(raw):
    import re

    from leads.normalize import _CONTROL, _text_clean

    full = re.sub(r"\s+", " ", _CONTROL.sub("", raw).replace("\u3000", " ")).strip()
    assert _text_clean(raw) == full


def test_rows_update_writes_each_rows_values_in_one_logged_query(source):
    from decimal import Decimal

    from leads.writing import rows_update

    leads = [_lead(source, name=str(i)) for i in range(5)]
    for i, lead in enumerate(leads):
        lead.name = "改" * (i + 1)
        lead.extra = {"i": i, "嵌套": [None, True]} if i % 2 else {}
        lead.budget = Decimal(i) / 4 if i else None
        lead.tier = Tier.MEDIUM if i == 3 else "high"  # a str subclass too

    with CaptureQueriesContext(connection) as queries:
        assert rows_update(leads, ["name", "extra", "budget", "tier"]) == 5

    assert len(queries) == 1
    stored = {pk: rest for pk, *rest in Lead.objects.values_list("pk", "name", "extra", "budget", "tier")}
    assert stored == {lead.pk: [lead.name, lead.extra, lead.budget, str(lead.tier)] for lead in leads}

    twice = [Lead.objects.get(pk=leads[0].pk), Lead.objects.get(pk=leads[0].pk)]
    twice[0].name, twice[1].name = "first", "second"
    rows_update(twice, ["name"])  # the same row twice: the last value wins, as one by one
    assert Lead.objects.get(pk=leads[0].pk).name == "second"
