"""Adding a lead in the admin is an intake channel: validated, deduplicated, scored and routed."""

from leads.models import Lead


def add(admin_client, source, **fields):
    data = {
        "source": source.pk,
        "name": "",
        "phone": "",
        "email": "",
        "extra": "{}",
        "cascade_step": 0,
        **fields,
    }
    data.update({"activities-TOTAL_FORMS": 0, "activities-INITIAL_FORMS": 0})
    return admin_client.post("/admin/leads/lead/add/", data)


def test_a_lead_added_in_the_admin_leaves_intake_routed_or_nurtured(admin_client, source):
    response = add(admin_client, source, name="王伟", phone="138-0013-8000")

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    lead = Lead.objects.get()
    assert lead.phone_normalized == "+8613800138000"
    assert lead.status != "new"


def test_an_impossible_phone_is_a_form_error(admin_client, source):
    response = add(admin_client, source, phone="12345")

    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors
    assert not Lead.objects.exists()


def test_adding_a_known_contact_merges_into_it(admin_client, source):
    add(admin_client, source, phone="13800138000")

    response = add(admin_client, source, phone="+86 138 0013 8000", company="恒通")

    assert response.status_code == 302
    assert Lead.objects.get().company == "恒通"
