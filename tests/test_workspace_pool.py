"""The pool page (/pool/): what a rep may claim, their allowance and penalty, and one-click
claiming where the loser of a race gets a friendly message."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(client):
    client.cookies["django_language"] = "en"
    return client


def pooled(**fields):
    return LeadFactory(status=Lead.Status.POOLED, pooled_at=timezone.now() - timedelta(hours=2), **fields)


def test_the_pool_lists_the_public_and_own_team_pools_only(en, rep_a, team, other_team):
    public = pooled(name="公海线索")
    ours = pooled(name="本组线索", pool_team=team)
    theirs = pooled(name="别组线索", pool_team=other_team)
    en.force_login(rep_a.user)
    response = en.get(reverse("workspace:pool"))
    assert response.status_code == 200
    body = response.content.decode()
    assert public.name in body and ours.name in body
    assert theirs.name not in body


def test_the_pool_shows_the_allowance_and_a_penalty(en, rep_a):
    rep_a.penalty_until = timezone.now() + timedelta(hours=20)
    rep_a.penalty_reason = "3 claimed leads lapsed without a follow-up"
    rep_a.penalty_blocks_claims = True
    rep_a.save()
    en.force_login(rep_a.user)
    response = en.get(reverse("workspace:pool"))
    body = response.content.decode()
    assert 'data-testid="allowance"' in body
    assert "3 claimed leads lapsed without a follow-up" in body
    assert "You cannot claim leads until then" in body


def test_claiming_makes_the_lead_mine_and_opens_it(en, rep_a):
    lead = pooled()
    en.force_login(rep_a.user)
    response = en.post(reverse("workspace:pool_claim", args=[lead.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("workspace:lead_detail", args=[lead.pk])
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == (Lead.Status.ASSIGNED, rep_a)


def test_the_second_claimer_gets_a_friendly_message_and_nothing_changes(rep_a, rep_b):
    lead = pooled()
    first, second = Client(), Client()
    first.force_login(rep_a.user)
    first.post(reverse("workspace:pool_claim", args=[lead.pk]))
    second.force_login(rep_b.user)
    response = second.post(reverse("workspace:pool_claim", args=[lead.pk]), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("workspace:pool")
    shown = [str(m) for m in response.context["messages"]]
    assert shown and "Wei Li" in shown[0]
    lead.refresh_from_db()
    assert lead.owner == rep_a


def test_claiming_from_another_teams_pool_is_a_404_and_changes_nothing(en, rep_a, other_team):
    lead = pooled(pool_team=other_team)
    en.force_login(rep_a.user)
    assert en.post(reverse("workspace:pool_claim", args=[lead.pk])).status_code == 404
    lead.refresh_from_db()
    assert lead.status == Lead.Status.POOLED and lead.owner is None


def test_a_claim_is_a_post(en, rep_a):
    lead = pooled()
    en.force_login(rep_a.user)
    assert en.get(reverse("workspace:pool_claim", args=[lead.pk])).status_code == 405


def test_the_pool_page_runs_a_constant_number_of_queries(en, rep_a, django_assert_max_num_queries):
    en.force_login(rep_a.user)
    for _ in range(3):
        pooled()
    with django_assert_max_num_queries(20) as few:
        en.get(reverse("workspace:pool"))
    for _ in range(30):
        pooled()
    with django_assert_max_num_queries(len(few.captured_queries)):
        en.get(reverse("workspace:pool"), {"order": "-score"})


def test_a_filtered_sorted_pool_is_paged_in_order_with_only_matching_leads(en, rep_a, other_team):
    high = [pooled(name=f"high {score}", tier="high", score=score) for score in range(80, 110)]
    pooled(name="low one", tier="low", score=200)
    pooled(name="hidden high", tier="high", score=300, pool_team=other_team)
    en.force_login(rep_a.user)
    first = en.get(reverse("workspace:pool"), {"tier": "high", "order": "-score"})
    second = en.get(reverse("workspace:pool"), {"tier": "high", "order": "-score", "page": 2})
    shown = [lead.name for lead, _reason in first.context["rows"]] + [
        lead.name for lead, _reason in second.context["rows"]
    ]
    assert shown == [lead.name for lead in sorted(high, key=lambda lead: -lead.score)]
    assert first.context["page"].paginator.count == 30
    assert "low one" not in shown and "hidden high" not in shown
