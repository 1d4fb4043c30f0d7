"""Who may open the dashboard, and what a team lead sees: only their own team."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests.factories import LeadFactory, UserFactory

PAGES = ["dashboard:index", "dashboard:json"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def two_teams(rep_a, outsider, source):
    now = timezone.now()
    LeadFactory(
        status="assigned", owner=rep_a, team=rep_a.team, source=source, created_at=now, company="东方甲"
    )
    for _ in range(3):
        LeadFactory(status="assigned", owner=outsider, team=outsider.team, source=source, created_at=now)


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_is_sent_to_login(client, page, db):
    response = client.get(reverse(page))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("page", PAGES)
def test_a_rep_gets_403(client, rep_a, page):
    client.force_login(rep_a.user)
    assert client.get(reverse(page)).status_code == 403


def test_staff_without_the_view_permission_gets_403(client, db):
    client.force_login(UserFactory(username="helpdesk", is_staff=True))
    assert client.get(reverse("dashboard:index")).status_code == 403


def test_csv_is_forbidden_to_reps_too(client, rep_a):
    client.force_login(rep_a.user)
    assert client.get(reverse("dashboard:csv", args=["speed_rep"])).status_code == 403


def test_manager_sees_every_team(client, manager, two_teams):
    client.force_login(manager)
    body = client.get(reverse("dashboard:json")).json()
    assert body["visible_teams"] == "all"
    assert body["headline"]["leads"] == 4


def test_superuser_sees_every_team(client, two_teams):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    assert client.get(reverse("dashboard:json")).json()["headline"]["leads"] == 4


def test_team_lead_sees_only_their_team(client, team_lead, team, two_teams):
    client.force_login(team_lead)
    body = client.get(reverse("dashboard:json")).json()
    assert body["visible_teams"] == [team.pk]
    assert body["headline"]["leads"] == 1
    reps = {r["rep"] for r in body["figures"]["distribution"]["rows"]}
    assert "outsider" not in reps


def test_team_lead_cannot_pick_another_team(client, team_lead, other_team, two_teams):
    client.force_login(team_lead)
    body = client.get(reverse("dashboard:json"), {"team": other_team.pk}).json()
    assert body["filter_errors"]  # not among the choices: the defaults apply instead
    assert body["headline"]["leads"] == 1


def test_manager_page_renders_every_panel_with_definitions(client, manager, two_teams):
    client.force_login(manager)
    response = client.get(reverse("dashboard:index"))
    assert response.status_code == 200
    html = response.content.decode()
    for figure in (
        "speed_rep",
        "conversion_source",
        "stage_funnel",
        "distribution",
        "rule_hits",
        "score_deciles",
    ):
        assert f'data-figure="{figure}"' in html
        assert reverse("dashboard:csv", args=[figure]) in html
    assert "<svg" in html and '<details class="def">' in html
