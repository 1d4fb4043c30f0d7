"""Each shared sample file imports to imported=27 merged=5 rejected=3 into an empty database."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from leads.models import Activity, Lead, LeadEvent
from lifecycle.intake import intake_file

SAMPLES = Path(__file__).resolve().parent / "data" / "samples"
FILES = ["leads_en_utf8.csv", "leads_zh_gb18030.csv", "leads_zh_utf8_bom.csv", "leads_zh.xlsx"]


@pytest.mark.parametrize("name", FILES)
def test_each_sample_file_imports_27_merges_5_and_rejects_3(db, source, name):
    outcome = intake_file(path=SAMPLES / name, source=source)

    report = outcome.report
    assert (report.imported, report.merged, report.rejected) == (27, 5, 3)
    assert report.imported + report.merged + report.rejected == report.total == 35
    assert Lead.objects.count() == 27
    assert Activity.objects.filter(kind="came_again").count() == 5
    assert LeadEvent.objects.filter(kind="merged").count() == 5


@pytest.mark.parametrize("name", FILES)
def test_no_lead_is_left_new_after_an_import(db, source, name):
    intake_file(path=SAMPLES / name, source=source)

    assert not Lead.objects.filter(status=Lead.Status.NEW).exists()


def test_the_command_prints_the_closing_line(db, source, capsys):
    call_command("import_leads", str(SAMPLES / "leads_en_utf8.csv"), "--source", source.code, "--no-progress")

    assert capsys.readouterr().out.strip().splitlines()[-1] == "imported=27 merged=5 rejected=3"


def test_a_rerun_of_the_same_file_creates_no_duplicates(db, source):
    intake_file(path=SAMPLES / "leads_zh_gb18030.csv", source=source)
    again = intake_file(path=SAMPLES / "leads_zh_gb18030.csv", source=source).report

    assert (again.imported, again.merged, again.rejected) == (0, 32, 3)
    assert Lead.objects.count() == 27


def test_a_dry_run_saves_nothing_but_counts_the_same(db, source):
    report = intake_file(path=SAMPLES / "leads_zh_utf8_bom.csv", source=source, dry_run=True).report

    assert (report.imported, report.merged, report.rejected) == (27, 5, 3)
    assert Lead.objects.count() == 0


def test_the_rejects_report_holds_the_original_row_and_a_reason(db, source, tmp_path):
    out = tmp_path / "rejects.csv"
    intake_file(path=SAMPLES / "leads_zh_gb18030.csv", source=source, report_path=out)

    text = out.read_text(encoding="utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "row,姓名,手机,邮箱,公司,地区,行业,职位,规模,预算,reason"
    assert len(lines) == 4
    assert "12345" in text


@pytest.mark.parametrize("size", ["0", "-5", "many"])
def test_a_batch_size_below_one_is_refused_with_its_reason(db, source, size):
    with pytest.raises(CommandError, match="batch-size"):
        call_command(
            "import_leads", str(SAMPLES / "leads_en_utf8.csv"), "--source", source.code, "--batch-size", size
        )
    assert not Lead.objects.exists()


def test_a_directory_given_as_the_file_is_refused_with_its_reason(db, source, tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_leads", str(tmp_path), "--source", source.code, "--no-progress")
    assert not Lead.objects.exists()


@pytest.mark.parametrize("where", ["a directory", "a missing folder"])
def test_a_report_path_that_cannot_be_written_stops_the_run_before_any_row(db, source, tmp_path, where):
    report = tmp_path if where == "a directory" else tmp_path / "missing" / "rejects.csv"
    with pytest.raises(CommandError, match="--report"):
        call_command(
            "import_leads",
            str(SAMPLES / "leads_zh_gb18030.csv"),
            "--source",
            source.code,
            "--report",
            str(report),
            "--no-progress",
        )
    assert not Lead.objects.exists()
