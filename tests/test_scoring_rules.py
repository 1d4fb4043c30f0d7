"""Scores come from the ScoringRule rows as they are now; the breakdown names each rule's points
and the bands turn the total into a tier."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import ScoreBand, ScoringRule
from leads.scoring import lead_score
from tests.factories import ActivityFactory, LeadFactory


@pytest.fixture
def rules(db):
    return {
        "industry": ScoringRule.objects.create(
            name="目标行业", field="industry", operator="in", value=["SaaS", "金融"], points=15
        ),
        "role": ScoringRule.objects.create(
            name="决策人", field="role", operator="in", value=["CEO"], points=10
        ),
        "size": ScoringRule.objects.create(
            name="规模", field="company_size", operator="gte", value=200, points=5
        ),
        "region": ScoringRule.objects.create(
            name="非目标地区", field="region", operator="in", value=["新疆"], points=-10
        ),
        "student": ScoringRule.objects.create(
            name="学生", field="role", operator="eq", value="学生", points=-20
        ),
        "webinar": ScoringRule.objects.create(
            name="研讨会", kind="behavioural", activity_kind="webinar", points=15, cap=30
        ),
        "open": ScoringRule.objects.create(
            name="打开邮件", kind="behavioural", activity_kind="email_open", points=2, decay_days=30
        ),
    }


def test_explicit_rules_add_up_and_the_breakdown_names_them(rules):
    lead = LeadFactory(industry="SaaS", role="CEO", company_size=300, region="上海")

    score, tier, breakdown = lead_score(lead, activities=[])

    assert score == 30
    assert tier == "low"
    assert {(item["rule"], item["points"]) for item in breakdown} == {
        ("目标行业", 15),
        ("决策人", 10),
        ("规模", 5),
    }
    assert all(item["rule_id"] for item in breakdown)


def test_negative_rules_subtract(rules):
    lead = LeadFactory(role="学生", region="新疆", industry="", company_size=None)

    assert lead_score(lead, activities=[])[0] == -30


def test_behaviour_is_capped_per_rule(rules):
    lead = LeadFactory(industry="", role="", company_size=None)
    for _ in range(3):
        ActivityFactory(lead=lead, kind="webinar", actor="customer")

    score, _, breakdown = lead_score(lead)

    assert score == 30
    assert breakdown == [{"rule": "研讨会", "rule_id": rules["webinar"].pk, "points": 30, "count": 3}]


def test_old_behaviour_decays(rules):
    now = timezone.now()
    lead = LeadFactory(industry="", role="", company_size=None)
    ActivityFactory(lead=lead, kind="email_open", actor="customer", occurred_at=now - timedelta(days=40))
    ActivityFactory(lead=lead, kind="email_open", actor="customer", occurred_at=now - timedelta(days=1))

    assert lead_score(lead, now=now)[0] == 2


def test_the_breakdown_follows_rule_edits(rules):
    lead = LeadFactory(industry="SaaS", role="", company_size=None)
    rules["industry"].points = 40
    rules["industry"].save()
    ScoringRule.objects.filter(pk=rules["role"].pk).update(active=False)

    score, _, breakdown = lead_score(lead, activities=[])

    assert score == 40
    assert breakdown == [{"rule": "目标行业", "rule_id": rules["industry"].pk, "points": 40}]


@pytest.mark.parametrize(("points", "tier"), [(80, "high"), (79, "medium"), (50, "medium"), (49, "low")])
def test_default_bands_set_the_tier(db, points, tier):
    ScoringRule.objects.create(name="flat", field="phone", operator="not_empty", points=points)

    assert lead_score(LeadFactory(), activities=[])[1] == tier


def test_edited_bands_move_the_tier(db):
    ScoringRule.objects.create(name="flat", field="phone", operator="not_empty", points=60)
    ScoreBand.objects.filter(tier="high").update(min_score=60)

    assert lead_score(LeadFactory(), activities=[])[1] == "high"


def test_rules_on_extra_keys_work(db):
    ScoringRule.objects.create(name="campaign", field="extra.utm", operator="eq", value="spring", points=7)

    assert lead_score(LeadFactory(extra={"utm": "Spring"}), activities=[])[0] == 7
