"""Files from Excel and WPS: every encoding, delimiter and header language gives the same leads,
and bad input gets a clear error instead of a crash or a lost row."""

import csv
import os

import pytest
from django.utils import translation
from openpyxl import Workbook

from leads.importing import ImportFileError
from leads.models import Lead
from lifecycle.intake import intake_file


@pytest.fixture(autouse=True)
def english():
    """Messages in English so the assertions read plainly (the project's default is Chinese:
    see test_file_errors_speak_the_users_language)."""
    with translation.override("en"):
        yield


ZH = ["姓名", "手机号码", "电子邮箱", "公司名称", "省份"]
EN = ["Name", "Mobile", "E-mail", "Company", "Region"]
ROWS = [
    ["王伟", "138 0013 8000", "wang@example.cn", "恒通科技", "北京市"],
    ["李娜", "+86 139-0013-9000", "", "博睿教育", "浙江省"],
    ["张敏", "", "ZHANG@example.cn", "众联", "杭州"],
]


def csv_bytes(headers, rows, *, delimiter=",", encoding="utf-8"):
    lines = [delimiter.join(headers)] + [delimiter.join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def leads_imported(tmp_path, name, content, source):
    path = tmp_path / name
    path.write_bytes(content)
    report = intake_file(path=path, source=source).report
    state = sorted(Lead.objects.values_list("name", "phone_normalized", "email", "company", "region"))
    return report, state


VARIANTS = {
    "utf8_en.csv": lambda: csv_bytes(EN, ROWS),
    "utf8_bom_zh.csv": lambda: csv_bytes(ZH, ROWS, encoding="utf-8-sig"),
    "gb18030_zh.csv": lambda: csv_bytes(ZH, ROWS, encoding="gb18030"),
    "gbk_semicolon_zh.csv": lambda: csv_bytes(ZH, ROWS, delimiter=";", encoding="gbk"),
    "utf16_tab_zh.txt": lambda: csv_bytes(ZH, ROWS, delimiter="\t", encoding="utf-16"),
    "utf16le_no_bom_tab_zh.txt": lambda: csv_bytes(ZH, ROWS, delimiter="\t", encoding="utf-16-le"),
    "utf8_tab_en.tsv": lambda: csv_bytes(EN, ROWS, delimiter="\t"),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_each_encoding_delimiter_and_header_language_gives_the_same_leads(tmp_path, source, name):
    report, state = leads_imported(tmp_path, name, VARIANTS[name](), source)

    assert (report.imported, report.merged, report.rejected) == (3, 0, 0)
    assert state == [
        ("张敏", "", "zhang@example.cn", "众联", "浙江"),
        ("李娜", "+8613900139000", "", "博睿教育", "浙江"),
        ("王伟", "+8613800138000", "wang@example.cn", "恒通科技", "北京"),
    ]


def test_an_xlsx_workbook_gives_the_same_leads(tmp_path, source):
    book = Workbook()
    sheet = book.active
    sheet.append(ZH)
    for row in ROWS:
        sheet.append(row)
    sheet.append([None, 13700137000, None, "数字手机号", None])
    book.save(tmp_path / "leads.xlsx")

    report = intake_file(path=tmp_path / "leads.xlsx", source=source).report

    assert (report.imported, report.rejected) == (4, 0)
    assert Lead.objects.filter(phone_normalized="+8613700137000").exists()


def test_unknown_columns_go_to_extra(tmp_path, source):
    leads_imported(tmp_path, "x.csv", csv_bytes(["手机", "微信号"], [["13800138000", "wx_wang"]]), source)

    assert Lead.objects.get().extra == {"微信号": "wx_wang"}


def test_an_empty_file_is_a_clear_error(tmp_path, source):
    (tmp_path / "empty.csv").write_bytes(b"")

    with pytest.raises(ImportFileError, match="empty"):
        intake_file(path=tmp_path / "empty.csv", source=source)


def test_a_header_only_file_imports_nothing(tmp_path, source):
    report, _ = leads_imported(tmp_path, "h.csv", csv_bytes(ZH, []), source)

    assert (report.total, report.imported) == (0, 0)


def test_a_binary_file_renamed_csv_is_a_clear_error(tmp_path, source):
    (tmp_path / "photo.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)

    with pytest.raises(ImportFileError, match="text"):
        intake_file(path=tmp_path / "photo.csv", source=source)


def test_an_old_xls_workbook_is_a_clear_error(tmp_path, source):
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)

    with pytest.raises(ImportFileError, match="xls"):
        intake_file(path=tmp_path / "old.xls", source=source)


def test_rows_with_too_many_or_too_few_cells_are_rejected_with_a_reason(tmp_path, source):
    content = (
        b"name,phone,email\na,13800138000,a@example.cn,surprise\nb,13900139000\nc,13700137000,c@example.cn\n"
    )

    report, _ = leads_imported(tmp_path, "ragged.csv", content, source)

    assert (report.imported, report.rejected) == (1, 2)
    reasons = [reason for _, _, reason in report.rejects]
    assert "4 cells but the header has 3" in reasons[0]
    assert "2 cells but the header has 3" in reasons[1]


def test_trailing_empty_cells_from_excel_are_fine(tmp_path, source):
    report, _ = leads_imported(tmp_path, "t.csv", b"name,phone\na,13800138000,,\n", source)

    assert report.imported == 1


def test_a_10000_character_cell_is_rejected_not_truncated(tmp_path, source):
    rows = [["x" * 10_000, "13800138000", "", "", ""], ["ok", "13900139000", "", "", ""]]

    report, _ = leads_imported(tmp_path, "long.csv", csv_bytes(EN, rows), source)

    assert (report.imported, report.rejected) == (1, 1)
    assert "name" in report.rejects[0][2]


def test_nul_bytes_are_dropped_and_the_row_kept(tmp_path, source):
    report, _ = leads_imported(tmp_path, "nul.csv", b"name,phone\nwa\x00ng,138\x0000138000\n", source)

    assert report.imported == 1
    assert Lead.objects.get().name == "wang"


def test_html_in_a_name_is_kept_as_text(tmp_path, source):
    leads_imported(
        tmp_path, "h.csv", csv_bytes(EN[:2], [["<script>alert('x')</script>", "13800138000"]]), source
    )

    assert Lead.objects.get().name == "<script>alert('x')</script>"


def test_a_file_with_lines_in_two_encodings_reads_both(tmp_path, source):
    content = "姓名,手机\n王伟,13800138000\n".encode() + "李娜,13900139000\n".encode("gbk")

    report, state = leads_imported(tmp_path, "mixed.csv", content, source)

    assert report.imported == 2
    assert {s[0] for s in state} == {"王伟", "李娜"}


def test_quoted_cells_may_hold_commas_and_newlines(tmp_path, source):
    content = b'name,phone,company\n"Wang, Wei",13800138000,"line one\nline two"\n'

    report, _ = leads_imported(tmp_path, "q.csv", content, source)

    assert report.imported == 1
    assert Lead.objects.get().name == "Wang, Wei"


@pytest.mark.heavy
def test_a_50_mb_file_streams_through(tmp_path, source):
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="gb18030", newline="") as out:
        out.write("姓名,手机,备注\n")
        i = 0
        while out.tell() < 50 * 1024 * 1024:
            out.write(f"客户{i},139{i:08d},{'备注' * 200}\n")
            i += 1
    assert os.path.getsize(path) >= 50 * 1024 * 1024

    report = intake_file(path=path, source=source).report

    assert report.imported + report.merged + report.rejected == report.total == i


def test_the_rejects_report_writes_a_formula_cell_as_text(tmp_path, source):
    content = csv_bytes(ZH, [['=HYPERLINK("http://x.example")', "12345", "", "@SUM(A1)", "北京"]])
    (tmp_path / "hostile.csv").write_bytes(content)
    intake_file(path=tmp_path / "hostile.csv", source=source, report_path=tmp_path / "rejects.csv")

    with open(tmp_path / "rejects.csv", encoding="utf-8-sig", newline="") as f:
        rejected = list(csv.DictReader(f))
    assert [(r["姓名"], r["公司名称"]) for r in rejected] == [
        ('\'=HYPERLINK("http://x.example")', "'@SUM(A1)")
    ]
    assert not Lead.objects.exists()


def test_a_nan_budget_from_pandas_rejects_its_row_and_keeps_the_others(tmp_path, source):
    content = b"name,phone,budget\na,13800138071,NaN\nb,13800138072,inf\nc,13800138073,12.5\n"
    report, state = leads_imported(tmp_path, "pandas.csv", content, source)

    assert (report.imported, report.merged, report.rejected) == (1, 0, 2)
    assert [reason for _, _, reason in report.rejects] == [report.rejects[0][2]] * 2
    assert "budget" in report.rejects[0][2]
    assert [name for name, *_ in state] == ["c"]


def test_a_title_row_above_the_header_is_skipped_in_a_csv(tmp_path, source):
    content = csv_bytes(["2026年11月展会客户名单", "", "", "", ""], [ZH, *ROWS], encoding="gb18030")
    (tmp_path / "fair.csv").write_bytes(content)

    intake = intake_file(path=tmp_path / "fair.csv", source=source)

    assert (intake.table.header_row, intake.table.skipped) == (2, ["2026年11月展会客户名单"])
    assert (intake.report.imported, intake.report.rejected) == (3, 0)
    assert Lead.objects.filter(name="王伟", region="北京").exists()


def test_a_title_and_a_note_above_the_header_are_skipped_in_a_workbook(tmp_path, source):
    book = Workbook()
    sheet = book.active
    sheet.append(["客户名单"])
    sheet.merge_cells("A1:E1")
    sheet.append(["导出时间：2026-11-30"])
    for row in [ZH, *ROWS]:
        sheet.append(row)
    book.save(tmp_path / "fair.xlsx")

    intake = intake_file(path=tmp_path / "fair.xlsx", source=source)

    assert intake.table.header_row == 3
    assert (intake.report.imported, intake.report.rejected) == (3, 0)


def test_a_file_without_a_header_row_is_one_clear_error(tmp_path, source):
    (tmp_path / "bare.csv").write_bytes(csv_bytes(ROWS[0], ROWS[1:]))

    with pytest.raises(ImportFileError, match="No header row: row 1 \\(王伟, 138 0013 8000"):
        intake_file(path=tmp_path / "bare.csv", source=source)
    assert not Lead.objects.exists()


def test_a_header_without_a_contact_column_still_rejects_each_row_with_its_reason(tmp_path, source):
    report, _ = leads_imported(
        tmp_path, "nocontact.csv", csv_bytes(["姓名", "公司"], [["王伟", "恒通"]]), source
    )

    assert (report.imported, report.rejected) == (0, 1)


def test_file_errors_speak_the_users_language(tmp_path, source):
    (tmp_path / "empty.csv").write_bytes(b"")

    with translation.override("zh-hans"), pytest.raises(ImportFileError, match="文件是空的"):
        intake_file(path=tmp_path / "empty.csv", source=source)
