"""Reading lead files from Excel and WPS users: CSV in any common encoding and delimiter, or XLSX.

Files are streamed row by row (a 50 MB file never sits in memory). Each row comes out as a dict
keyed by lead field names (Chinese or English headers are mapped; unknown columns keep their
header and end up in Lead.extra), plus bookkeeping keys the intake pipeline understands:
"_row" (the row number as a spreadsheet shows it), "_original" (the row as read, for the rejects
report) and "_error" (a problem found while reading, such as a wrong number of cells).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from textwrap import shorten
from typing import IO, Any

from charset_normalizer import from_bytes
from django.utils.translation import gettext as _

from crm.spreadsheets import cell_escape
from leads.normalize import text_clean

SAMPLE_BYTES = 64 * 1024
# A row's cells may be long (10,000 characters is normal for notes); the csv default is 128 KiB.
CSV_FIELD_LIMIT = 16 * 1024 * 1024

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "姓名",
        "联系人",
        "名字",
        "客户姓名",
        "客户名称",
        "联系人姓名",
        "name",
        "contact",
        "contactname",
        "fullname",
    ),
    "phone": (
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "联系电话",
        "电话号码",
        "联系方式",
        "phone",
        "mobile",
        "tel",
        "telephone",
        "phonenumber",
        "mobilephone",
        "cellphone",
    ),
    "email": ("邮箱", "电子邮箱", "邮件", "电子邮件", "邮箱地址", "email", "e-mail", "mail", "emailaddress"),
    "company": (
        "公司",
        "公司名称",
        "单位",
        "企业",
        "企业名称",
        "工作单位",
        "company",
        "companyname",
        "organization",
    ),
    "region": (
        "地区",
        "省份",
        "城市",
        "所在地区",
        "所在地",
        "区域",
        "省市",
        "region",
        "province",
        "city",
        "area",
    ),
    "industry": ("行业", "所属行业", "industry"),
    "product": ("产品", "意向产品", "product", "interest"),
    "role": ("职位", "职务", "岗位", "头衔", "title", "role", "jobtitle", "position"),
    "company_size": (
        "规模",
        "公司规模",
        "企业规模",
        "人数",
        "员工人数",
        "companysize",
        "size",
        "employees",
        "headcount",
    ),
    "budget": ("预算", "budget"),
    "source": ("来源", "渠道", "线索来源", "source", "channel"),
    "lead_type": ("线索类型", "类型", "leadtype", "type"),
    "external_id": ("外部id", "外部编号", "编号", "externalid", "id"),
    "referrer": ("推荐人", "referrer", "referredby"),
    "is_referral": ("是否推荐", "推荐", "referral", "isreferral"),
    "language": ("语言", "language"),
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "hz", "ms936", "euc_cn", "hz_gb_2312"}
_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


class ImportFileError(ValueError):
    """The file as a whole cannot be read (empty, binary, old .xls ...); the message says why."""


def header_key(header: object) -> str:
    """The lowercase, space-free form used to look a header up in HEADER_ALIASES."""
    text = unicodedata.normalize("NFKC", text_clean(header)).lstrip("\ufeff").lower()
    return "".join(ch for ch in text if ch not in " _*:：()（）")


def header_map(headers: list[str]) -> list[str]:
    """The dict key for each column: a lead field, else the header itself (goes to extra).

    A field claimed by an earlier column is not claimed again; the later column keeps its header.
    """
    keys: list[str] = []
    taken: set[str] = set()
    for position, header in enumerate(headers, start=1):
        field_name = _ALIAS_TO_FIELD.get(header_key(header))
        label = text_clean(header).lstrip("\ufeff") or f"column_{position}"
        if field_name and field_name not in taken:
            taken.add(field_name)
            keys.append(field_name)
        else:
            keys.append(label if label not in keys else f"{label}_{position}")
    return keys


@dataclass
class LeadTable:
    """An opened lead file: its format, its headers and a one-pass iterator over the rows."""

    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    rows: Iterator[dict[str, Any]] = field(default_factory=lambda: iter(()))
    header_row: int = 1  # its line (CSV) or row (XLSX) number: a title above it is skipped
    skipped: list[str] = field(default_factory=list)  # the non-blank lines above the header

    @property
    def unknown_columns(self) -> list[str]:
        return [k for k in self.keys if k not in HEADER_ALIASES]


def table_open(stream: IO[bytes], *, name: str = "") -> LeadTable:
    """Detect the format of a binary stream and return its rows, or raise ImportFileError."""
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    if not sample:
        raise ImportFileError(_("The file is empty."))
    if sample.startswith(_XLSX_MAGIC):
        return _xlsx_open(stream)
    if sample.startswith(_OLE_MAGIC):
        raise ImportFileError(
            _("This is an old Excel .xls workbook: save it as .xlsx or CSV and upload again.")
        )
    encoding = encoding_detect(sample)
    return _csv_open(stream, encoding=encoding)


def encoding_detect(sample: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") or GB18030 (GBK/GB2312
    files from Chinese Excel/WPS), told apart by BOM, by a strict UTF-8 decode and otherwise
    by charset-normalizer. Raises ImportFileError for binary data."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample.count(0) / len(sample) >= 0.3:
        # Text with a NUL in every other byte is UTF-16 without a BOM; anything else is binary.
        best = from_bytes(sample, cp_isolation=["utf_16_le", "utf_16_be"]).best()
        if best is None or not _looks_like_text(str(best)):
            raise ImportFileError(_("This does not look like a text (CSV) file or an .xlsx workbook."))
        return best.encoding.replace("_", "-")
    stripped = sample.replace(b"\x00", b"")
    cut = stripped.rfind(b"\n") + 1 if len(sample) == SAMPLE_BYTES and b"\n" in stripped else len(stripped)
    try:
        text = stripped[:cut].decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(stripped, cp_isolation=["utf_8", "gb18030", "big5", "latin_1"]).best()
        if best is None:
            raise ImportFileError(
                _("This does not look like a text (CSV) file or an .xlsx workbook.")
            ) from None
        encoding, text = best.encoding, str(best)
        if encoding in _GB_FAMILY or encoding in ("big5", "latin_1"):
            # Chinese spreadsheets are GB unless they prove otherwise; GB18030 decodes GBK exactly.
            try:
                text = stripped[:cut].decode("gb18030")
                encoding = "gb18030"
            except UnicodeDecodeError:
                pass
        encoding = encoding.replace("_", "-")
    else:
        encoding = "utf-8"
    if not _looks_like_text(text):
        raise ImportFileError(_("This does not look like a text (CSV) file or an .xlsx workbook."))
    return encoding


def _looks_like_text(text: str) -> bool:
    if not text:
        return False
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n")
    return control / len(text) < 0.05


def _lines_decode(stream: IO[bytes], *, encoding: str) -> Iterator[str]:
    """Decode line by line so one line in another encoding (files pasted together from two
    sources) is read as what it is: UTF-8 first, as it is unambiguous, then the file's own
    encoding; bytes neither can read survive as surrogate escapes and the row is rejected."""
    fallbacks = [enc for enc in ("utf-8", encoding) if enc]
    for raw in stream:
        for enc in fallbacks:
            try:
                line = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            line = raw.decode("utf-8", errors="surrogateescape")
        yield line.replace("\x00", "")


# How far down a title or note above the real header row is looked past.
HEADER_SEARCH_ROWS = 10
_CONTACT_FIELDS = frozenset({"phone", "email"})

# (line or row number, cells — None when the line could not be parsed —, the parse error)
_Numbered = tuple[int, list[str] | None, str]


def _fields_named(cells: list[str]) -> set[str]:
    """The lead fields a row's cells name: by an alias, or by the field's own name (a sample
    for the rule simulation may carry only score and tier)."""
    columns = _lead_columns()
    named = set()
    for cell in cells:
        key = header_key(cell)
        field_name = _ALIAS_TO_FIELD.get(key) or (key if key in columns else None)
        if field_name:
            named.add(field_name)
    return named


@lru_cache(maxsize=1)
def _lead_columns() -> frozenset[str]:
    from leads.models import Lead

    return frozenset(f.name for f in Lead._meta.concrete_fields)


def _header_find(
    numbered: Iterator[_Numbered], *, empty: str
) -> tuple[_Numbered, list[str], list[_Numbered]]:
    """The header row, the non-blank lines above it (skipped) and the rows read past it.

    Spreadsheets exported from Chinese CRMs and fair-registration tools often open with a
    title ("2026年11月展会客户名单") or a note before the header. The first non-blank row is
    the header when it names any lead field (as almost every file's does: nothing else is
    read). Otherwise the header is the first of the next few rows that names a phone or e-mail
    column, and the rows above it are skipped. Finding none is a file without a header: one
    clear error, instead of every row rejected for a reason that hides the cause."""
    seen: list[_Numbered] = []
    first = header = None
    parsed = 0
    for item in numbered:
        cells = item[1]
        if cells is not None and _blank(cells):
            continue
        seen.append(item)
        if cells is None:
            continue
        parsed += 1
        named = _fields_named(cells)
        if first is None:
            first = item
            if named:
                header = item
                break
        if named & _CONTACT_FIELDS:
            header = item
            break
        if parsed >= HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise ImportFileError(empty)
    if header is None:
        raise ImportFileError(
            _(
                "No header row: row %(row)s (%(cells)s) names no column we know, and none of the "
                "next %(count)s rows names a phone or e-mail column. Put a header row such as "
                "姓名, 手机, 邮箱 (or name, phone, email) above the data."
            )
            % {"row": first[0], "cells": shorten(_cells_text(first[1]), 120), "count": HEADER_SEARCH_ROWS - 1}
        )
    at = seen.index(header)
    skipped = [_cells_text(item[1]) for item in seen[:at] if item[1]]
    return header, skipped, seen[at + 1 :]


def _blank(cells: list) -> bool:
    return not any(str(cell).strip() for cell in cells)


def _cells_text(cells: list) -> str:
    return ", ".join(str(cell).strip() for cell in cells if str(cell).strip())


def _rows_from(
    numbered: Iterator[_Numbered], *, headers: list[str], keys: list[str]
) -> Iterator[dict[str, Any]]:
    width = len(headers)
    for number, cells, error in numbered:
        if cells is None:
            yield {
                "_row": number,
                "_original": {"line": number},
                "_error": _("unreadable row: %(error)s") % {"error": error},
            }
            continue
        if _blank(cells):
            continue
        yield _row_build(cells, headers=headers, keys=keys, width=width, number=number)


def _table_build(kind: str, numbered: Iterator[_Numbered], *, empty: str = "", **format_info) -> LeadTable:
    (header_row, headers, _error), skipped, read_ahead = _header_find(
        numbered, empty=empty or _("The file is empty.")
    )
    headers = list(headers)
    while kind == "xlsx" and headers and not headers[-1].strip():
        headers.pop()  # a sheet's empty cells right of the header (row cells are trimmed too)
    keys = header_map(headers)
    table = LeadTable(
        kind=kind, headers=headers, keys=keys, header_row=header_row, skipped=skipped, **format_info
    )
    table.rows = _rows_from(_chain(read_ahead, numbered), headers=headers, keys=keys)
    return table


def _csv_open(stream: IO[bytes], *, encoding: str) -> LeadTable:
    csv.field_size_limit(CSV_FIELD_LIMIT)
    if encoding.startswith("utf-16"):
        text = io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")
        lines: Iterator[str] = (line.replace("\x00", "") for line in text)
    else:
        if encoding == "utf-8-sig":
            stream.read(len(codecs.BOM_UTF8))
            encoding = "utf-8"
        lines = _lines_decode(stream, encoding=encoding)
    # Find the header (first non-blank line) and sniff the delimiter from it and a few rows.
    head: list[str] = []
    for line in lines:
        if line.strip() or head:
            head.append(line)
        if len(head) >= 20:
            break
    if not head:
        raise ImportFileError(_("The file is empty."))
    delimiter = delimiter_detect(head)
    reader = csv.reader(_chain(head, lines), delimiter=delimiter)
    return _table_build("csv", _csv_numbered(reader), encoding=encoding, delimiter=delimiter)


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest


def delimiter_detect(lines: list[str]) -> str:
    """csv.Sniffer over the first lines; when it cannot decide, the candidate that splits the
    header into the most columns."""
    candidates = ",;\t|"
    try:
        return csv.Sniffer().sniff("".join(lines), delimiters=candidates).delimiter
    except csv.Error:
        header = lines[0]
        best = max(candidates, key=header.count)
        return best if header.count(best) else ","


def _csv_numbered(reader) -> Iterator[_Numbered]:
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, None, str(exc)
            continue
        yield reader.line_num, cells, ""


# Bytes the decoder could not map come through as lone surrogates (errors="surrogateescape").
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def _row_build(
    cells: list[str], *, headers: list[str], keys: list[str], width: int, number: int
) -> dict[str, Any]:
    while len(cells) > width and not str(cells[-1]).strip():
        cells = cells[:-1]
    original = dict(zip(headers, cells, strict=False))
    for position, cell in enumerate(cells[width:], start=width + 1):
        original[f"column_{position}"] = cell
    row: dict[str, Any] = {"_row": number, "_original": original}
    if len(cells) != width:
        row["_error"] = _("the row has %(cells)d cells but the header has %(width)d") % {
            "cells": len(cells),
            "width": width,
        }
        return row
    if _UNDECODABLE.search("".join(cells)):
        row["_error"] = _("the row contains bytes that are not valid text in any supported encoding")
        return row
    for key, cell in zip(keys, cells, strict=True):
        row[key] = cell
    return row


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _xlsx_open(stream: IO[bytes]) -> LeadTable:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(_("This .xlsx workbook cannot be opened: %(error)s") % {"error": exc}) from exc
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if sheet is None:
        raise ImportFileError(_("The workbook has no sheet."))
    numbered = _xlsx_numbered(workbook, sheet.iter_rows(values_only=True))
    try:
        return _table_build("xlsx", numbered, empty=_("The workbook is empty."))
    except ImportFileError:
        numbered.close()  # closes the workbook
        raise


def _xlsx_numbered(workbook, values) -> Iterator[_Numbered]:
    try:
        for number, cells in enumerate(values, start=1):
            yield number, [_cell_text(c).replace("\x00", "") for c in cells], ""
    finally:
        workbook.close()


def table_open_path(path: str | Path) -> tuple[LeadTable, IO[bytes]]:
    """Open a file on disk; the caller closes the returned stream when done."""
    stream = open(path, "rb")  # noqa: SIM115 - closed by the caller after streaming the rows
    try:
        return table_open(stream, name=str(path)), stream
    except Exception:
        stream.close()
        raise


def rejects_write(rejects, *, headers: list[str], out: IO[str]) -> int:
    """The rejected rows as CSV: the row number, the original cells and a reason column.

    Written with a UTF-8 BOM by the callers so Excel shows Chinese text correctly. The cells
    are escaped as an export's are: the report is opened in Excel by whoever fixes the rows,
    not always whoever sent the file, and a rejected row is exactly where a hostile
    `=HYPERLINK(…)` ends up."""
    extra_columns: list[str] = []
    for _number, original, _reason in rejects:
        if isinstance(original, dict):
            for key in original:
                if key not in headers and key not in extra_columns:
                    extra_columns.append(key)
    fieldnames = ["row", *headers, *extra_columns, "reason"]
    writer = csv.DictWriter(out, fieldnames=fieldnames, extrasaction="ignore", restval="")
    writer.writeheader()
    for number, original, reason in rejects:
        record = {
            k: cell_escape(v)
            for k, v in (original or {}).items()
            if isinstance(k, str) and not k.startswith("_")
        }
        writer.writerow({**record, "row": number, "reason": cell_escape(reason)})
    return len(rejects)
