"""CSV downloads: formula cells are neutralised, Excel gets a BOM, every figure downloads."""

import csv
import io

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from crm.dashboard import Figure, csv_cell, figure_csv
from tests.factories import LeadFactory, SourceFactory


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("华东一组", "华东一组"),
        ("a=b", "a=b"),
        (-3, -3),
        (12.5, 12.5),
        (None, ""),
        (True, "yes"),
    ],
)
def test_cells_that_a_spreadsheet_would_run_get_an_apostrophe(value, expected):
    assert csv_cell(value) == expected


def test_the_file_starts_with_a_bom_and_escapes_labels_and_values():
    figure = Figure(
        "x", "p", "t", "d", [("name", "=name"), ("n", "count")], [{"name": "@evil", "n": 3}], None
    )
    text = figure_csv(figure)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [["'=name", "count"], ["'@evil", "3"]]


@pytest.fixture
def hostile_source(rep_a):
    cache.clear()
    evil = SourceFactory(code="evil", name='=cmd|"/c calc"!A1', channel="form")
    LeadFactory(status="assigned", owner=rep_a, team=rep_a.team, source=evil, created_at=timezone.now())
    return evil


def test_downloaded_source_names_are_escaped(client, manager, hostile_source):
    client.force_login(manager)
    response = client.get(reverse("dashboard:csv", args=["conversion_source"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    names = [row[0] for row in csv.reader(io.StringIO(body.lstrip("\ufeff")))][1:]
    assert names == ['\'=cmd|"/c calc"!A1 (evil)']


def test_every_figure_on_the_page_downloads(client, manager, hostile_source):
    client.force_login(manager)
    figures = client.get(reverse("dashboard:json")).json()["figures"]
    for key in figures:
        assert client.get(reverse("dashboard:csv", args=[key])).status_code == 200, key
    assert client.get(reverse("dashboard:csv", args=["nope"])).status_code == 404
