"""The rep workspace in a real browser (Playwright driving Debian's chromium against live_server):
a rep's day on one lead, a rep kept out of another rep's lead, and screenshots for the README."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.services import notifications_send
from leads.models import Activity, Lead, ScoreBand, ScoringRule
from leads.services import lead_transition
from lifecycle.intake import lead_intake
from lifecycle.models import Stage
from tests.factories import (
    AssignmentRuleFactory,
    RuleSetFactory,
    RuleTargetFactory,
    SourceFactory,
    fund_lead_type,
    lead_assigned_to,
)
from tests.fixtures_browser import *  # noqa: F403
from tests.fixtures_browser import browser_required, log_in, screenshot

pytestmark = [*browser_required, pytest.mark.django_db(transaction=True)]


def test_a_rep_logs_in_sees_a_new_lead_logs_a_call_and_moves_it_to_pending_payment(
    live_server, new_page, rep_a, rep_b
):
    fund = fund_lead_type()
    web = SourceFactory(code="web", name="官网表单", channel="form", heat="hot")
    ScoringRule.objects.create(name="职位：CEO", field="role", operator="eq", value="CEO", points=40)
    ScoringRule.objects.create(
        name="地区：华东", field="region", operator="in", value=["上海", "江苏"], points=25
    )
    ScoringRule.objects.create(name="有效电话沟通", kind="behavioural", activity_kind="call", points=15)
    # The new lead arrives through intake and the live rules route it to rep_a.
    rule_set = RuleSetFactory(name="新线索分配", trigger="new", is_active=True)
    RuleTargetFactory(rule=AssignmentRuleFactory(rule_set=rule_set, name="华东轮询", position=1), rep=rep_a)
    AssignmentRuleFactory(rule_set=rule_set, name="默认：公海", position=2, strategy="pool", is_default=True)
    for tier, minimum in (("high", 80), ("medium", 50), ("low", 0)):
        ScoreBand.objects.update_or_create(tier=tier, defaults={"min_score": minimum, "action": "route"})
    intake = lead_intake(
        data={
            "name": "王建国",
            "company": "恒通科技有限公司",
            "role": "CEO",
            "region": "上海",
            "industry": "金融",
            "phone": "13800138000",
            "email": "wang@hengtong.example.cn",
            "lead_type": "fund",
        },
        source=web,
    )
    lead = intake.lead
    assert lead.owner == rep_a and lead.lead_type == fund
    late = lead_assigned_to(
        rep_a, lead_type=fund, source=web, name="李秀英", company="博睿教育科技", region="江苏", score=58
    )
    Lead.objects.filter(pk=late.pk).update(
        first_contact_due=timezone.now() - timedelta(hours=3), tier="medium"
    )
    quiet = lead_assigned_to(
        rep_a, lead_type=fund, source=web, name="赵敏", company="嘉禾贸易有限公司", region="浙江", score=35
    )
    lead_transition(lead=quiet, status=Lead.Status.SILENT, owner=rep_a, kind="silenced", reason="有效期结束")
    Lead.objects.filter(pk=quiet.pk).update(silent_until=timezone.now() + timedelta(days=1, hours=2))
    notifications_send(
        users=[rep_a.user], kind="deadline", message="王建国：首次联系还剩 2 小时", lead_id=lead.pk
    )
    page = new_page()
    log_in(page, live_server, "rep_a")
    screenshot_ready = page.locator("[data-testid=lead-table]")
    assert screenshot_ready.is_visible()
    assert "王建国" in page.inner_text("[data-testid=lead-table]")
    screenshot(page, "my-leads")

    page.click("text=王建国")
    page.select_option("select[name=kind]", "call")
    page.select_option("select[name=outcome]", "interested")
    page.fill("textarea[name=note]", "客户对定投产品感兴趣，约了周五回电")
    page.click("form.follow-up button[type=submit]")
    page.wait_for_load_state()
    assert "客户对定投产品感兴趣" in page.inner_text("[data-testid=timeline]")
    assert Activity.objects.filter(lead=lead, kind="call", rep=rep_a).exists()

    page.click("[data-testid=stages] button:has-text('待支付')")
    page.wait_for_load_state()
    lead.refresh_from_db()
    assert lead.stage == Stage.objects.get(lead_type=fund, name="待支付")
    expected = timezone.localtime(lead.valid_until).strftime("%Y-%m-%d %H:%M")
    assert page.inner_text("[data-testid=valid-until]").strip() == expected
    assert expected in page.inner_text(".messages")
    screenshot(page, "lead")

    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "lead-phone")


def test_a_rep_cannot_open_another_reps_lead(live_server, new_page, rep_a, rep_b):
    theirs = lead_assigned_to(rep_b, name="别人的客户", company="秘密公司")
    page = new_page()
    log_in(page, live_server, "rep_a")
    response = page.goto(f"{live_server.url}/leads/{theirs.pk}/")
    assert response.status == 404
    assert "秘密公司" not in page.content()
    assert Lead.objects.get(pk=theirs.pk).owner == rep_b


def test_screenshots_of_the_login_add_lead_and_notification_pages(live_server, new_page, rep_a):
    SourceFactory(code="expo", name="展会名片", channel="event", heat="cold")
    notifications_send(
        users=[rep_a.user], kind="recall", message="线索“赵敏”已被召回到线索池（超过 48 小时未首次联系）"
    )
    notifications_send(users=[rep_a.user], kind="deadline", message="线索“钱伟”首次联系还剩 2 小时")
    page = new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    screenshot(page, "login")
    log_in(page, live_server, "rep_a")
    page.goto(f"{live_server.url}/leads/new/")
    screenshot(page, "add-lead")
    page.goto(f"{live_server.url}/notifications/")
    assert "2" in page.inner_text("[data-testid=notifications-link]")
    screenshot(page, "notifications")
    page.click("text=全部标为已读")
    page.wait_for_load_state()
    assert page.locator("[data-testid=notifications-link] .badge").count() == 0
