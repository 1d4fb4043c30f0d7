"""The `rules` predicates on our Django 5.2 (its own test matrix stops at 5.1), seen through the
admin: managers keep their admin, reps never get one, and team leads get nothing unscoped."""

import django
import pytest
import rules
from django.urls import reverse

from tests.factories import lead_assigned_to

pytestmark = pytest.mark.django_db


def test_rules_runs_on_django_5_2_with_the_object_backend_first(settings):
    assert django.VERSION[:2] == (5, 2)
    assert settings.AUTHENTICATION_BACKENDS[0] == "rules.permissions.ObjectPermissionBackend"
    for name in (
        "leads.view_lead",
        "leads.change_lead",
        "leads.claim_lead",
        "leads.release_lead",
        "leads.recall_lead",
        "leads.transfer_lead",
        "crm.depart_rep",
        "leads",
        "crm",
        "assignment",
        "lifecycle",
    ):
        assert rules.perm_exists(name), name


def test_a_manager_keeps_the_lead_admin(client, manager, rep_a):
    lead = lead_assigned_to(rep_a)
    client.force_login(manager)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert reverse("admin:leads_lead_changelist") in index.content.decode()
    assert client.get(reverse("admin:leads_lead_changelist")).status_code == 200
    assert client.get(reverse("admin:leads_lead_change", args=[lead.pk])).status_code == 200


def test_a_rep_is_sent_to_the_admin_login(client, rep_a):
    client.force_login(rep_a.user)
    response = client.get(reverse("admin:leads_lead_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_team_lead_gets_a_lead_changelist_scoped_to_their_team(client, team_lead, rep_a, outsider):
    ours = lead_assigned_to(rep_a, name="本组线索")
    theirs = lead_assigned_to(outsider, name="外组线索")
    client.force_login(team_lead)
    response = client.get(reverse("admin:leads_lead_changelist"))
    assert response.status_code == 200
    shown = {lead.pk for lead in response.context["cl"].result_list}
    assert ours.pk in shown
    assert theirs.pk not in shown
    assert client.get(reverse("admin:leads_lead_change", args=[theirs.pk])).status_code != 200
