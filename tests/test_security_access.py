"""Every view with the wrong user refuses (403/404/redirect to login) and changes nothing; every
POST needs CSRF; the admin is for staff only."""

import pytest
from django.test import Client
from django.urls import reverse

from leads.models import Lead, LeadEvent
from leads.services import lead_transition
from tests.factories import LeadFactory

WORKSPACE_GETS = [
    "workspace:lead_list",
    "workspace:pool",
    "workspace:notifications",
    "workspace:lead_add",
    "workspace:team",
]
LEAD_POSTS = ["workspace:lead_activity", "workspace:lead_stage", "workspace:lead_release"]


@pytest.fixture
def owned_lead(rep_a):
    lead = LeadFactory(status="new")
    lead_transition(lead=lead, status="assigned", owner=rep_a, kind="route", reason="setup")
    return lead


@pytest.mark.django_db
@pytest.mark.parametrize("name", [*WORKSPACE_GETS, "dashboard:index"])
def test_anonymous_users_are_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_anonymous_cannot_open_a_lead_or_post_to_it(client, owned_lead):
    assert client.get(reverse("workspace:lead_detail", args=[owned_lead.pk])).status_code == 302
    for name in LEAD_POSTS:
        assert (
            client.post(reverse(name, args=[owned_lead.pk]), {"kind": "call", "reason": "x"}).status_code
            == 302
        )
    assert client.post(reverse("workspace:pool_claim", args=[owned_lead.pk])).status_code == 302
    assert LeadEvent.objects.filter(lead=owned_lead).count() == 1


@pytest.mark.django_db
def test_another_reps_lead_is_a_404_for_every_view_and_nothing_changes(client, owned_lead, rep_b):
    client.force_login(rep_b.user)
    assert client.get(reverse("workspace:lead_detail", args=[owned_lead.pk])).status_code == 404
    for name in LEAD_POSTS:
        response = client.post(
            reverse(name, args=[owned_lead.pk]), {"kind": "call", "note": "x", "reason": "x"}
        )
        assert response.status_code in (403, 404), name
    assert client.post(reverse("workspace:pool_claim", args=[owned_lead.pk])).status_code in (403, 404)
    owned_lead.refresh_from_db()
    assert owned_lead.owner.user.username == "rep_a"
    assert LeadEvent.objects.filter(lead=owned_lead).count() == 1
    assert not owned_lead.activities.exists()


@pytest.mark.django_db
def test_a_rep_cannot_use_the_admin_or_the_dashboard(client, rep_a):
    client.force_login(rep_a.user)
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/leads/lead/").status_code == 302
    assert client.get(reverse("dashboard:index")).status_code == 403
    assert client.get(reverse("dashboard:json")).status_code == 403


@pytest.mark.django_db
def test_every_workspace_post_is_refused_without_a_csrf_token(rep_a, owned_lead):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep_a.user)
    pooled = LeadFactory(status="pooled")
    posts = [reverse(name, args=[owned_lead.pk]) for name in LEAD_POSTS]
    posts += [
        reverse("workspace:pool_claim", args=[pooled.pk]),
        reverse("workspace:notifications_read"),
        reverse("workspace:lead_add"),
        reverse("workspace:team_transfer"),
    ]
    for url in posts:
        assert (
            client.post(
                url, {"kind": "call", "note": "x", "reason": "x", "name": "x", "phone": "13800138000"}
            ).status_code
            == 403
        ), url
    pooled.refresh_from_db()
    assert pooled.status == "pooled" and not owned_lead.activities.exists()
    assert Lead.objects.count() == 2


@pytest.mark.django_db
def test_claiming_an_old_owned_lead_does_not_reveal_its_owner(client, rep_a, outsider):
    from datetime import timedelta

    from django.utils import timezone

    lead = LeadFactory(status="pooled")
    lead_transition(
        lead=lead,
        status="assigned",
        owner=rep_a,
        kind="claim",
        reason="claimed long ago",
        now=timezone.now() - timedelta(days=3),
    )
    Lead.objects.filter(pk=lead.pk).update(pooled_at=timezone.now() - timedelta(days=4))
    client.force_login(outsider.user)
    response = client.post(reverse("workspace:pool_claim", args=[lead.pk]))
    assert response.status_code == 404
