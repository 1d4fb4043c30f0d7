"""Add lead (a business card met at an event): the intake pipeline with the rep as actor, and
duplicates reported without leaking the other lead's data."""

import pytest
from django.urls import reverse

from leads.models import Lead, LeadEvent
from tests.factories import SourceFactory, lead_assigned_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def expo(db):
    return SourceFactory(code="expo", name="展会名片", channel="event", heat="cold")


@pytest.fixture
def en(client):
    client.cookies["django_language"] = "en"
    return client


def test_the_form_offers_only_in_person_sources(en, rep_a, expo, source):
    en.force_login(rep_a.user)
    body = en.get(reverse("workspace:lead_add")).content.decode()
    assert "展会名片" in body
    assert "Website form" not in body


def test_a_new_card_becomes_a_lead_through_intake_with_the_rep_as_actor(en, rep_a, expo):
    en.force_login(rep_a.user)
    response = en.post(
        reverse("workspace:lead_add"),
        {"source": expo.pk, "name": "赵总", "company": "恒通科技", "phone": "13900001111", "region": "上海"},
        follow=True,
    )
    assert response.status_code == 200
    lead = Lead.objects.get(company="恒通科技")
    assert lead.source == expo
    assert lead.status != Lead.Status.NEW  # routed, pooled or nurtured: never orphaned
    assert LeadEvent.objects.filter(lead=lead, actor=rep_a.user).exists()
    assert "Lead added" in response.content.decode()


def test_a_card_without_phone_or_email_is_refused(en, rep_a, expo):
    en.force_login(rep_a.user)
    response = en.post(reverse("workspace:lead_add"), {"source": expo.pk, "name": "无名"})
    assert response.status_code == 200
    assert "Give a phone number or an e-mail address" in response.content.decode()
    assert not Lead.objects.exists()


def test_a_duplicate_names_the_owner_but_leaks_none_of_the_leads_data(en, rep_a, rep_b, expo):
    theirs = lead_assigned_to(
        rep_b, phone="+8613900002222", phone_normalized="+8613900002222", company="秘密公司"
    )
    en.force_login(rep_a.user)
    response = en.post(
        reverse("workspace:lead_add"),
        {"source": expo.pk, "name": "重复", "phone": "13900002222"},
        follow=True,
    )
    body = response.content.decode()
    assert Lead.objects.count() == 1
    assert "already belongs to a lead owned by Min Zhang" in body
    assert "秘密公司" not in body
    assert f"/leads/{theirs.pk}/" not in body


def test_a_duplicate_of_the_reps_own_lead_opens_it(en, rep_a, expo):
    mine = lead_assigned_to(rep_a, phone="+8613900003333", phone_normalized="+8613900003333")
    en.force_login(rep_a.user)
    response = en.post(
        reverse("workspace:lead_add"), {"source": expo.pk, "name": "又见面", "phone": "13900003333"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace:lead_detail", args=[mine.pk])
