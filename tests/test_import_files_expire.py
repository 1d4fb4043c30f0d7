"""Uploaded import files and rejects reports are copies of customers' contact data: they are
deleted once their import is older than the retention, the job and its counts stay, and a
second run (or a rolled-back one) changes nothing."""

import os
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from leads.models import ImportJob
from leads.tasks import import_files_expire


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_FILE_RETENTION_DAYS = 30
    return tmp_path


def job(source, *, status=ImportJob.Status.DONE, finished_days_ago=31, report=True) -> ImportJob:
    job = ImportJob(source=source, file_name="leads.csv", status=status, imported=3, rejected=1)
    job.file.save("leads.csv", ContentFile("姓名,手机\n王伟,13800138000\n".encode()), save=False)
    if report:
        job.report.save("rejects.csv", ContentFile(b"name,reason\n"), save=False)
    if finished_days_ago is not None:
        job.finished_at = timezone.now() - timedelta(days=finished_days_ago)
    job.save()
    return job


def stored(job: ImportJob) -> list[bool]:
    return [bool(f) and f.storage.exists(f.name) for f in (job.file, job.report)]


def test_files_of_an_import_older_than_the_retention_are_deleted_and_the_job_kept(
    source, django_capture_on_commit_callbacks
):
    old = job(source)
    names = [old.file.name, old.report.name]

    with django_capture_on_commit_callbacks(execute=True):
        assert import_files_expire() == 1

    old.refresh_from_db()
    assert (old.file.name, old.report.name) == ("", "")
    assert not any(old.file.storage.exists(name) for name in names)
    assert (old.status, old.imported, old.rejected) == (ImportJob.Status.DONE, 3, 1)


def test_recent_running_and_queued_imports_keep_their_files(source, django_capture_on_commit_callbacks):
    recent = job(source, finished_days_ago=29)
    running = job(source, status=ImportJob.Status.RUNNING, finished_days_ago=None)
    failed_long_ago = job(source, status=ImportJob.Status.FAILED, report=False)

    with django_capture_on_commit_callbacks(execute=True):
        assert import_files_expire() == 1

    assert stored(recent) == [True, True]
    assert stored(running) == [True, True]
    failed_long_ago.refresh_from_db()
    assert failed_long_ago.file.name == ""


def test_a_second_run_changes_nothing(source, django_capture_on_commit_callbacks):
    job(source)
    with django_capture_on_commit_callbacks(execute=True):
        import_files_expire()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert import_files_expire() == 0
    assert callbacks == []


def test_a_rolled_back_run_deletes_no_file(source):
    old = job(source, finished_days_ago=400)
    for f in (old.file, old.report):  # written long ago: the orphan sweep would take them too
        stamp = (timezone.now() - timedelta(days=400)).timestamp()
        os.utime(f.path, (stamp, stamp))

    with transaction.atomic():
        assert import_files_expire() == 3  # the job, then its two files as orphans of the cleared job
        transaction.set_rollback(True)

    old.refresh_from_db()
    assert stored(old) == [True, True]


@pytest.mark.parametrize(
    ("language", "words"), [("en", "deleted 30 days after the import"), ("zh-hans", "已在导入 30 天后删除")]
)
def test_the_admin_says_the_report_was_deleted(
    source, django_capture_on_commit_callbacks, admin_client, language, words
):
    old = job(source)
    with django_capture_on_commit_callbacks(execute=True):
        import_files_expire()

    page = admin_client.get(f"/admin/leads/importjob/{old.pk}/change/", HTTP_ACCEPT_LANGUAGE=language)

    assert page.status_code == 200
    assert words in page.content.decode()
    assert f"/{old.pk}/report/" not in page.content.decode()


def test_old_files_no_job_refers_to_are_deleted_and_new_ones_kept(
    source, media, django_capture_on_commit_callbacks
):
    import time

    kept = job(source, finished_days_ago=1)
    (media / "imports").mkdir(exist_ok=True)
    orphan = media / "imports" / "left-by-a-crash.csv"
    orphan.write_bytes(b"name,phone\n")
    old = time.time() - 31 * 86400
    os.utime(orphan, (old, old))
    just_uploaded = media / "imports" / "uploading-now.csv"
    just_uploaded.write_bytes(b"name,phone\n")

    with django_capture_on_commit_callbacks(execute=True):
        assert import_files_expire() == 1

    assert not orphan.exists()
    assert just_uploaded.exists()
    assert stored(kept) == [True, True]
