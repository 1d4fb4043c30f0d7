"""Chinese by default, English on request, and the login page works in both."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_workspace_speaks_chinese_by_default(client, rep_a):
    client.force_login(rep_a.user)
    body = client.get(reverse("workspace:lead_list")).content.decode()
    assert "我的线索" in body
    assert "线索池" in body


def test_switching_to_english_sticks(client, rep_a):
    client.force_login(rep_a.user)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/leads/"})
    assert response.status_code == 302
    body = client.get(reverse("workspace:lead_list")).content.decode()
    assert "My leads" in body


def test_the_login_page_and_logging_in(client, rep_a):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    response = client.post(reverse("login"), {"username": "rep_a", "password": "pw-for-tests-only"})
    assert response.status_code == 302
    assert response["Location"] == "/leads/"


def test_logging_out_is_a_post(client, rep_a):
    client.force_login(rep_a.user)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("workspace:lead_list")).status_code == 302
