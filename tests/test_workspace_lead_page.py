"""The lead page (/leads/<id>/): what a rep sees, the one-click stage move, the quick follow-up,
and that another rep's lead is a 404 and every change a POST with CSRF."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.models import Activity, Lead, ScoreBand
from leads.services import lead_transition
from lifecycle.intake import lead_intake
from lifecycle.models import Stage
from tests.factories import (
    AssignmentRuleFactory,
    LeadTypeFactory,
    RuleSetFactory,
    RuleTargetFactory,
    fund_lead_type,
    lead_assigned_to,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(client):
    client.cookies["django_language"] = "en"
    return client


def test_another_reps_lead_id_is_a_404_not_a_leak(en, rep_a, rep_b, outsider):
    theirs = lead_assigned_to(rep_b)
    far = lead_assigned_to(outsider)
    en.force_login(rep_a.user)
    for lead in (theirs, far):
        assert en.get(reverse("workspace:lead_detail", args=[lead.pk])).status_code == 404
        assert (
            en.post(reverse("workspace:lead_activity", args=[lead.pk]), {"kind": "call"}).status_code == 404
        )
        assert en.post(reverse("workspace:lead_stage", args=[lead.pk]), {"stage": "1"}).status_code == 404
    assert en.get(reverse("workspace:lead_detail", args=[999999])).status_code == 404
    assert not Activity.objects.exists()


def test_the_page_shows_click_to_call_mail_and_the_score_breakdown(en, rep_a):
    lead = lead_assigned_to(
        rep_a,
        phone="+8613800000001",
        email="wang@example.cn",
        score=85,
        tier="high",
        score_breakdown=[{"rule": "CEO title", "points": 30}, {"rule": "Student", "points": -10}],
    )
    en.force_login(rep_a.user)
    body = en.get(reverse("workspace:lead_detail", args=[lead.pk])).content.decode()
    assert 'href="tel:+8613800000001"' in body
    assert 'href="mailto:wang@example.cn"' in body
    assert "CEO title" in body and "+30" in body and "-10" in body
    assert "85 · high" in body


def test_logging_a_call_records_the_activity_and_counts_as_first_contact(en, rep_a):
    lead = lead_assigned_to(rep_a)
    en.force_login(rep_a.user)
    response = en.post(
        reverse("workspace:lead_activity", args=[lead.pk]),
        {"kind": "call", "outcome": "reached", "note": "约了下周演示"},
        follow=True,
    )
    assert response.status_code == 200
    activity = Activity.objects.get(lead=lead)
    assert (activity.kind, activity.actor, activity.rep, activity.outcome) == (
        "call",
        "rep",
        rep_a,
        "reached",
    )
    lead.refresh_from_db()
    assert lead.first_contacted_at is not None
    assert "约了下周演示" in response.content.decode()


def test_a_one_click_stage_move_extends_validity_and_shows_the_new_deadline(en, rep_a):
    fund = fund_lead_type()
    lead = lead_assigned_to(rep_a, lead_type=fund)
    before = Lead.objects.get(pk=lead.pk).valid_until
    assert before is not None
    pending = Stage.objects.get(lead_type=fund, name="待支付")
    en.force_login(rep_a.user)
    page = en.get(reverse("workspace:lead_detail", args=[lead.pk])).content.decode()
    assert "validity +1 day" in page
    response = en.post(reverse("workspace:lead_stage", args=[lead.pk]), {"stage": pending.pk}, follow=True)
    lead.refresh_from_db()
    assert lead.stage == pending
    assert lead.valid_until == before + timedelta(days=1)
    shown = timezone.localtime(lead.valid_until).strftime("%Y-%m-%d %H:%M")
    assert f"Valid until {shown}" in response.content.decode()


def test_a_stage_of_another_lead_type_is_refused(en, rep_a):
    fund = fund_lead_type()
    lead = lead_assigned_to(rep_a, lead_type=fund)
    stranger = Stage.objects.create(
        lead_type=LeadTypeFactory(code="other", name="其他"), name="x", position=1
    )
    en.force_login(rep_a.user)
    en.post(reverse("workspace:lead_stage", args=[lead.pk]), {"stage": stranger.pk})
    lead.refresh_from_db()
    assert lead.stage_id is None


def test_a_silent_lead_is_read_only_to_its_old_rep_with_the_reason(en, rep_a):
    lead = lead_assigned_to(rep_a)
    lead_transition(
        lead=lead,
        status=Lead.Status.SILENT,
        owner=rep_a,
        kind="silence",
        reason="Validity ended (policy 'Fund leads')",
    )
    en.force_login(rep_a.user)
    page = en.get(reverse("workspace:lead_detail", args=[lead.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "read-only for you" in body
    assert "Validity ended (policy &#x27;Fund leads&#x27;)" in body
    assert "Log a follow-up" not in body
    refused = en.post(reverse("workspace:lead_activity", args=[lead.pk]), {"kind": "call"})
    assert refused.status_code == 403
    assert not Activity.objects.filter(lead=lead).exists()


def test_a_lead_handled_before_is_shown_read_only(en, rep_a, outsider):
    lead = lead_assigned_to(rep_a)
    lead_transition(lead=lead, status=Lead.Status.ASSIGNED, owner=outsider, kind="transfer", reason="test")
    en.force_login(rep_a.user)
    body = en.get(reverse("workspace:lead_detail", args=[lead.pk])).content.decode()
    assert "You handled this lead before" in body
    assert "Log a follow-up" not in body


def test_changes_need_post_and_csrf(rep_a):
    lead = lead_assigned_to(rep_a)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(rep_a.user)
    assert strict.get(reverse("workspace:lead_activity", args=[lead.pk])).status_code == 405
    assert (
        strict.post(reverse("workspace:lead_activity", args=[lead.pk]), {"kind": "call"}).status_code == 403
    )
    assert not Activity.objects.exists()


def test_the_timeline_explains_the_routing_in_plain_words(en, rep_a, rep_b, source):
    rule_set = RuleSetFactory(name="新线索分配", trigger="new", is_active=True)
    rule = AssignmentRuleFactory(rule_set=rule_set, name="华东直达", position=1, strategy="round_robin")
    RuleTargetFactory(rule=rule, rep=rep_a)
    AssignmentRuleFactory(rule_set=rule_set, name="默认：公海", position=2, strategy="pool", is_default=True)
    for tier, minimum in (("high", 80), ("medium", 50), ("low", 0)):
        ScoreBand.objects.update_or_create(tier=tier, defaults={"min_score": minimum, "action": "route"})
    lead = lead_intake(data={"name": "路由说明", "phone": "13922223333"}, source=source).lead
    assert lead.owner == rep_a
    en.force_login(rep_a.user)
    response = en.get(reverse("workspace:lead_detail", args=[lead.pk]))
    sentences = [s for item in response.context["timeline"] for s in item.get("explanation", [])]
    assert any("华东直达" in sentence for sentence in sentences)
    assert "华东直达" in response.content.decode()


def test_the_page_runs_a_constant_number_of_queries(en, rep_a, django_assert_max_num_queries):
    fund = fund_lead_type()
    lead = lead_assigned_to(rep_a, lead_type=fund)
    en.force_login(rep_a.user)
    with django_assert_max_num_queries(20) as few:
        en.get(reverse("workspace:lead_detail", args=[lead.pk]))
    for kind in ("call", "wecom", "visit", "note", "email"):
        Activity.objects.create(lead=lead, kind=kind, actor="rep", rep=rep_a, occurred_at=timezone.now())
    with django_assert_max_num_queries(len(few.captured_queries)):
        en.get(reverse("workspace:lead_detail", args=[lead.pk]))
