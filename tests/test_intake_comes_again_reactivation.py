"""A contact who comes in again through intake wakes a silent lead like any customer activity."""

import pytest
from django.utils import timezone

from leads.models import Lead
from leads.services import lead_transition
from lifecycle.intake import lead_intake
from tests.factories import LeadFactory, RepFactory


@pytest.mark.django_db
def test_silent_lead_of_a_senior_rep_returns_to_them_when_the_customer_comes_in_again(source):
    senior = RepFactory(level="senior")
    lead = LeadFactory(status="new", phone="+8613800138000", phone_normalized="+8613800138000", source=source)
    lead_transition(lead=lead, status="assigned", owner=senior, kind="route", reason="setup")
    lead_transition(lead=lead, status="silent", owner=senior, kind="silenced", reason="validity ended")

    result = lead_intake(data={"name": "回头客", "phone": "138 0013 8000"}, source=source, now=timezone.now())

    assert result.merged and result.lead.pk == lead.pk
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == ("assigned", senior)
    assert Lead.objects.count() == 1


@pytest.mark.django_db
def test_a_merge_into_a_lead_held_by_a_rep_never_changes_its_owner(source, rep_a):
    lead = LeadFactory(status="new", email="a@example.cn", email_normalized="a@example.cn", source=source)
    lead_transition(lead=lead, status="assigned", owner=rep_a, kind="route", reason="setup")

    result = lead_intake(
        data={"email": " A@Example.cn ", "company": "新公司"}, source=source, now=timezone.now()
    )

    lead.refresh_from_db()
    assert result.merged and lead.owner == rep_a and lead.status == "assigned"
