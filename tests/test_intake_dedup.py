"""A contact that comes again is merged into its lead: every phone/e-mail spelling, the source's
external id, inside one batch or across requests; a merge never changes the owner."""

import pytest

from leads.models import Activity, Lead, LeadEvent
from leads.services import lead_transition
from lifecycle.intake import intake_bulk, lead_intake
from tests.factories import SourceFactory

PHONE_FORMATS = [
    "138 0013 8000",
    "138-0013-8000",
    "+86 13800138000",
    "(+86)13800138000",
    "008613800138000",
    "１３８００１３８０００",
]
EMAIL_FORMATS = ["Wang@Example.cn", "  WANG@EXAMPLE.CN ", "wang@example.cn\u3000"]


@pytest.mark.parametrize("written", PHONE_FORMATS)
def test_each_phone_format_merges_into_the_first_lead(source, written):
    first = lead_intake(data={"phone": "13800138000", "name": "王伟"}, source=source)

    again = lead_intake(data={"phone": written}, source=source)

    assert again.merged and not again.created
    assert again.lead.pk == first.lead.pk
    assert Lead.objects.count() == 1


@pytest.mark.parametrize("written", EMAIL_FORMATS)
def test_each_email_spelling_merges_into_the_first_lead(source, written):
    first = lead_intake(data={"email": "wang@example.cn"}, source=source)

    assert lead_intake(data={"email": written}, source=source).lead.pk == first.lead.pk


def test_all_formats_in_one_file_become_one_lead(source):
    rows = [{"phone": p} for p in PHONE_FORMATS] + [
        {"email": e, "phone": "13800138000"} for e in EMAIL_FORMATS
    ]

    report = intake_bulk(rows, source=source)

    assert (report.imported, report.merged) == (1, len(rows) - 1)
    assert Lead.objects.get().email == "wang@example.cn"


def test_the_external_id_of_the_same_source_matches(source):
    first = lead_intake(data={"external_id": "crm-1", "phone": "13800138000"}, source=source)

    again = lead_intake(data={"external_id": "crm-1", "email": "new@example.cn"}, source=source)

    assert again.lead.pk == first.lead.pk


def test_the_same_external_id_from_another_source_is_another_lead(source):
    lead_intake(data={"external_id": "crm-1", "phone": "13800138000"}, source=source)

    other = lead_intake(
        data={"external_id": "crm-1", "phone": "13900139000"}, source=SourceFactory(code="partner")
    )

    assert other.created


def test_a_merge_fills_empty_fields_and_keeps_existing_ones(source):
    lead_intake(data={"phone": "13800138000", "name": "王伟"}, source=source)

    lead_intake(
        data={"phone": "13800138000", "name": "别名", "company": "恒通科技", "city_code": "0571"},
        source=source,
    )

    lead = Lead.objects.get()
    assert (lead.name, lead.company, lead.extra["city_code"]) == ("王伟", "恒通科技", "0571")


def test_a_merge_records_an_activity_and_an_event(source):
    lead_intake(data={"phone": "13800138000"}, source=source)

    lead_intake(data={"phone": "13800138000", "company": "恒通"}, source=source)

    activity = Activity.objects.get(kind="came_again")
    assert source.name in activity.note
    event = LeadEvent.objects.get(kind="merged")
    assert "company" in event.reason


def test_a_merge_never_changes_the_owner(source, rep_a):
    lead = lead_intake(data={"phone": "13800138000"}, source=source).lead
    lead_transition(lead=lead, status="assigned", owner=rep_a, kind="manual", reason="test")

    again = lead_intake(data={"phone": "13800138000", "company": "恒通"}, source=source)

    lead.refresh_from_db()
    assert (lead.status, lead.owner) == ("assigned", rep_a)
    assert again.lead.owner == rep_a
