"""Correcting a lead on the admin's change page follows intake's rules: the dedup keys follow
the phone and e-mail, a contact that is another lead's is refused by name, the lead is
re-scored and the change is audited; owner, status and clocks are not typed over."""

from datetime import timedelta

from django.utils import timezone

from leads.models import Lead, LeadEvent, ScoringRule
from lifecycle.intake import lead_intake
from tests.factories import LeadTypeFactory


def _change_data(admin_client, lead, **changes):
    """The change page's own form as the browser would post it back, with `changes` typed in."""
    page = admin_client.get(f"/admin/leads/lead/{lead.pk}/change/")
    form = page.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        data[name] = "" if value is None else value
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    data.update(changes)
    return data


def _edit(admin_client, lead, **changes):
    return admin_client.post(
        f"/admin/leads/lead/{lead.pk}/change/", _change_data(admin_client, lead, **changes)
    )


def _errors(response):
    return response.context["adminform"].form.errors if response.context else {}


def test_a_corrected_phone_moves_the_dedup_key_with_it(admin_client, source):
    lead = lead_intake(data={"name": "王伟", "phone": "13800138000"}, source=source).lead

    response = _edit(admin_client, lead, phone="+86 139-0013-9000")

    assert response.status_code == 302, _errors(response)
    lead.refresh_from_db()
    assert (lead.phone, lead.phone_normalized) == ("+86 139-0013-9000", "+8613900139000")
    again = lead_intake(data={"phone": "13900139000"}, source=source)
    assert (again.created, again.lead.pk) == (False, lead.pk)
    assert lead_intake(data={"phone": "13800138000"}, source=source).created


def test_a_phone_that_is_another_leads_is_refused_by_name_and_nothing_changes(admin_client, source):
    lead = lead_intake(data={"name": "王伟", "phone": "13800138000"}, source=source).lead
    other = lead_intake(data={"name": "李娜", "email": "li@example.cn"}, source=source).lead

    response = _edit(admin_client, lead, email="LI@example.cn ")

    assert response.status_code == 200
    assert f"#{other.pk}" in " ".join(_errors(response)["email"])
    lead.refresh_from_db()
    assert lead.email == ""
    assert not LeadEvent.objects.filter(lead=lead, kind="details_edited").exists()


def test_an_impossible_phone_is_a_field_error_on_the_change_page(admin_client, source):
    lead = lead_intake(data={"phone": "13800138000"}, source=source).lead

    response = _edit(admin_client, lead, phone="12345")

    assert response.status_code == 200
    assert "phone" in _errors(response)
    lead.refresh_from_db()
    assert lead.phone_normalized == "+8613800138000"


def test_a_correction_rescores_the_lead_and_is_audited(admin_client, source, admin_user):
    ScoringRule.objects.create(name="SaaS", field="industry", operator="eq", value="SaaS", points=15)
    lead = lead_intake(data={"phone": "13800138000", "region": "上海"}, source=source).lead
    assert lead.score == 0

    response = _edit(admin_client, lead, industry="SaaS", region="北京市")

    assert response.status_code == 302, _errors(response)
    lead.refresh_from_db()
    assert (lead.score, lead.region) == (15, "北京")
    assert lead.score_breakdown[0]["rule"] == "SaaS"
    event = LeadEvent.objects.get(lead=lead, kind="details_edited")
    assert set(event.data["fields"]) == {"industry", "region"} and event.actor == admin_user


def test_owner_status_type_and_clocks_are_shown_not_typed_over(admin_client, source):
    lead = lead_intake(data={"phone": "13800138000"}, source=source).lead
    fields = ("status", "owner_id", "team_id", "lead_type_id", "first_contact_due", "valid_until")
    before = Lead.objects.values(*fields).get(pk=lead.pk)
    later = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S")

    response = _edit(
        admin_client,
        lead,
        status="won",
        first_contact_due=later,
        valid_until=later,
        lead_type=LeadTypeFactory().pk,
        name="王伟",
    )

    assert response.status_code == 302, _errors(response)
    assert Lead.objects.values(*fields).get(pk=lead.pk) == before
    assert Lead.objects.get(pk=lead.pk).name == "王伟"


def test_an_extra_that_is_not_an_object_is_a_field_error(admin_client, source):
    lead = lead_intake(data={"phone": "13800138000", "extra": {"campaign": "618"}}, source=source).lead

    response = _edit(admin_client, lead, extra="[1, 2]")

    assert response.status_code == 200
    assert "extra" in _errors(response)
    lead.refresh_from_db()
    assert lead.extra == {"campaign": "618"}
