"""The policy admin: a plain-language preview managers read at a glance, and an edit that moves
the clocks of the leads it governs set-wise (no restart of anybody's holding)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from lifecycle.models import Policy, Stage
from lifecycle.services import lead_stage_move, stage_saved
from tests.factories import LeadFactory, fund_lead_type, lead_hold

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def fund():
    return fund_lead_type()


def test_the_change_page_shows_the_preview(client, manager, fund):
    client.force_login(manager)
    policy = Policy.objects.get(lead_type=fund)
    page = client.get(reverse("admin:lifecycle_policy_change", args=[policy.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "for a 基金商品留资用户 lead held by a junior rep: first contact due in 24 h, valid 5 days" in text


def test_editing_validity_moves_held_leads_from_their_assignment(client, manager, fund, rep_a):
    start = timezone.now() - timedelta(hours=3)
    lead = lead_hold(lead=LeadFactory(lead_type=fund), rep=rep_a, now=start)
    other = lead_hold(lead=LeadFactory(), rep=rep_a, now=start)
    policy = Policy.objects.get(lead_type=fund)
    client.force_login(manager)
    url = reverse("admin:lifecycle_policy_change", args=[policy.pk])
    form = {
        "name": policy.name,
        "active": "on",
        "lead_type": fund.pk,
        "rep_level": "",
        "heat": "",
        "first_contact_sla": "24:00:00",
        "progress_window": "",
        "on_breach": "pool",
        "claim_follow_up": "",
        "validity": "10 00:00:00",
        "silence_window": "2 00:00:00",
        "warning_lead_time": "",
        "cascade_window": "",
        "reactivation_window": "",
        "reactivation_kinds": "[]",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    lead.refresh_from_db()
    other.refresh_from_db()
    assert lead.valid_until == start + 10 * DAY
    assert lead.first_contact_due == start + timedelta(hours=24)
    assert other.valid_until is None


def test_editing_a_stage_extension_moves_leads_already_past_it(fund, rep_a):
    start = timezone.now() - timedelta(hours=3)
    lead = lead_hold(lead=LeadFactory(lead_type=fund), rep=rep_a, now=start)
    pending = Stage.objects.get(lead_type=fund, name="待支付")
    lead_stage_move(lead=lead, stage=pending, actor=rep_a.user, now=start + timedelta(hours=1))
    assert lead.valid_until == start + 6 * DAY
    pending.validity_extension = 2 * DAY
    pending.save()
    stage_saved(stage=pending)
    lead.refresh_from_db()
    assert lead.valid_until == start + 7 * DAY


def test_a_large_policy_edit_runs_as_a_background_job_and_notifies_the_editor(
    fund, rep_a, manager, monkeypatch, django_capture_on_commit_callbacks
):
    from django_q.conf import Conf

    from lifecycle.services import policy_saved

    monkeypatch.setattr(Conf, "SYNC", True)  # the job runs in-process, as a worker would run it
    start = timezone.now() - timedelta(hours=3)
    leads = [lead_hold(lead=LeadFactory(lead_type=fund), rep=rep_a, now=start) for _ in range(3)]
    policy = Policy.objects.get(lead_type=fund)
    policy.validity = 10 * DAY
    policy.save()
    with django_capture_on_commit_callbacks(execute=True):
        outcome = policy_saved(policy=policy, actor=manager, inline_max=2)
    assert outcome.queued == 3 and outcome.changed == 0
    for lead in leads:
        lead.refresh_from_db()
        assert lead.valid_until == start + 10 * DAY
    assert manager.notifications.filter(kind="clocks_recomputed").exists()


def test_a_small_policy_edit_recomputes_at_once(fund, rep_a, manager):
    from lifecycle.services import policy_saved

    start = timezone.now() - timedelta(hours=3)
    lead = lead_hold(lead=LeadFactory(lead_type=fund), rep=rep_a, now=start)
    policy = Policy.objects.get(lead_type=fund)
    policy.validity = 9 * DAY
    policy.save()
    outcome = policy_saved(policy=policy, actor=manager)
    assert outcome.changed == 1 and outcome.queued == 0
    lead.refresh_from_db()
    assert lead.valid_until == start + 9 * DAY
