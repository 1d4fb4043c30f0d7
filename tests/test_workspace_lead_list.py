"""My leads (/leads/): only the rep's own, filtered, sorted, paginated, with deadlines in words,
and a constant number of queries however many leads there are."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import Lead
from leads.services import lead_transition
from tests.factories import lead_assigned_to

pytestmark = pytest.mark.django_db


def login(client, rep):
    client.force_login(rep.user)
    return client


def test_login_is_required(client):
    response = client.get(reverse("workspace:lead_list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_rep_sees_own_leads_and_not_a_teammates(client, rep_a, rep_b):
    mine = lead_assigned_to(rep_a, name="我的线索")
    theirs = lead_assigned_to(rep_b, name="别人的线索")
    response = login(client, rep_a).get(reverse("workspace:lead_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert mine.name in body
    assert theirs.name not in body


def test_each_row_says_the_next_deadline_in_words_and_overdue_in_red(client, rep_a):
    now = timezone.now()
    lead = lead_assigned_to(rep_a, name="超时线索")
    Lead.objects.filter(pk=lead.pk).update(
        first_contact_due=now - timedelta(hours=3), first_contacted_at=None
    )
    soon = lead_assigned_to(rep_a, name="快到期线索")
    Lead.objects.filter(pk=soon.pk).update(
        first_contact_due=now + timedelta(hours=5),
        first_contacted_at=None,
        valid_until=now + timedelta(days=5),
    )
    response = login(client, rep_a).get(reverse("workspace:lead_list"), HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert "first contact overdue by 3" in body
    assert 'class="overdue"' in body
    assert "first contact due in 4" in body or "first contact due in 5" in body


def test_a_silent_lead_says_when_it_returns_to_the_pool(client, rep_a):
    lead = lead_assigned_to(rep_a)
    lead_transition(
        lead=lead, status=Lead.Status.SILENT, owner=rep_a, kind="silence", reason="validity ended"
    )
    Lead.objects.filter(pk=lead.pk).update(silent_until=timezone.now() + timedelta(days=1, hours=1))
    client.cookies["django_language"] = "en"
    body = login(client, rep_a).get(reverse("workspace:lead_list")).content.decode()
    assert "silent — returns to the pool in 1" in body


def test_overdue_filter_keeps_only_overdue_leads(client, rep_a):
    now = timezone.now()
    late = lead_assigned_to(rep_a, name="迟到")
    fine = lead_assigned_to(rep_a, name="正常")
    Lead.objects.filter(pk=late.pk).update(progress_due=now - timedelta(minutes=5))
    Lead.objects.filter(pk=fine.pk).update(
        progress_due=now + timedelta(days=3),
        first_contact_due=now + timedelta(days=3),
        valid_until=now + timedelta(days=3),
        claim_due=None,
    )
    body = login(client, rep_a).get(reverse("workspace:lead_list"), {"due": "overdue"}).content.decode()
    assert "迟到" in body
    assert "正常" not in body


def test_sorting_by_score_orders_the_rows(client, rep_a):
    lead_assigned_to(rep_a, name="低分", score=10)
    lead_assigned_to(rep_a, name="高分", score=90)
    body = login(client, rep_a).get(reverse("workspace:lead_list"), {"order": "-score"}).content.decode()
    assert body.index("高分") < body.index("低分")


def test_the_list_is_paginated(client, rep_a):
    for _ in range(27):
        lead_assigned_to(rep_a)
    response = login(client, rep_a).get(reverse("workspace:lead_list"), {"page": 2})
    assert response.status_code == 200
    assert len(response.context["rows"]) == 2


def test_the_query_count_does_not_grow_with_the_number_of_leads(client, rep_a, django_assert_max_num_queries):
    login(client, rep_a)
    for _ in range(3):
        lead_assigned_to(rep_a)
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("workspace:lead_list"))
    for _ in range(30):
        lead_assigned_to(rep_a)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("workspace:lead_list"), {"order": "-score", "due": "soon"})


def test_an_account_without_a_rep_gets_a_friendly_page(client, manager):
    client.force_login(manager)
    response = client.get(reverse("workspace:lead_list"))
    assert response.status_code == 200
    assert "workspace/no_rep.html" in [t.name for t in response.templates]


def test_a_team_lead_without_own_leads_still_sees_their_list(client, team_lead):
    client.force_login(team_lead)
    assert client.get(reverse("workspace:lead_list")).status_code == 200
