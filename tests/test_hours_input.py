"""The hours a manager types for a rep or a rule must be ones the clock can read: a time zone
routing can load (it falls back to the project's zone for any other name, which would shift
the hours without a word) and weekdays as ISO numbers; a value stored before these checks
never breaks a routing decision."""

import pytest
from django.core.exceptions import ValidationError

from assignment.models import AssignmentRule
from tests.factories import RuleSetFactory


def _rep_change(admin_client, rep, **changes):  # the change page's form, posted back edited
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
    assert "Asia/Shangai" in message and "(for example Asia/Shanghai" in message
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


def test_weekdays_written_as_names_are_refused_for_a_rep(admin_client, rep_a):
    response = _rep_change(admin_client, rep_a, work_days='["Mon", "Tue"]')

    assert response.status_code == 200
    assert "ISO weekday" in " ".join(response.context["adminform"].form.errors["work_days"])


def test_a_rep_with_weekdays_stored_as_names_is_still_routed_by_the_readable_ones(db, rep_a):
    from django.utils import timezone

    from assignment.services import lead_route
    from crm.models import Rep
    from tests.factories import AssignmentRuleFactory, LeadFactory

    today = timezone.localtime().isoweekday()
    Rep.objects.filter(pk=rep_a.pk).update(work_days=["Mon", today, "x"])  # saved before the check
    rule_set = RuleSetFactory(trigger="new", is_active=True)
    AssignmentRuleFactory(rule_set=rule_set, position=1, strategy="round_robin", target_team=rep_a.team)
    AssignmentRuleFactory(rule_set=rule_set, position=2, strategy="pool", is_default=True)

    decision = lead_route(lead=LeadFactory(status="new"))

    assert (decision.status, decision.owner) == ("assigned", rep_a)
    assert "error" not in decision.explanation["rules"][0]
