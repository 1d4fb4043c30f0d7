"""A rep leaves: open and silent leads are handed over as the manager chose, atomically; the
rep owns nothing open, cannot log in or be routed to, and check_invariants stays clean."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from assignment.services import ActionRefused, lead_route, rep_depart
from crm.models import Rep
from leads.models import Lead, LeadEvent
from leads.selectors import invariants_violations
from leads.services import TransitionRequest, leads_transition_bulk
from tests.factories import AssignmentRuleFactory, LeadFactory, RuleSetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Pages in English, whatever the project's default language, so assertions read plainly."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def _owned(rep, n, status="assigned"):
    leads = [LeadFactory(status="new") for _ in range(n)]
    leads_transition_bulk(
        [
            TransitionRequest(lead=lead, status=status, owner=rep, kind="route", reason="test")
            for lead in leads
        ]
    )
    return leads


def test_departure_hands_over_open_to_a_rep_and_silent_to_the_pool(manager, rep_a, rep_b):
    _owned(rep_a, 3)
    _owned(rep_a, 2, status="silent")
    moved = rep_depart(rep=rep_a, actor=manager, open_to=rep_b, silent_to="pool", reason="left the company")
    assert moved == {"open": 3, "silent": 2}
    rep_a.refresh_from_db()
    assert rep_a.status == "departed" and rep_a.departed_at is not None and not rep_a.user.is_active
    assert not Lead.objects.filter(owner=rep_a).exists()
    assert Lead.objects.filter(owner=rep_b, status="assigned").count() == 3
    assert Lead.objects.filter(previous_owner=rep_a, status="pooled", pool_reason="departure").count() == 2
    assert LeadEvent.objects.filter(kind="handover", from_owner=rep_a, actor=manager).count() == 5
    assert list(invariants_violations()) == []


def test_a_departed_rep_is_never_routed_to(manager, rep_a, rep_b):
    rs = RuleSetFactory()
    AssignmentRuleFactory(rule_set=rs, position=1, strategy="round_robin", target_team=rep_a.team)
    AssignmentRuleFactory(rule_set=rs, position=2, strategy="pool", is_default=True)
    rep_depart(rep=rep_a, actor=manager)
    owners = {lead_route(lead=LeadFactory(status="new")).owner for _ in range(4)}
    assert owners == {rep_b}


def test_departure_is_all_or_nothing_when_the_receiver_lacks_room(manager, rep_a, rep_b):
    rep_b.max_open_leads = 1
    rep_b.save()
    _owned(rep_a, 2)
    with pytest.raises(ActionRefused):
        rep_depart(rep=rep_a, actor=manager, open_to=rep_b)
    rep_a.refresh_from_db()
    assert rep_a.status == "active" and Lead.objects.filter(owner=rep_a).count() == 2


def test_a_rep_cannot_mark_a_colleague_departed(rep_a, rep_b):
    with pytest.raises(PermissionDenied):
        rep_depart(rep=rep_b, actor=rep_a.user)
    assert Rep.objects.get(pk=rep_b.pk).status == "active"


def test_the_rep_admin_departure_action_spreads_open_leads_over_a_team(
    client, manager, rep_a, outsider, other_team
):
    _owned(rep_a, 4)
    client.force_login(manager)
    url = reverse("admin:crm_rep_changelist")
    post = {"action": "depart", "index": "0", ACTION_CHECKBOX_NAME: [rep_a.pk]}
    assert "4" in client.post(url, post).content.decode()
    response = client.post(
        url,
        {
            **post,
            "confirm": "yes",
            "open_to": "team",
            "silent_to": "pool",
            "to_team": other_team.pk,
            "reason": "left",
        },
    )
    assert response.status_code == 302
    assert Lead.objects.filter(owner=outsider, status="assigned").count() == 4
    assert Rep.objects.get(pk=rep_a.pk).status == "departed"
    assert list(invariants_violations()) == []
