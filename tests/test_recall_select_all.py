"""Manual recall from the lead changelist: filter, "select all N matching", confirm with a
reason, and every matching lead (not just the page) goes back to the pool with its own event."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from assignment.services import leads_recall
from crm.models import Notification
from leads.models import Lead, LeadEvent
from leads.selectors import invariants_violations
from leads.services import TransitionRequest, leads_transition_bulk
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Pages in English, whatever the project's default language, so assertions read plainly."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def _assigned(rep, n, **kwargs):
    leads = [LeadFactory(status="new", **kwargs) for _ in range(n)]
    leads_transition_bulk(
        [
            TransitionRequest(lead=lead, status="assigned", owner=rep, kind="route", reason="test")
            for lead in leads
        ]
    )
    return leads


def test_select_all_matching_recalls_every_lead_behind_the_filter(client, manager, rep_a, rep_b):
    _assigned(rep_a, 130, region="上海")
    _assigned(rep_b, 5, region="北京")
    client.force_login(manager)
    url = reverse("admin:leads_lead_changelist") + "?region=上海"
    page_ids = list(Lead.objects.filter(region="上海").values_list("pk", flat=True)[:100])
    post = {"action": "recall_to_pool", "select_across": "1", "index": "0", ACTION_CHECKBOX_NAME: page_ids}
    confirm = client.post(url, post)
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert "130 leads selected" in body and "public pool" in body
    assert Lead.objects.filter(status="pooled").count() == 0  # nothing changed yet
    missing_reason = client.post(url, {**post, "confirm": "yes", "reason": ""})
    assert missing_reason.status_code == 200 and Lead.objects.filter(status="pooled").count() == 0
    done = client.post(url, {**post, "confirm": "yes", "reason": "quarterly clean-up"})
    assert done.status_code == 302
    assert Lead.objects.filter(region="上海", status="pooled", pool_reason="recalled").count() == 130
    assert Lead.objects.filter(region="北京", status="assigned").count() == 5
    events = LeadEvent.objects.filter(kind="recall")
    assert events.count() == 130 and set(events.values_list("actor", "reason").distinct()) == {
        (manager.pk, "quarterly clean-up")
    }
    assert Notification.objects.filter(user=rep_a.user, kind="recalled").count() == 1
    assert list(invariants_violations()) == []


def test_a_rep_cannot_recall_leads(rep_a, rep_b):
    leads = _assigned(rep_b, 2)
    with pytest.raises(PermissionDenied):
        leads_recall(
            leads_qs=Lead.objects.filter(pk__in=[x.pk for x in leads]), actor=rep_a.user, reason="mine now"
        )
    assert Lead.objects.filter(owner=rep_b, status="assigned").count() == 2


def test_a_staff_rep_gets_403_from_the_admin_action_and_nothing_changes(client, rep_a, rep_b):
    leads = _assigned(rep_b, 2)
    rep_a.user.is_staff = True
    rep_a.user.save()
    client.force_login(rep_a.user)
    response = client.post(
        reverse("admin:leads_lead_changelist"),
        {
            "action": "recall_to_pool",
            "index": "0",
            ACTION_CHECKBOX_NAME: [x.pk for x in leads],
            "confirm": "yes",
            "reason": "x",
        },
    )
    assert response.status_code == 403
    assert Lead.objects.filter(owner=rep_b, status="assigned").count() == 2


def test_a_team_lead_recalls_only_their_own_teams_leads(team_lead, rep_a, outsider):
    mine, theirs = _assigned(rep_a, 2), _assigned(outsider, 2)
    ids = [x.pk for x in mine + theirs]
    result = leads_recall(leads_qs=Lead.objects.filter(pk__in=ids), actor=team_lead, reason="team clean-up")
    assert result.changed == 2 and result.skipped == 2
    assert Lead.objects.filter(owner=outsider, status="assigned").count() == 2


def test_recall_moves_only_owned_leads_and_counts_the_rest_as_skipped(manager, rep_a, rep_b):
    owned = _assigned(rep_a, 3) + _assigned(rep_b, 2)
    pooled = [LeadFactory(status="pooled") for _ in range(2)]
    ids = [x.pk for x in owned + pooled]
    result = leads_recall(leads_qs=Lead.objects.filter(pk__in=ids), actor=manager, reason="clean-up")
    assert (result.changed, result.skipped) == (5, 2)
    assert Lead.objects.filter(pk__in=ids, status="pooled", owner=None).count() == 7
    assert set(LeadEvent.objects.filter(kind="recall").values_list("lead_id", flat=True)) == {
        x.pk for x in owned
    }
    assert list(invariants_violations()) == []


def test_recall_runs_the_same_queries_for_more_leads_in_one_batch(
    manager, rep_a, rep_b, django_assert_max_num_queries
):
    few, many = _assigned(rep_a, 3), _assigned(rep_b, 40)
    with django_assert_max_num_queries(40) as counted:
        leads_recall(leads_qs=Lead.objects.filter(pk__in=[x.pk for x in few]), actor=manager, reason="a")
    with django_assert_max_num_queries(len(counted.captured_queries)):
        leads_recall(leads_qs=Lead.objects.filter(pk__in=[x.pk for x in many]), actor=manager, reason="b")


def test_a_large_recall_is_queued_and_the_admin_shows_its_progress(client, manager, rep_a, monkeypatch):
    import django_q.tasks

    import assignment.admin as assignment_admin
    import assignment.tasks as assignment_tasks

    queued = []
    monkeypatch.setattr(assignment_admin, "LARGE_ACTION", 3)
    monkeypatch.setattr(django_q.tasks, "async_task", lambda name, **kwargs: queued.append(kwargs))
    monkeypatch.setattr("assignment.services.BATCH", 2)
    leads = _assigned(rep_a, 5, region="上海")
    client.force_login(manager)
    changelist = reverse("admin:leads_lead_changelist")
    post = {
        "action": "recall_to_pool",
        "select_across": "1",
        "index": "0",
        ACTION_CHECKBOX_NAME: [leads[0].pk],
        "confirm": "yes",
        "reason": "big clean-up",
    }
    assert client.post(changelist + "?region=上海", post).status_code == 302
    assert len(queued) == 1 and Lead.objects.filter(status="pooled").count() == 0

    def shown(response):
        return [str(m) for m in response.context["messages"] if "Background" in str(m)]

    assert shown(client.get(changelist)) == ["Background recall: 0 of 5 leads done."]
    reported = []
    record = assignment_tasks.action_progress_set
    monkeypatch.setattr(
        assignment_tasks,
        "action_progress_set",
        lambda job, **fields: (reported.append(fields.get("done")), record(job, **fields)),
    )
    assert assignment_tasks.lead_action_run(**queued[0]) == 5
    assert [n for n in reported if n] == [2, 4, 5, 5]
    assert shown(client.get(changelist)) == ["Background recall finished: 5 leads recalled to the pool."]
    assert shown(client.get(changelist)) == []
    assert Lead.objects.filter(status="pooled", pool_reason="recalled").count() == 5
