"""A manager reorders assignment rules by dragging in the admin (django-admin-sortable2 inline on
the rule set), and the very next lead follows the new order."""

import pytest

from assignment.models import AssignmentRule
from leads.models import ScoreBand
from lifecycle.intake import lead_intake
from tests.factories import AssignmentRuleFactory, RuleSetFactory, RuleTargetFactory, SourceFactory
from tests.fixtures_browser import *  # noqa: F403
from tests.fixtures_browser import browser_required, log_in, screenshot

pytestmark = [*browser_required, pytest.mark.django_db(transaction=True)]


def test_a_manager_drags_a_rule_to_the_top_and_the_next_lead_goes_to_its_rep(
    live_server, new_page, manager, rep_a, rep_b
):
    rule_set = RuleSetFactory(name="新线索分配", trigger="new", is_active=True)
    first = AssignmentRuleFactory(
        rule_set=rule_set, name="华东轮询（甲）", position=1, strategy="round_robin"
    )
    RuleTargetFactory(rule=first, rep=rep_a)
    second = AssignmentRuleFactory(
        rule_set=rule_set, name="大客户直达（乙）", position=2, strategy="round_robin"
    )
    RuleTargetFactory(rule=second, rep=rep_b)
    AssignmentRuleFactory(rule_set=rule_set, name="默认：公海", position=3, strategy="pool", is_default=True)
    web = SourceFactory(code="web", name="官网表单", channel="form", heat="hot")
    for tier, minimum in (("high", 80), ("medium", 50), ("low", 0)):
        ScoreBand.objects.update_or_create(tier=tier, defaults={"min_score": minimum, "action": "route"})

    before = lead_intake(data={"name": "排序前", "phone": "13911110000"}, source=web)
    assert before.lead.owner == rep_a

    page = new_page()
    log_in(page, live_server, "manager")
    page.goto(f"{live_server.url}/admin/assignment/ruleset/{rule_set.pk}/change/")
    rows = page.locator("#rules-group tbody tr.has_original")
    assert rows.nth(0).inner_text().startswith("华东轮询")
    rows.nth(1).locator("td.original p").drag_to(rows.nth(0).locator("td.original p"))
    assert page.locator("#rules-group tbody tr.has_original").nth(0).inner_text().startswith("大客户直达")
    screenshot(page, "admin-rules")
    page.click("input[name=_save]")
    page.wait_for_load_state()
    assert "/admin/assignment/ruleset/" in page.url

    order = list(
        AssignmentRule.objects.filter(rule_set=rule_set).order_by("position").values_list("name", flat=True)
    )
    assert order[0] == "大客户直达（乙）"
    after = lead_intake(data={"name": "排序后", "phone": "13911110001"}, source=web)
    assert after.lead.owner == rep_b
