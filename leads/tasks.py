"""django-q2 tasks of the intake layer (entry points: thin, idempotent)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.core.files import File
from django.utils import timezone

from leads.importing import ImportFileError
from leads.models import ImportJob


def idempotency_keys_expire() -> int:
    """Hourly (lifecycle.schedules): the API's idempotency keys past their day."""
    from leads.services import idempotency_keys_expire as expire

    return expire()


def import_files_expire() -> int:
    """Hourly (lifecycle.schedules): uploaded import files past their retention, and files of
    the import folders that no job refers to any more."""
    from leads.services import import_files_expire as expire
    from leads.services import import_files_orphaned_delete

    return expire() + import_files_orphaned_delete()


def _lines_estimate(path: str) -> int:
    """Rough row count for the progress display (CSV: newlines; XLSX: unknown)."""
    count = 0
    with open(path, "rb") as fh:
        if fh.read(4) == b"PK\x03\x04":
            return 0
        fh.seek(0)
        for block in iter(lambda: fh.read(1 << 20), b""):
            count += block.count(b"\n")
    return max(count - 1, 0)


def import_job_run(job_id: int) -> str:
    """Run one queued ImportJob. Delivery is at least once, so the job is claimed by
    compare-and-set (queued -> running) and a second delivery does nothing; the import itself
    is idempotent too (a rerun merges instead of duplicating)."""
    from lifecycle.intake import IntakeBatchError, intake_file

    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING
    )
    if not claimed:
        return "already taken"
    job = ImportJob.objects.select_related("source").get(pk=job_id)
    path = job.file.path
    ImportJob.objects.filter(pk=job_id).update(total_rows=_lines_estimate(path))

    def progress(report) -> None:
        ImportJob.objects.filter(pk=job_id).update(
            processed_rows=report.total,
            imported=report.imported,
            merged=report.merged,
            rejected=report.rejected,
        )

    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / f"rejects-{job_id}.csv"
        try:
            outcome = intake_file(
                path=path, source=job.source, report_path=report_path, actor=job.created_by, on_batch=progress
            )
        except (ImportFileError, IntakeBatchError) as exc:
            ImportJob.objects.filter(pk=job_id).update(
                status=ImportJob.Status.FAILED, error=str(exc)[:5000], finished_at=timezone.now()
            )
            return f"failed: {exc}"
        report = outcome.report
        job.refresh_from_db()
        job.processed_rows, job.imported, job.merged, job.rejected = (
            report.total,
            report.imported,
            report.merged,
            report.rejected,
        )
        job.status = ImportJob.Status.DONE
        job.finished_at = timezone.now()
        if report.rejected:
            with open(report_path, "rb") as fh:
                job.report.save(f"rejects-{job_id}.csv", File(fh), save=False)
        job.save()
    return f"imported={report.imported} merged={report.merged} rejected={report.rejected}"
