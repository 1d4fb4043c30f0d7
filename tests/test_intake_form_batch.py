"""The batch fast paths give exactly what the plain paths give: one prepared LeadIntakeForm
rebound row after row (with its empty-value and cleaned-text shortcuts) cleans and rejects like a
fresh form per row, and scoring with the context's memo equals scoring without it."""

from decimal import Decimal

import pytest
from django.utils import timezone

from leads.forms import LeadIntakeForm, form_errors, intake_row_split
from leads.models import Lead, LeadType, ScoringRule, Source
from leads.scoring import ScoringContext, lead_score, score_bands_load

ROWS = [
    {"name": "张三", "phone": "13800138000", "region": "杭州市", "company_size": "1,200人"},
    {"name": "x" * 101, "phone": "13800138000"},
    {"name": "ok", "email": "bad@", "phone": "12345"},
    {"name": "ok", "email": " A@B.CN ", "source": "nope"},
    {"name": "ok", "phone": "13800138000", "source": "web", "lead_type": "fund"},
    {"name": "ok", "phone": "13800138000", "lead_type": "nope"},
    {"name": "ok", "phone": ["13800138000"]},
    {"name": {"a": 1}, "phone": "13800138000"},
    {"name": "ok"},
    {"name": "", "phone": "", "email": ""},
    {"phone": "13800138000", "company_size": "lots", "budget": "abc"},
    {"phone": "13800138000", "company_size": "99999999999", "budget": "-5"},
    {"phone": "13800138000", "budget": "1234567890123456"},
    {"phone": "13800138000", "is_referral": True, "referrer": "y" * 101},
    {"phone": "13800138000", "is_referral": "是", "region": "北京", "备注": "z" * 2001},
    {"phone": " 138 0013 8000 ", "name": "a\x00b\u3000c", "email": "x@y.com", "language": "l" * 21},
    {"phone": "13800138000", "name": 123, "company": None, "region": "  ", "_row": 7},
    {"phone": "13800138000", "source": "\x00", "external_id": "e" * 101, "lead_type": ""},
    {"phone": "13800138000", "industry": "i" * 51, "product": "p" * 101, "budget": "¥1,000.50"},
    {"email": "a@b.c", "phone": "abc"},
    # the same texts again: served by the prepared form's memo
    {"name": "张三", "phone": "13800138000", "region": "杭州市", "company_size": "1,200人"},
    {"name": "x" * 101, "phone": "13800138000"},
    {"name": "ok", "phone": "13800138000", "lead_type": "nope"},
]


def _outcome(form):
    valid = form.is_valid()
    return valid, form_errors(form), dict(form.cleaned_data) if valid else None


@pytest.mark.django_db
def test_rebound_form_cleans_and_rejects_like_a_fresh_form():
    Source.objects.get_or_create(code="web", defaults={"name": "官网", "channel": "web"})
    LeadType.objects.get_or_create(code="fund", defaults={"name": "基金"})
    sources = {s.code: s for s in Source.objects.filter(active=True)}
    lead_types = {t.code: t for t in LeadType.objects.all()}
    prepared = None
    for row in ROWS:
        data, _, _ = intake_row_split(row)
        fresh = _outcome(LeadIntakeForm(data, lead_types=lead_types, sources=sources))
        if prepared is None:
            prepared = LeadIntakeForm(data, lead_types=lead_types, sources=sources)
        else:
            prepared.rebind(data)
        assert _outcome(prepared) == fresh, row
    # a fresh form rejects per field with the field's own message
    data, _, _ = intake_row_split({"name": "x" * 101, "email": "bad@", "source": "nope"})
    errors = form_errors(LeadIntakeForm(data, lead_types=lead_types, sources=sources))
    assert set(errors) == {"name", "email", "source"}


def test_row_split_keeps_known_cells_and_extra_apart():
    data, extra, errors = intake_row_split(
        {"_row": 3, "name": " 张\u3000三 ", "phone": "", "备注": " 官网 ", "空": "", "extra": {"k": 1}}
    )
    assert data == {"name": "张 三", "phone": ""}
    assert extra == {"备注": "官网", "k": 1}
    assert errors == {}


@pytest.mark.django_db
def test_scoring_memo_gives_the_plain_scores(source):
    rules = [
        ScoringRule.objects.create(name="CEO", field="role", operator="in", value="CEO,IT总监", points=10),
        ScoringRule.objects.create(name="公司", field="company", operator="not_empty", points=30),
        ScoringRule.objects.create(name="大", field="company_size", operator="gte", value="200", points=5),
        ScoringRule.objects.create(name="预算", field="budget", operator="contains", value="0.5", points=3),
        ScoringRule.objects.create(name="杭州", field="extra.city", operator="eq", value="杭州", points=4),
        ScoringRule.objects.create(name="推荐", field="is_referral", operator="eq", value="1", points=2),
        ScoringRule.objects.create(name="学生", field="role", operator="eq", value="学生", points=-20, cap=5),
    ]
    context = ScoringContext(rules=rules, bands=score_bands_load())
    now = timezone.now()
    leads = []
    for i in range(60):
        leads.append(
            Lead(
                name=f"c{i}",
                role=["CEO", "学生", "", "IT总监"][i % 4],
                company="恒通" if i % 3 else "",
                company_size=[None, 100, 300, 200][i % 4],
                budget=[None, Decimal("50.5"), Decimal("50.50"), Decimal("5E+1")][i % 4],
                extra=[{}, {"city": "杭州"}, {"city": ["杭州"]}][i % 3],
                is_referral=bool(i % 2),
                source=source,
            )
        )
    for lead in leads * 2:
        plain = lead_score(lead, activities=[], rules=rules, bands=context.bands, now=now)
        memo = lead_score(lead, activities=[], rules=rules, bands=context.bands, now=now, memo=context.memo)
        assert memo == plain
