"""A time zone a manager types for a rep's or a rule's hours must be one the clock can load:
routing falls back to the project's zone for any other name, which would shift the hours
without a word."""

import pytest
from django.core.exceptions import ValidationError

from assignment.models import AssignmentRule
from tests.factories import RuleSetFactory


def _rep_change(admin_client, rep, **changes):
    page = admin_client.get(f"/admin/crm/rep/{rep.pk}/change/")
    form = page.context["adminform"].form
    data = {name: ("" if form[name].value() is None else form[name].value()) for name in form.fields}
    data["work_days"] = "[]"
    data.update(changes)
    return admin_client.post(f"/admin/crm/rep/{rep.pk}/change/", data, HTTP_ACCEPT_LANGUAGE="en")


def test_a_misspelt_zone_for_a_rep_is_refused_with_a_hint(admin_client, rep_a):
    response = _rep_change(admin_client, rep_a, timezone="Asia/Shangai")

    assert response.status_code == 200
    message = " ".join(response.context["adminform"].form.errors["timezone"])
    assert "Asia/Shangai" in message and "Asia/" in message.split("Shangai", 1)[1]
    rep_a.refresh_from_db()
    assert rep_a.timezone == ""


def test_a_real_zone_for_a_rep_is_kept(admin_client, rep_a):
    response = _rep_change(admin_client, rep_a, timezone="Europe/Berlin")

    assert response.status_code == 302, response.context["adminform"].form.errors
    rep_a.refresh_from_db()
    assert rep_a.timezone == "Europe/Berlin"


@pytest.mark.django_db
def test_a_rule_schedule_in_an_unknown_zone_does_not_validate():
    rule = AssignmentRule(
        rule_set=RuleSetFactory(), name="night", position=1, schedule_timezone="Mars/Olympus"
    )

    with pytest.raises(ValidationError) as caught:
        rule.clean_fields(
            exclude=[f.name for f in AssignmentRule._meta.fields if f.name != "schedule_timezone"]
        )
    assert "schedule_timezone" in caught.value.message_dict
