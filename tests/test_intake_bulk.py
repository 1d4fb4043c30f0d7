"""intake_bulk: every row accounted for, one transaction per batch, a constant number of queries
per batch, and the same outcome as taking the rows in one by one."""

import multiprocessing

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads import services as lead_services
from leads.models import Lead, LeadEvent, ScoringRule
from lifecycle.intake import IntakeBatchError, intake_bulk, lead_intake
from tests.factories import AssignmentRuleFactory, RuleSetFactory, RuleTargetFactory


def rows(count, *, start=0):
    out = []
    for i in range(start, start + count):
        out.append(
            {
                "name": f"客户{i}",
                "phone": f"139{i:08d}",
                "email": f"c{i}@example.cn" if i % 2 else "",
                "company": "恒通科技" if i % 3 else "",
                "industry": "SaaS" if i % 4 else "教育",
                "role": "CEO" if i % 5 == 0 else "工程师",
                "region": "杭州",
            }
        )
    return out


@pytest.fixture
def routing(rep_a, rep_b):
    rule_set = RuleSetFactory()
    rule = AssignmentRuleFactory(
        rule_set=rule_set, name="team rotation", strategy="round_robin", is_default=True
    )
    RuleTargetFactory(rule=rule, rep=rep_a)
    RuleTargetFactory(rule=rule, rep=rep_b)
    ScoringRule.objects.create(name="有公司", field="company", operator="not_empty", points=50)
    ScoringRule.objects.create(name="SaaS", field="industry", operator="eq", value="SaaS", points=30)
    return rule


def with_noise(batch):
    """Append duplicates in other formats and rows without a usable contact."""
    dups = [
        {"phone": "+86 " + r["phone"][:3] + "-" + r["phone"][3:7] + "-" + r["phone"][7:], "company": "x"}
        for r in batch[:5]
    ]
    bad = [{"name": "nobody"}, {"phone": "12345"}, {"email": "not-an-email"}]
    return batch + dups + bad


def test_every_row_is_imported_merged_or_rejected(source, routing):
    report = intake_bulk(with_noise(rows(40)), source=source, batch_size=16)

    assert (report.imported, report.merged, report.rejected) == (40, 5, 3)
    assert report.imported + report.merged + report.rejected == report.total == 48
    assert [number for number, _, _ in report.rejects] == [46, 47, 48]


def test_no_lead_leaves_intake_still_new(source, routing):
    intake_bulk(rows(30), source=source)

    assert not Lead.objects.filter(status="new").exists()
    assert (
        Lead.objects.filter(status="assigned").count() + Lead.objects.filter(status="nurturing").count() == 30
    )


def test_duplicates_inside_one_batch_are_merged(source, routing):
    batch = [{"phone": "13800138000", "name": "王伟"}, {"phone": "138-0013-8000", "company": "恒通"}]

    report = intake_bulk(batch, source=source)

    assert (report.imported, report.merged) == (1, 1)
    lead = Lead.objects.get()
    assert (lead.name, lead.company) == ("王伟", "恒通")
    assert lead.activities.filter(kind="came_again").count() == 1


def test_the_reads_per_batch_do_not_grow_with_the_rows(source, routing):
    """Writes are bulk statements that Django splits by the backend's parameter limit (999 on
    SQLite); reads must not depend on the number of rows at all."""

    def reads(count, start):
        with CaptureQueriesContext(connection) as ctx:
            intake_bulk(with_noise(rows(count, start=start)), source=source, batch_size=1000)
        return sum(q["sql"].startswith("SELECT") for q in ctx.captured_queries)

    reads(20, 0)  # first run creates the rotation cursors
    # Both above routing's preload threshold (a batch of a few leads reads each rule's reps and
    # cursor as it needs them, which for a handful is fewer statements than preloading all).
    small = reads(100, 100)
    large = reads(400, 1000)

    assert large == small


def test_a_batch_stays_within_its_query_budget(source, routing, django_assert_max_num_queries):
    batch = with_noise(rows(300))
    writes_chunked = 3 * (300 // 19 + 1) if connection.vendor == "sqlite" else 0

    with django_assert_max_num_queries(45 + writes_chunked):
        intake_bulk(batch, source=source, batch_size=1000)


@pytest.mark.parametrize("prepare_ahead", [False, True], ids=["sequential", "prepared_ahead"])
def test_a_failing_batch_is_rolled_back_whole(source, routing, prepare_ahead):
    def explode(lead, **kwargs):
        if lead.name == "客户25":
            raise RuntimeError("disk full")
        return ()

    lead_services.transition_hook_register(explode)
    try:
        with pytest.raises(IntakeBatchError) as caught:
            intake_bulk(rows(400), source=source, batch_size=20, prepare_ahead=prepare_ahead)
    finally:
        lead_services._transition_hooks.remove(explode)

    assert Lead.objects.count() == 20
    assert caught.value.report.imported == 20
    assert caught.value.first_row == 21
    assert not multiprocessing.active_children()  # the reader process ended with the import
    assert not Lead.objects.filter(name="客户20").exists()


def test_the_single_path_and_the_bulk_path_agree(source, routing):
    now = timezone.now()
    batch = with_noise(rows(12))

    def state():
        return sorted(Lead.objects.values_list("phone_normalized", "company", "score", "tier", "status"))

    bulk = intake_bulk(batch, source=source, now=now)
    bulk_state = state()
    LeadEvent.objects.all().delete()
    Lead.objects.all().delete()
    singles = [lead_intake(data=row, source=source, now=now) for row in batch]

    assert (bulk.imported, bulk.merged, bulk.rejected) == (
        sum(r.created for r in singles),
        sum(r.merged for r in singles),
        sum(bool(r.errors) for r in singles),
    )
    assert state() == bulk_state


def test_every_new_lead_has_an_intake_or_routing_event(source, routing):
    intake_bulk(rows(10), source=source)

    assert LeadEvent.objects.exclude(to_status="").values("lead").distinct().count() == 10


def test_a_batch_of_no_rows_is_refused_rather_than_reading_nothing(source, routing):
    with pytest.raises(ValueError, match="batch_size"):
        intake_bulk(rows(3), source=source, batch_size=0)
    assert not Lead.objects.exists()
