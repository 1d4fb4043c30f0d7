"""Hostile text in lead fields is stored as text and always escaped on display; SQL in filter and
ordering parameters is harmless."""

import pytest
from django.urls import reverse

from leads.models import Lead
from leads.services import lead_transition
from tests.factories import LeadFactory

SCRIPT = '<script>alert("x")</script>'
IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture
def hostile_lead(rep_a):
    lead = LeadFactory(status="pooled", name=SCRIPT, company=IMG, region="上海")
    lead_transition(
        lead=lead,
        status="assigned",
        owner=rep_a,
        kind="route",
        reason=f"because {SCRIPT}",
        data={"explanation": {"note": SCRIPT}},
    )
    return lead


def assert_escaped(html: str) -> None:
    assert SCRIPT not in html and IMG not in html
    assert "&lt;script&gt;" in html or "&lt;img" in html


@pytest.mark.django_db
def test_lead_fields_are_escaped_on_the_rep_pages(client, rep_a, hostile_lead):
    client.force_login(rep_a.user)
    assert_escaped(client.get(reverse("workspace:lead_list")).content.decode())
    assert_escaped(client.get(reverse("workspace:lead_detail", args=[hostile_lead.pk])).content.decode())


@pytest.mark.django_db
def test_lead_fields_are_escaped_in_the_pool(client, rep_b):
    LeadFactory(status="pooled", name=SCRIPT, company=IMG)
    client.force_login(rep_b.user)
    html = client.get(reverse("workspace:pool")).content.decode()
    assert SCRIPT not in html and IMG not in html


@pytest.mark.django_db
def test_lead_fields_are_escaped_in_the_admin(admin_client, hostile_lead):
    assert_escaped(admin_client.get("/admin/leads/lead/").content.decode())
    assert_escaped(admin_client.get(f"/admin/leads/lead/{hostile_lead.pk}/change/").content.decode())
    events = admin_client.get("/admin/leads/leadevent/").content.decode()
    assert SCRIPT not in events


@pytest.mark.django_db
def test_lead_fields_are_escaped_on_the_dashboard(admin_client, hostile_lead):
    html = admin_client.get(reverse("dashboard:index")).content.decode()
    assert SCRIPT not in html and IMG not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"ordering": "id; DROP TABLE leads_lead; --"},
        {"ordering": "-score,(SELECT 1)"},
        {"o": "1 OR 1=1"},
        {"region": "' OR '1'='1"},
        {"status": "assigned' --"},
        {"q": "%' UNION SELECT password FROM auth_user --"},
        {"page": "1; DELETE FROM leads_lead"},
    ],
)
def test_sql_in_filters_and_ordering_is_harmless(client, rep_a, hostile_lead, params):
    client.force_login(rep_a.user)
    for name in ("workspace:lead_list", "workspace:pool"):
        response = client.get(reverse(name), params)
        assert response.status_code in (200, 400, 404)
    assert Lead.objects.filter(pk=hostile_lead.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params", [{"o": "-id; DROP TABLE leads_lead"}, {"q": "' OR 1=1 --"}, {"status__exact": "x' OR 'a'='a"}]
)
def test_sql_in_admin_changelist_parameters_is_harmless(admin_client, hostile_lead, params):
    assert admin_client.get("/admin/leads/lead/", params).status_code in (200, 302, 400)
    assert Lead.objects.filter(pk=hostile_lead.pk).exists()
