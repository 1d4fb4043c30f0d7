"""leads_create_bulk, the waist for leads that do not exist yet: a lead created in its routed (or
nurtured) state is the same row, with the same clocks and the same event, as a lead stored as
"new" and then moved; a batch costs a constant number of queries; the lean writer stores every
field type as bulk_create would."""

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignment.services import leads_route_bulk
from leads.models import Lead, LeadEvent
from leads.normalize import _phone_parse, phone_normalize
from leads.services import (
    CLOCK_FIELDS,
    TransitionError,
    TransitionRequest,
    leads_create_bulk,
    leads_transition_bulk,
)
from leads.writing import rows_insert, rows_update
from lifecycle.intake import intake_bulk
from tests.factories import AssignmentRuleFactory, PolicyFactory, RuleSetFactory, RuleTargetFactory

pytestmark = pytest.mark.django_db

LEAD_STATE = (
    "status",
    "owner_id",
    "team_id",
    "pool_team_id",
    "pool_reason",
    "previous_owner_id",
    "assigned_at",
    "pooled_at",
    "closed_at",
    "updated_at",
    *CLOCK_FIELDS,
)
EVENT_STATE = (
    "kind",
    "from_owner_id",
    "to_owner_id",
    "from_status",
    "to_status",
    "actor_id",
    "rule_id",
    "reason",
    "data",
    "at",
)


@pytest.fixture
def routing(rep_a, rep_b):
    PolicyFactory(
        first_contact_sla=timedelta(hours=2),
        progress_window=timedelta(days=3),
        validity=timedelta(days=14),
        warning_lead_time=timedelta(minutes=30),
    )
    rule_set = RuleSetFactory()
    rule = AssignmentRuleFactory(rule_set=rule_set, name="rotation", strategy="round_robin", is_default=True)
    RuleTargetFactory(rule=rule, rep=rep_a)
    RuleTargetFactory(rule=rule, rep=rep_b)
    return rule


def _new_lead(source, i, now):
    return Lead(
        name=f"客户{i}",
        phone=f"139{i:08d}",
        phone_normalized=f"+86139{i:08d}",
        region="上海",
        budget=Decimal("12.50"),
        extra={"渠道": "展会", "n": i},
        source=source,
        status=Lead.Status.NEW,
        created_at=now,
    )


def _state(lead_ids):
    leads = [Lead.objects.values(*LEAD_STATE).get(pk=pk) for pk in lead_ids]
    events = [
        list(LeadEvent.objects.filter(lead_id=pk).exclude(to_status="").order_by("pk").values(*EVENT_STATE))
        for pk in lead_ids
    ]
    for event in (e for per_lead in events for e in per_lead):
        # a row id of the rule-set snapshot: sequences do not roll back on PostgreSQL
        (event["data"].get("explanation") or {}).pop("snapshot", None)
    return leads, events


def _outcome(route, source, now, count=3):
    """Route `count` leads in a savepoint that is rolled back, so both ways start alike."""
    with transaction.atomic():
        leads = [_new_lead(source, i, now) for i in range(count)]
        leads = route(leads)
        outcome = _state([lead.pk for lead in leads])
        transaction.set_rollback(True)
    return outcome


def test_a_lead_created_routed_equals_one_routed_after_creation(source, routing, manager):
    now = timezone.now()

    def route_after_creation(leads):
        Lead.objects.bulk_create(leads)
        leads_route_bulk(leads, trigger="new", now=now, actor=manager)
        return leads

    def route_unsaved(leads):
        decisions = leads_route_bulk(leads, trigger="new", now=now, actor=manager)
        assert all(d.applied for d in decisions)
        assert all(lead.pk and not lead._state.adding for lead in leads)
        return leads

    before = _outcome(route_after_creation, source, now)
    created = _outcome(route_unsaved, source, now)

    assert created == before
    leads, events = created
    assert {lead["status"] for lead in leads} == {"assigned"}
    assert len({lead["owner_id"] for lead in leads}) == 2  # the rotation moved as it does for stored leads
    assert all(lead["first_contact_due"] == now + timedelta(hours=2) for lead in leads)
    assert [len(e) for e in events] == [1, 1, 1]
    assert events[0][0]["from_status"] == "new" and events[0][0]["data"]["explanation"]


def test_nurturing_through_create_equals_a_transition_of_the_stored_lead(source):
    now = timezone.now()

    def request(lead):
        return TransitionRequest(
            lead=lead, status="nurturing", owner=None, kind="intake", reason="low score", data={"score": 5}
        )

    def after_creation(leads):
        Lead.objects.bulk_create(leads)
        leads_transition_bulk([request(lead) for lead in leads], now=now)
        return leads

    def created(leads):
        events = leads_create_bulk([request(lead) for lead in leads], now=now)
        assert [e.lead_id for e in events] == [lead.pk for lead in leads]
        return leads

    assert _outcome(created, source, now) == _outcome(after_creation, source, now)


def test_create_refuses_stored_leads_and_impossible_states(source, rep_a):
    now = timezone.now()
    stored = _new_lead(source, 1, now)
    stored.save()
    with pytest.raises(TransitionError):
        leads_create_bulk([TransitionRequest(lead=stored, status="pooled", owner=None, kind="k", reason="r")])
    with pytest.raises(TransitionError):
        leads_create_bulk(
            [
                TransitionRequest(
                    lead=_new_lead(source, 2, now), status="assigned", owner=None, kind="k", reason="r"
                )
            ]
        )
    assert Lead.objects.count() == 1


def test_a_batch_costs_a_constant_number_of_queries(source, rep_a, django_assert_max_num_queries):
    now = timezone.now()

    def requests(count, start):
        return [
            TransitionRequest(
                lead=_new_lead(source, start + i, now),
                status="assigned",
                owner=rep_a,
                kind="route",
                reason="r",
            )
            for i in range(count)
        ]

    leads_create_bulk(requests(2, 0), now=now)  # warm the per-process caches
    with CaptureQueriesContext(connection) as small:
        leads_create_bulk(requests(10, 100), now=now)
    with django_assert_max_num_queries(len(small)):
        leads_create_bulk(requests(500, 1000), now=now)
    assert Lead.objects.filter(status="assigned", owner=rep_a).count() == 512
    assert LeadEvent.objects.filter(kind="route", to_owner=rep_a, from_status="new").count() == 512


def test_intake_writes_each_new_lead_once(source, routing):
    rows = [{"name": f"客户{i}", "phone": f"139{i:08d}", "company": "恒通"} for i in range(50)]
    with CaptureQueriesContext(connection) as ctx:
        intake_bulk(rows, source=source)
    updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('UPDATE "leads_lead"')]
    assert updates == []
    assert Lead.objects.filter(status="new").count() == 0
    assert LeadEvent.objects.filter(from_status="new").count() == 50


def test_a_duplicate_inside_the_batch_is_merged_into_the_routed_lead(source, routing, capsys):
    rows = [{"phone": "13800138000", "name": "王伟"}, {"phone": "+86 138-0013-8000", "company": "恒通"}]

    report = intake_bulk(rows, source=source)

    assert (report.imported, report.merged) == (1, 1)
    lead = Lead.objects.get()
    merged = LeadEvent.objects.get(lead=lead, kind="merged")
    routed = LeadEvent.objects.get(lead=lead, from_status="new")
    assert merged.to_owner_id == lead.owner_id == routed.to_owner_id  # as when it comes in again later
    assert merged.pk > routed.pk
    call_command("check_invariants")
    assert capsys.readouterr().out.strip().endswith("invariants: 0 violations")


# --- the lean writer ---------------------------------------------------------------------------


def _fields(lead):
    return {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields if f.attname != "id"}


@pytest.mark.parametrize("count", [3, 150])
def test_rows_insert_stores_what_bulk_create_stores(source, rep_a, count):
    shanghai = ZoneInfo("Asia/Shanghai")
    when = timezone.now().astimezone(shanghai).replace(microsecond=123456)

    def make(i):
        return Lead(
            name=f"名字 {i} 'quoted' \\ back\tslash",
            company="",
            phone="",
            budget=Decimal("1234.5") if i % 2 else None,
            company_size=i or None,
            is_referral=bool(i % 2),
            extra={"嵌套": {"列表": [1, 2.5, None, True]}, "text": "a\nb\\c\"d'", "i": i},
            score_breakdown=[{"rule": "x", "points": i}],
            source=source,
            owner=rep_a if i % 2 else None,
            status=Lead.Status.ASSIGNED if i % 2 else Lead.Status.POOLED,
            created_at=when,
            valid_until=when + timedelta(days=i),
            cascade_step=i % 3,
        )

    ours = rows_insert([make(i) for i in range(count)])
    theirs = Lead.objects.bulk_create([make(i) for i in range(count)])

    assert all(lead.pk and not lead._state.adding and lead._state.db == "default" for lead in ours)
    assert len({lead.pk for lead in ours + theirs}) == 2 * count
    for a, b in zip(ours, theirs, strict=True):
        stored_a, stored_b = _fields(Lead.objects.get(pk=a.pk)), _fields(Lead.objects.get(pk=b.pk))
        stored_a.pop("updated_at"), stored_b.pop("updated_at")  # auto_now: stamped at each insert
        assert stored_a == stored_b
        assert stored_a["extra"]["嵌套"] == {"列表": [1, 2.5, None, True]}
        assert stored_a["created_at"] == when


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not enforce lengths")
def test_rows_insert_refuses_an_over_long_value_as_the_database_does(source):
    too_long = Lead(name="名" * 101, source=source, status="pooled", created_at=timezone.now())
    with pytest.raises(DataError), transaction.atomic():
        rows_insert([too_long])


def test_rows_insert_keeps_a_given_updated_at_only_when_asked(source):
    then = timezone.now() - timedelta(days=3)
    kept, stamped = (Lead(source=source, status="pooled", created_at=then, updated_at=then) for _ in range(2))
    rows_insert([kept], keep=("updated_at",))
    rows_insert([stamped])
    assert Lead.objects.get(pk=kept.pk).updated_at == then
    assert Lead.objects.get(pk=stamped.pk).updated_at > then


def test_rows_insert_events_take_the_key_of_a_lead_saved_after_assignment(source):
    lead = Lead(source=source, status="pooled", created_at=timezone.now())
    event = LeadEvent(lead=lead, kind="k", at=timezone.now(), data={"a": 1})
    rows_insert([lead])
    rows_insert([event])
    assert LeadEvent.objects.get(pk=event.pk).lead_id == lead.pk


def test_rows_update_writes_each_rows_own_values(source):
    leads = Lead.objects.bulk_create(
        [Lead(source=source, status="pooled", created_at=timezone.now(), name=str(i)) for i in range(4)]
    )
    for i, lead in enumerate(leads):
        lead.score, lead.extra, lead.budget = i * 10, {"i": i}, Decimal(i) / 4
    rows_update(leads, ["score", "extra", "budget"])
    stored = list(Lead.objects.order_by("pk").values_list("score", "extra", "budget"))
    assert stored == [(i * 10, {"i": i}, Decimal(i) / 4) for i in range(4)]


# --- phone numbers: the fast path is what phonenumbers says ------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "１３８００１３８０００",
        "19912345678",
        "14012345678",
        "17951234567",
        "17912345678",
        "16612345678",
        "12345678901",
        "+8613800138000",
        "0086 138 0013 8000",
        "010-12345678",
    ],
)
def test_phone_fast_path_agrees_with_phonenumbers(raw):
    import unicodedata

    text = unicodedata.normalize("NFKC", raw)
    if text.startswith("00"):
        text = "+" + text[2:]
    assert phone_normalize(raw) == _phone_parse.__wrapped__(text, "CN")


def test_a_new_lead_no_one_decided_is_created_pooled_with_the_reason(source):
    from lifecycle.intake import LEFTOVER_REASON, _leftovers_pool

    now = timezone.now()
    lead = _new_lead(source, 1, now)
    _leftovers_pool([lead], now=now, actor=None)

    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.status, stored.owner_id, stored.pooled_at) == ("pooled", None, now)
    event = LeadEvent.objects.get(lead=stored)
    assert (event.from_status, event.to_status, event.kind, event.reason) == (
        "new",
        "pooled",
        "intake",
        LEFTOVER_REASON,
    )
