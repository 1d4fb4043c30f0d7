"""Simulating a rule set (a draft order, over recent or sample leads) shows who would get what
next to the live set — and writes nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assignment.models import AssignmentRule, RotationCursor
from assignment.services import lead_route
from assignment.simulation import rule_set_simulate
from leads.models import Lead, LeadEvent
from tests.factories import AssignmentRuleFactory, LeadFactory, RuleSetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Pages in English, whatever the project's default language, so assertions read plainly."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def rule_set(rep_a, rep_b, outsider):
    rs = RuleSetFactory(name="Live")
    AssignmentRuleFactory(
        rule_set=rs,
        name="West",
        position=1,
        strategy="round_robin",
        target_team=outsider.team,
        conditions=[{"field": "region", "op": "eq", "value": "北京"}],
    )
    AssignmentRuleFactory(
        rule_set=rs, name="East", position=2, strategy="round_robin", target_team=rep_a.team
    )
    AssignmentRuleFactory(rule_set=rs, name="Default", position=3, strategy="pool", is_default=True)
    return rs


def _state():
    return (
        list(Lead.objects.order_by("pk").values_list("status", "owner_id")),
        LeadEvent.objects.count(),
        list(RotationCursor.objects.order_by("pk").values_list("key", "state")),
        list(AssignmentRule.objects.order_by("pk").values_list("hit_count", "last_matched_at")),
    )


def test_a_draft_order_is_compared_with_the_live_set_without_writing(rule_set, rep_a, rep_b, outsider):
    for _ in range(2):
        lead_route(lead=LeadFactory(status="new", region="上海"))
    leads = [LeadFactory(status="new", region="北京") for _ in range(4)]
    before = _state()
    west, east, default = rule_set.rules.order_by("position")
    with CaptureQueriesContext(connection) as queries:
        result = rule_set_simulate(
            rule_set=rule_set, leads=leads, order=[(east.pk, True), (west.pk, True), (default.pk, True)]
        )
    assert _state() == before
    writes = [
        q["sql"] for q in queries.captured_queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")
    ]
    assert writes == []
    assert result.live_distribution == {outsider.display_name: 4}
    assert result.draft_distribution == {rep_a.display_name: 2, rep_b.display_name: 2}
    assert result.changed_count == 4


def test_the_simulate_page_runs_over_an_uploaded_sample(client, manager, rule_set, outsider):
    client.force_login(manager)
    url = reverse("admin:assignment_ruleset_simulate", args=[rule_set.pk])
    assert client.get(url).status_code == 200
    rules = list(rule_set.rules.order_by("position"))
    data = {f"order_{r.pk}": str(i) for i, r in enumerate(rules, start=1)}
    data.update({f"active_{r.pk}": "on" for r in rules})
    data["sample"] = SimpleUploadedFile(
        "sample.csv", "name,region,campaign\n王伟,北京,618\n李娜,上海,\n".encode()
    )
    before = _state()
    response = client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert outsider.display_name in page and "Distribution" in page
    assert "Rule 1 &#x27;West&#x27; matched (region=北京)" in page
    assert _state() == before


def test_numbers_a_sample_cannot_hold_are_read_as_blank_not_a_crash(client, manager, rule_set):
    client.force_login(manager)
    url = reverse("admin:assignment_ruleset_simulate", args=[rule_set.pk])
    rules = list(rule_set.rules.order_by("position"))
    data = {f"order_{r.pk}": str(i) for i, r in enumerate(rules, start=1)}
    data.update({f"active_{r.pk}": "on" for r in rules})
    data["sample"] = SimpleUploadedFile(
        "sample.csv", b"name,region,score,company_size,budget\na,x,inf,1e999,NaN\nb,y,NaN,-inf,Infinity\n"
    )

    response = client.post(url, data)

    assert response.status_code == 200
    assert "Distribution" in response.content.decode()


def _simulate_upload(client, manager, rule_set, name, content):
    client.force_login(manager)
    url = reverse("admin:assignment_ruleset_simulate", args=[rule_set.pk])
    rules = list(rule_set.rules.order_by("position"))
    data = {f"order_{r.pk}": str(i) for i, r in enumerate(rules, start=1)}
    data.update({f"active_{r.pk}": "on" for r in rules})
    data["sample"] = SimpleUploadedFile(name, content)
    return client.post(url, data)


def test_a_sample_reads_like_an_import_file_gb18030_chinese_headers_and_a_title(
    client, manager, rule_set, outsider
):
    content = "客户名单,,\n姓名,手机,地区\n王伟,13800138000,北京市\n李娜,13900139000,上海\n".encode("gb18030")

    response = _simulate_upload(client, manager, rule_set, "fair.csv", content)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Rule 1 &#x27;West&#x27; matched (region=北京)" in page  # 北京市 as intake stores it
    assert outsider.display_name in page


def test_a_sample_that_is_not_a_table_is_a_form_error(client, manager, rule_set):
    response = _simulate_upload(
        client, manager, rule_set, "photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20
    )

    assert response.status_code == 200
    assert "does not look like a text (CSV) file" in response.content.decode()


def test_a_sample_of_scores_alone_is_read(client, manager, rule_set):
    response = _simulate_upload(client, manager, rule_set, "scores.csv", b"score,tier\n90,high\n20,low\n")

    assert response.status_code == 200
    assert "Distribution" in response.content.decode()
