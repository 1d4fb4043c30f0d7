"""django-import-export glue: lead export that is safe to open in Excel, and an admin import that
runs the intake pipeline instead of import-export's row-by-row save.

The admin runs an import twice (preview, then confirm); the preview is a dry run of the very same
pipeline inside a rolled-back transaction, so what the manager confirms is what will happen.
"""

from __future__ import annotations

import io

import tablib
from import_export import fields, resources
from import_export.formats import base_formats
from import_export.results import Error, Result, RowResult

from crm.spreadsheets import cell_escape
from leads.importing import table_open
from leads.models import Lead


class LeadResource(resources.ModelResource):
    source = fields.Field(attribute="source__code", column_name="source", readonly=True)
    owner = fields.Field(attribute="owner__user__username", column_name="owner", readonly=True)
    lead_type = fields.Field(attribute="lead_type__code", column_name="lead_type", readonly=True)

    class Meta:
        model = Lead
        fields = (
            "id",
            "name",
            "company",
            "phone",
            "email",
            "region",
            "industry",
            "product",
            "role",
            "company_size",
            "budget",
            "lead_type",
            "source",
            "status",
            "tier",
            "score",
            "owner",
            "created_at",
        )
        export_order = fields
        import_id_fields = ("id",)

    def __init__(self, *, source=None, **kwargs):
        super().__init__()
        self.intake_source = source

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        return "" if value is None else cell_escape(value)

    def get_export_queryset(self, request=None):  # pragma: no cover - admin passes its queryset
        return Lead.objects.select_related("source", "owner__user", "lead_type")

    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        **kwargs,
    ):
        """Every row through lifecycle.intake.intake_bulk (normalize, validate, dedup, score,
        route); rejected rows show as skipped with their reason, so the rest can be confirmed."""
        from lifecycle.intake import intake_bulk

        source = kwargs.get("source") or self.intake_source
        headers = [h for h in (dataset.headers or []) if h not in ("_row", "_error")]
        result = Result()
        result.diff_headers = [*headers, "→"]
        result.total_rows = len(dataset)
        if source is None:
            result.append_base_error(Error(ValueError("Choose the source the leads come from.")))
            return result
        rows = list(dataset_rows(dataset))
        outcomes: dict[int, str] = {}
        user = kwargs.get("user")
        report = intake_bulk(
            rows,
            source=source,
            dry_run=dry_run,
            actor=user if getattr(user, "pk", None) else None,
            outcomes=outcomes,
        )
        rejected = {number: reason for number, _, reason in report.rejects}
        kinds = {"imported": RowResult.IMPORT_TYPE_NEW, "merged": RowResult.IMPORT_TYPE_UPDATE}
        for row in rows:
            number = row["_row"]
            row_result = RowResult()
            outcome = outcomes.get(number, "rejected")
            row_result.import_type = kinds.get(outcome, RowResult.IMPORT_TYPE_SKIP)
            label = {"imported": "new lead", "merged": "merged into an existing lead"}.get(
                outcome, f"rejected: {rejected.get(number, '')}"
            )
            row_result.diff = [row["_original"].get(h, "") for h in headers] + [label]
            result.append_row_result(row_result)
            result.increment_row_result_total(row_result)
        # Exact counts come from the pipeline (a repeat of a stored lead is a merge, too).
        result.totals[RowResult.IMPORT_TYPE_NEW] = report.imported
        result.totals[RowResult.IMPORT_TYPE_UPDATE] = report.merged
        result.totals[RowResult.IMPORT_TYPE_SKIP] = report.rejected
        result.intake_report = report
        return result


def dataset_rows(dataset: tablib.Dataset):
    """Rows of a dataset built by SpreadsheetCSV/SpreadsheetXLSX, in the importer's dict shape."""
    from leads.importing import header_map

    headers = list(dataset.headers or [])
    data_headers = [h for h in headers if h not in ("_row", "_error")]
    keys = header_map(data_headers)
    for position, values in enumerate(dataset, start=2):
        record = dict(zip(headers, values, strict=False))
        row = {
            "_row": int(record.get("_row") or position),
            "_original": {h: record.get(h, "") for h in data_headers},
        }
        if record.get("_error"):
            row["_error"] = record["_error"]
        else:
            for key, header in zip(keys, data_headers, strict=True):
                row[key] = record.get(header, "")
        yield row


def _dataset_from_bytes(data: bytes) -> tablib.Dataset:
    table = table_open(io.BytesIO(data))  # ImportFileError: the admin shows its message
    dataset = tablib.Dataset(headers=[*table.headers, "_row", "_error"])
    for row in table.rows:
        original = row["_original"]
        cells = [original.get(h, "") for h in table.headers]
        dataset.append([*cells, row["_row"], row.get("_error", "")])
    return dataset


class SpreadsheetCSV(base_formats.CSV):
    """CSV import in any encoding our users send (UTF-8/BOM, GB18030/GBK, UTF-16) and any common
    delimiter; export in UTF-8 with a BOM so Excel shows Chinese text correctly."""

    def is_binary(self):
        return True  # read the upload as bytes; leads.importing detects the encoding

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, str):
            in_stream = in_stream.encode("utf-8")
        return _dataset_from_bytes(in_stream)

    def export_data(self, dataset, **kwargs):
        text = super().export_data(dataset, **kwargs)
        return ("\ufeff" + text).encode("utf-8")


class SpreadsheetXLSX(base_formats.XLSX):
    def create_dataset(self, in_stream, **kwargs):
        return _dataset_from_bytes(in_stream)
