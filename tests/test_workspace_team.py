"""The team view (/team/): a team lead sees the team's leads and load per rep and reassigns;
reps and other teams' leads stay out of reach."""

import pytest
from django.urls import reverse

from leads.models import Lead, LeadEvent
from tests.factories import lead_assigned_to

pytestmark = pytest.mark.django_db


def test_a_team_lead_sees_the_teams_leads_and_load(client, team_lead, rep_a, rep_b, outsider):
    lead_assigned_to(rep_a, name="甲的线索")
    lead_assigned_to(rep_b, name="乙的线索")
    lead_assigned_to(outsider, name="外组线索")
    client.force_login(team_lead)
    response = client.get(reverse("workspace:team"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "甲的线索" in body and "乙的线索" in body
    assert "外组线索" not in body
    loads = {rep.user.username: rep.open_count for rep in response.context["reps"]}
    assert loads["rep_a"] == 1 and loads["rep_b"] == 1


def test_a_rep_cannot_open_the_team_view(client, rep_a):
    client.force_login(rep_a.user)
    assert client.get(reverse("workspace:team")).status_code == 403


def test_reassigning_moves_the_leads_with_an_audit_trail(client, team_lead, rep_a, rep_b):
    lead = lead_assigned_to(rep_a)
    client.force_login(team_lead)
    response = client.post(
        reverse("workspace:team_transfer"), {"leads": [lead.pk], "to_rep": rep_b.pk, "reason": "甲休假"}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == rep_b
    assert LeadEvent.objects.filter(lead=lead, to_owner=rep_b, actor=team_lead).exists()


def test_a_team_lead_cannot_reassign_another_teams_lead(client, team_lead, rep_b, outsider):
    lead = lead_assigned_to(outsider)
    client.force_login(team_lead)
    client.post(reverse("workspace:team_transfer"), {"leads": [lead.pk], "to_rep": rep_b.pk, "reason": "x"})
    lead.refresh_from_db()
    assert lead.owner == outsider


def test_a_rep_cannot_reassign(client, rep_a, rep_b):
    lead = lead_assigned_to(rep_a)
    client.force_login(rep_b.user)
    response = client.post(
        reverse("workspace:team_transfer"), {"leads": [lead.pk], "to_rep": rep_b.pk, "reason": "mine now"}
    )
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.owner == rep_a


def test_a_rep_releases_their_own_lead_to_the_pool(client, rep_a):
    lead = lead_assigned_to(rep_a)
    client.force_login(rep_a.user)
    response = client.post(reverse("workspace:lead_release", args=[lead.pk]), {"reason": "客户已找到别家"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == Lead.Status.POOLED
    assert lead.previous_owner == rep_a


def test_a_rep_cannot_release_a_teammates_lead(client, rep_a, rep_b):
    lead = lead_assigned_to(rep_b)
    client.force_login(rep_a.user)
    assert client.post(reverse("workspace:lead_release", args=[lead.pk]), {"reason": "x"}).status_code == 404
    lead.refresh_from_db()
    assert lead.owner == rep_b
