"""Exported spreadsheets never run a formula from lead data and show Chinese text in Excel."""

import csv
import io
import warnings

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from crm.spreadsheets import cell_escape
from leads.resources import LeadResource
from tests.factories import LeadFactory


@pytest.mark.parametrize("dangerous", ["=1+1", "+86 cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_cells_that_start_a_formula_are_escaped(dangerous):
    assert cell_escape(dangerous) == "'" + dangerous


def test_plain_text_and_numbers_are_left_alone():
    assert (cell_escape("恒通科技"), cell_escape(-5), cell_escape(None)) == ("恒通科技", -5, None)


def export(admin_client, fmt):
    selected = {f"leadresource_{name}": "on" for name in LeadResource.Meta.fields}
    return admin_client.post("/admin/leads/lead/export/", {"format": fmt, "resource": 0, **selected})


def test_csv_export_has_a_bom_and_escapes_formulas(admin_client, source):
    LeadFactory(name="王伟", company='=HYPERLINK("http://evil.example","x")', source=source)

    response = export(admin_client, 0)

    assert response.status_code == 200
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0]["name"] == "王伟"
    assert rows[0]["company"] == '\'=HYPERLINK("http://evil.example","x")'


def test_xlsx_export_escapes_formulas(admin_client, source):
    LeadFactory(name="@cmd", company="+1 evil", source=source)

    response = export(admin_client, 1)

    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [cell.value for cell in next(sheet.iter_rows(min_row=2))]
    assert "'@cmd" in values and "'+1 evil" in values
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)


def test_xlsx_export_survives_control_characters_a_spreadsheet_cannot_hold(admin_client, source):
    LeadFactory(name="王\x0b伟", company="恒通\x1f科技", source=source)  # pasted in the admin

    response = export(admin_client, 1)

    assert response.status_code == 200
    values = [
        cell.value for cell in next(load_workbook(io.BytesIO(response.content)).active.iter_rows(min_row=2))
    ]
    assert "王\ufffd伟" in values and "恒通\ufffd科技" in values


def test_the_resource_exports_owner_and_source_codes(db, source):
    LeadFactory(source=source)

    dataset = LeadResource().export()

    assert dataset.dict[0]["source"] == "web"
    assert dataset.dict[0]["owner"] == ""


def test_the_export_action_exports_only_the_selected_leads(admin_client, source):
    chosen = LeadFactory(name="选中", source=source)
    LeadFactory(name="没选", source=source)

    form_page = admin_client.post(
        "/admin/leads/lead/", {"action": "export_admin_action", "_selected_action": [chosen.pk]}
    )
    selected = {f"leadresource_{name}": "on" for name in LeadResource.Meta.fields}
    response = admin_client.post(
        "/admin/leads/lead/export/", {"format": 0, "resource": 0, "export_items": [chosen.pk], **selected}
    )

    assert form_page.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "选中" in text and "没选" not in text


def test_exporting_a_selection_reads_only_the_selected_leads(admin_client, source):
    chosen, other = LeadFactory(name="选中", source=source), LeadFactory(name="没选", source=source)
    selected = {f"leadresource_{name}": "on" for name in LeadResource.Meta.fields}

    with warnings.catch_warnings(record=True) as caught, CaptureQueriesContext(connection) as queries:
        warnings.simplefilter("always")
        response = admin_client.post(
            "/admin/leads/lead/export/", {"format": 0, "resource": 0, "export_items": [chosen.pk], **selected}
        )

    assert "选中" in response.content.decode("utf-8-sig")
    every_key = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('SELECT "leads_lead"."id" FROM "leads_lead"') and "WHERE" not in q["sql"]
    ]
    assert every_key == []  # import-export's default lists every lead's key as a choice
    assert not [w for w in caught if issubclass(w.category, DeprecationWarning)]
    # a key outside the list is not a valid choice: the form comes back instead of a file
    stray = admin_client.post(
        "/admin/leads/lead/export/",
        {"format": 0, "resource": 0, "export_items": [other.pk + 1000], **selected},
    )
    assert stray["Content-Type"].startswith("text/html")
