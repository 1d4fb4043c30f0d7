"""Notifications: the unread count in every page header, the list, and marking read."""

import pytest
from django.urls import reverse

from crm.models import Notification
from crm.services import notifications_send

pytestmark = pytest.mark.django_db


def test_the_header_shows_the_unread_count(client, rep_a):
    notifications_send(users=[rep_a.user], kind="deadline", message="首次联系还剩 2 小时")
    notifications_send(users=[rep_a.user], kind="recall", message="线索已被召回")
    client.force_login(rep_a.user)
    response = client.get(reverse("workspace:notifications"))
    assert response.context["unread_notifications"] == 2
    assert '<span class="badge"' in response.content.decode()
    assert "首次联系还剩 2 小时" in response.content.decode()


def test_marking_one_read_leaves_the_others_unread(client, rep_a):
    first, second = notifications_send(users=[rep_a.user, rep_a.user], kind="x", message="m")
    client.force_login(rep_a.user)
    client.post(reverse("workspace:notifications_read"), {"ids": [first.pk]})
    assert Notification.objects.get(pk=first.pk).read_at is not None
    assert Notification.objects.get(pk=second.pk).read_at is None


def test_mark_all_read_touches_only_the_users_own(client, rep_a, rep_b):
    notifications_send(users=[rep_a.user, rep_b.user], kind="x", message="m")
    client.force_login(rep_a.user)
    client.post(reverse("workspace:notifications_read"))
    assert not Notification.objects.filter(user=rep_a.user, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=rep_b.user, read_at__isnull=True).count() == 1


def test_a_rep_cannot_mark_another_users_notification(client, rep_a, rep_b):
    [theirs] = notifications_send(users=[rep_b.user], kind="x", message="m")
    client.force_login(rep_a.user)
    client.post(reverse("workspace:notifications_read"), {"ids": [theirs.pk]})
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_mark_read_never_redirects_off_site(client, rep_a):
    client.force_login(rep_a.user)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        response = client.post(reverse("workspace:notifications_read"), {"next": target})
        assert response["Location"] == reverse("workspace:notifications")
