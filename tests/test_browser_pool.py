"""The pool in a real browser: two reps click "claim" on the same lead at the same moment;
exactly one gets it and the other sees a friendly message, not an error page."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import Lead, LeadEvent
from tests.factories import LeadFactory, SourceFactory, fund_lead_type, lead_assigned_to
from tests.fixtures_browser import *  # noqa: F403
from tests.fixtures_browser import browser_required, log_in, screenshot

pytestmark = [*browser_required, pytest.mark.django_db(transaction=True)]


def shared_in_memory_sqlite() -> bool:
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


def pooled(**fields):
    return LeadFactory(status=Lead.Status.POOLED, pooled_at=timezone.now() - timedelta(hours=5), **fields)


def test_two_reps_race_for_one_pool_lead_and_exactly_one_wins(live_server, new_page, rep_a, rep_b, team):
    expo = SourceFactory(code="expo", name="展会名片", channel="event", heat="cold")
    web = SourceFactory(code="web", name="官网表单", channel="form", heat="hot")
    lead = pooled(
        name="抢手客户",
        company="天成医疗器械有限公司",
        source=web,
        region="浙江",
        industry="医疗",
        score=88,
        tier="high",
        pool_reason="no_eligible_rep",
    )
    pooled(
        name="陈静",
        company="安泰贸易有限公司",
        source=expo,
        region="上海",
        score=55,
        tier="medium",
        pool_reason="released",
    )
    pooled(
        name="周涛",
        company="新锐教育科技",
        source=web,
        region="北京",
        score=30,
        pool_team=team,
        pool_reason="claim_mode",
    )
    page_a, page_b = new_page(), new_page()
    log_in(page_a, live_server, "rep_a")
    log_in(page_b, live_server, "rep_b")
    page_a.goto(f"{live_server.url}/pool/")
    page_b.goto(f"{live_server.url}/pool/")
    screenshot(page_a, "pool")
    button = f"[data-testid=claim-{lead.pk}]"
    if shared_in_memory_sqlite():
        # The live server's threads share the test's one in-memory SQLite connection, which is
        # not safe for two requests at once: click one after the other. The true race (both
        # forms submitted before either answer) runs in the PostgreSQL pass.
        page_a.click(button)
        page_b.click(button)
    else:
        page_a.click(button, no_wait_after=True)
        page_b.click(button, no_wait_after=True)
    page_a.wait_for_load_state()
    page_b.wait_for_load_state()
    page_a.wait_for_selector(".messages")
    page_b.wait_for_selector(".messages")

    lead.refresh_from_db()
    assert lead.status == Lead.Status.ASSIGNED
    assert lead.owner in (rep_a, rep_b)
    assert LeadEvent.objects.filter(lead=lead, to_status=Lead.Status.ASSIGNED).count() == 1
    winner, loser = (page_a, page_b) if lead.owner == rep_a else (page_b, page_a)
    assert winner.url.endswith(f"/leads/{lead.pk}/")
    assert loser.url.endswith("/pool/")
    assert lead.owner.display_name in loser.inner_text(".messages")
    screenshot(loser, "pool-already-taken")


def test_a_team_lead_sees_the_team_view(live_server, new_page, team_lead, rep_a, rep_b):
    fund = fund_lead_type()
    for name, rep, score in (("王芳", rep_a, 86), ("刘洋", rep_a, 52), ("张伟", rep_b, 40)):
        lead_assigned_to(rep, lead_type=fund, name=name, company="众联科技有限公司", score=score)
    page = new_page()
    log_in(page, live_server, "team_lead")
    page.goto(f"{live_server.url}/team/")
    assert "王芳" in page.inner_text("[data-testid=team-leads]")
    screenshot(page, "team")
