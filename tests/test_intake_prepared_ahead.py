"""A big import validates its next batches in a forked process (prepare_ahead): the leads, owners,
scores, events and row accounting are exactly those of the sequential import, and failures
still name their batch and keep what committed before them (a batch failing while written:
test_intake_bulk.py)."""

import pytest
from django.db import transaction
from django.utils import timezone

from crm.pipelining import fork_available
from leads.importing import ImportFileError
from leads.models import Lead, LeadEvent
from lifecycle.intake import IntakeBatchError, intake_bulk, intake_file
from tests.test_intake_bulk import routing, rows, with_noise  # noqa: F401 (routing is a fixture)

pytestmark = [
    pytest.mark.skipif(not fork_available(), reason="needs fork (POSIX)"),
    pytest.mark.usefixtures("routing"),
]


def outcome():
    leads = sorted(
        Lead.objects.values_list(
            "phone_normalized", "email_normalized", "company", "score", "tier", "status", "owner_id"
        )
    )
    events = sorted(
        LeadEvent.objects.values_list("lead__phone_normalized", "kind", "to_status", "to_owner_id")
    )
    return leads, events


def test_preparing_ahead_gives_the_sequential_outcome(source):
    now = timezone.now()
    # Duplicates in later batches of rows from earlier ones, and merges inside a batch.
    batch = with_noise(rows(60)) + with_noise(rows(30, start=50))
    with transaction.atomic():
        sequential = intake_bulk(batch, source=source, now=now, batch_size=16)
        expected = outcome()
        transaction.set_rollback(True)

    outcomes: dict[int, str] = {}
    ahead = intake_bulk(batch, source=source, now=now, batch_size=16, prepare_ahead=True, outcomes=outcomes)

    assert (ahead.imported, ahead.merged, ahead.rejected) == (
        sequential.imported,
        sequential.merged,
        sequential.rejected,
    )
    assert ahead.rejects == sequential.rejects
    assert len(outcomes) == len(batch)
    assert outcome() == expected


def test_a_lead_merged_inside_its_batch_is_scored_on_its_merged_data(source):
    # The first row has no company; the second (same phone) brings one, worth 50 points.
    batch = [{"phone": "13900000001", "industry": "教育"}, {"phone": "139-0000-0001", "company": "恒通科技"}]

    intake_bulk(batch, source=source, prepare_ahead=True)

    lead = Lead.objects.get()
    assert lead.company == "恒通科技"
    assert lead.score == 50
    assert [item["rule"] for item in lead.score_breakdown] == ["有公司"]


def test_a_batch_failing_in_validation_names_its_batch(source, monkeypatch):
    from leads import normalize

    real = normalize.budget_parse

    def budget_parse(text):
        if text == "boom":
            raise ZeroDivisionError("unforeseen")
        return real(text)

    monkeypatch.setattr(normalize, "budget_parse", budget_parse)
    batch = rows(50)
    batch[33]["budget"] = "boom"

    with pytest.raises(IntakeBatchError, match="unforeseen") as caught:
        intake_bulk(batch, source=source, batch_size=10, prepare_ahead=True)

    assert caught.value.first_row == 31
    assert Lead.objects.count() == 30


def test_a_reader_error_mid_file_keeps_the_batches_before_it(source):
    def reader():
        yield from rows(25)
        raise ImportFileError("line 27: unreadable")

    with pytest.raises(ImportFileError, match="line 27"):
        intake_bulk(reader(), source=source, batch_size=10, prepare_ahead=True)

    assert Lead.objects.count() == 20


@pytest.fixture
def every_file_is_big(monkeypatch):
    """Files this small are read by one process; lower the bar and note each choice."""
    import lifecycle.intake as intake

    monkeypatch.setattr(intake, "PREPARE_AHEAD_MIN_BYTES", 1)
    forks = []
    real = intake.pipelined_map

    def spy(items, fn, *, fork):
        forks.append(fork)
        return real(items, fn, fork=fork)

    monkeypatch.setattr(intake, "pipelined_map", spy)
    return forks


def file_write(path, kind: str) -> None:
    rows = [["姓名", "手机", "公司"]] + [[f"客户{i}", f"139{i:08d}", "恒通科技"] for i in range(45)]
    rows += [["无效", "12345", ""], ["重复", "+86 139-0000-0001", ""]]
    if kind == "csv":
        path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="gb18030")
        return
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    book.save(path)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_big_file_is_prepared_ahead_and_fully_accounted_for(source, tmp_path, every_file_is_big, kind):
    path = tmp_path / f"leads.{kind}"
    file_write(path, kind)

    preview = intake_file(path=path, source=source, batch_size=10, dry_run=True).report
    assert not Lead.objects.exists()
    report = intake_file(path=path, source=source, batch_size=10).report

    assert every_file_is_big == [True, True]
    assert (preview.imported, preview.merged, preview.rejected) == (45, 1, 1)
    assert (report.imported, report.merged, report.rejected) == (45, 1, 1)
    assert Lead.objects.count() == 45
