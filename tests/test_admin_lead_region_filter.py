"""The lead changelist's region filter: a manager sees every region (read by an index skip scan
on PostgreSQL, not a DISTINCT over the whole table), a team lead only their teams' regions."""

import pytest
from django.test import Client
from django.urls import reverse

from leads.models import Lead
from leads.selectors import lead_regions
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def _region_choices(response) -> list[str]:
    spec = next(s for s in response.context["cl"].filter_specs if getattr(s, "field_path", "") == "region")
    return list(spec.lookup_choices)


def test_lead_regions_lists_every_region_once_in_order():
    for region in ["浙江", "上海", "浙江", "北京", "", "上海"]:
        LeadFactory(region=region)
    expected = list(Lead.objects.order_by("region").values_list("region", flat=True).distinct())
    assert lead_regions() == expected == ["", "上海", "北京", "浙江"]


def test_a_manager_filters_the_changelist_by_any_region(manager):
    LeadFactory(region="上海", name="沪")
    LeadFactory(region="北京", name="京")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(manager)
    response = client.get(reverse("admin:leads_lead_changelist"))
    assert response.status_code == 200
    assert _region_choices(response) == ["上海", "北京"]
    filtered = client.get(reverse("admin:leads_lead_changelist"), {"region": "北京"})
    assert [lead.name for lead in filtered.context["cl"].result_list] == ["京"]


def test_a_team_lead_sees_only_their_teams_regions(team_lead, team, other_team):
    LeadFactory(region="上海", team=team)
    LeadFactory(region="北京", team=other_team)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(team_lead)
    response = client.get(reverse("admin:leads_lead_changelist"))
    assert response.status_code == 200
    assert _region_choices(response) == ["上海"]
