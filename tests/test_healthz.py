"""/healthz reports the database and the scheduler's heartbeat."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.services import heartbeat_beat
from crm.tasks import heartbeat


@pytest.mark.django_db
def test_healthz_is_ok_without_a_scheduler_but_says_so(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["scheduler"]["alive"] is False


@pytest.mark.django_db
def test_healthz_shows_a_recent_scheduler_heartbeat(client):
    heartbeat()
    body = client.get("/healthz").json()
    assert body["scheduler"]["alive"] is True and body["scheduler"]["last_heartbeat"]


@pytest.mark.django_db
def test_healthz_marks_an_old_heartbeat_as_dead(client):
    heartbeat_beat(name="scheduler", now=timezone.now() - timedelta(minutes=10))
    assert client.get("/healthz").json()["scheduler"]["alive"] is False
