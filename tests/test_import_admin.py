"""Managers import in the admin: upload, preview (with each rejected row's reason), confirm; a
large upload becomes a background ImportJob with progress and a rejects report."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.models import ImportJob, Lead
from leads.tasks import import_job_run

SAMPLES = Path(__file__).resolve().parent / "data" / "samples"


def upload(name):
    return SimpleUploadedFile(name, (SAMPLES / name).read_bytes())


@pytest.mark.parametrize(("name", "fmt"), [("leads_zh_gb18030.csv", 0), ("leads_zh.xlsx", 1)])
def test_preview_then_confirm_imports_the_file_through_the_pipeline(admin_client, source, name, fmt):
    preview = admin_client.post(
        "/admin/leads/lead/import/", {"import_file": upload(name), "format": fmt, "source": source.pk}
    )

    assert preview.status_code == 200
    assert Lead.objects.count() == 0
    html = preview.content.decode()
    assert "rejected: phone" in html
    assert html.count("new lead") == 27
    assert html.count("merged into an existing lead") == 5
    confirm = preview.context["confirm_form"]
    done = admin_client.post("/admin/leads/lead/process_import/", {**confirm.initial, "resource": ""})

    assert done.status_code == 302
    assert Lead.objects.count() == 27
    assert not Lead.objects.filter(status="new").exists()


def test_the_preview_escapes_html_from_the_file(admin_client, source):
    preview = admin_client.post(
        "/admin/leads/lead/import/",
        {"import_file": upload("leads_en_utf8.csv"), "format": 0, "source": source.pk},
    )

    html = preview.content.decode()
    assert "<script>alert('x')</script>" not in html
    assert "&lt;script&gt;" in html


def test_a_title_row_above_the_header_previews_the_leads_below_it(admin_client, source):
    content = "2026年11月展会客户名单,,\n姓名,手机,公司\n王伟,13800138000,恒通\n".encode("gb18030")

    preview = admin_client.post(
        "/admin/leads/lead/import/",
        {"import_file": SimpleUploadedFile("fair.csv", content), "format": 0, "source": source.pk},
    )

    html = preview.content.decode()
    assert html.count("new lead") == 1 and "rejected" not in html


def test_a_file_without_a_header_gets_a_form_error_naming_it(admin_client, source):
    content = "王伟,13800138000,恒通\n".encode()

    response = admin_client.post(
        "/admin/leads/lead/import/",
        {"import_file": SimpleUploadedFile("bare.csv", content), "format": 0, "source": source.pk},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "No header row" in response.content.decode()
    assert Lead.objects.count() == 0


def test_a_binary_upload_gets_a_form_error_not_a_crash(admin_client, source):
    junk = SimpleUploadedFile("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)

    response = admin_client.post(
        "/admin/leads/lead/import/",
        {"import_file": junk, "format": 0, "source": source.pk},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "This does not look like a text (CSV) file" in response.content.decode()
    assert Lead.objects.count() == 0


def test_a_large_upload_becomes_a_background_job(
    admin_client, source, settings, django_capture_on_commit_callbacks
):
    import leads.admin

    leads.admin.ADMIN_IMPORT_SYNC_MAX_BYTES = 100
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = admin_client.post(
                "/admin/leads/lead/import/",
                {"import_file": upload("leads_zh_utf8_bom.csv"), "format": 0, "source": source.pk},
            )
    finally:
        leads.admin.ADMIN_IMPORT_SYNC_MAX_BYTES = 2 * 1024 * 1024

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/admin/leads/importjob/{job.pk}/change/")
    assert len(callbacks) == 1
    assert Lead.objects.count() == 0


def test_an_import_job_runs_once_and_reports_progress(db, source, admin_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    job = ImportJob.objects.create(
        source=source, file=upload("leads_zh_gb18030.csv"), file_name="x.csv", created_by=admin_user
    )

    first = import_job_run(job.pk)
    second = import_job_run(job.pk)

    job.refresh_from_db()
    assert first == "imported=27 merged=5 rejected=3"
    assert second == "already taken"
    assert (job.status, job.processed_rows, job.imported, job.merged, job.rejected) == ("done", 35, 27, 5, 3)
    assert job.total_rows == 35
    assert "reason" in job.report.read().decode("utf-8-sig").splitlines()[0]
    assert Lead.objects.count() == 27


def test_the_rejects_report_downloads_from_the_job_page(admin_client, source, admin_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    job = ImportJob.objects.create(
        source=source, file=upload("leads_en_utf8.csv"), file_name="x.csv", created_by=admin_user
    )
    import_job_run(job.pk)

    page = admin_client.get(f"/admin/leads/importjob/{job.pk}/change/")
    response = admin_client.get(f"/admin/leads/importjob/{job.pk}/report/")

    assert f"/admin/leads/importjob/{job.pk}/report/" in page.content.decode()
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].endswith(",reason")
    assert len(text.strip().splitlines()) == 4
