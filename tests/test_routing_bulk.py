"""Bulk routing gives exactly the owners of routing the same leads one by one, in a constant
number of queries per batch."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assignment.services import lead_route, leads_route_bulk
from leads.models import Lead
from tests.factories import (
    AssignmentRuleFactory,
    LeadFactory,
    RepFactory,
    RuleSetFactory,
    SourceFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db

REGIONS = ["上海", "北京", "广东", "四川"]


def _world(*, east_cap=7, north_cap=5):
    east, north = TeamFactory(name="East"), TeamFactory(name="North")
    reps = [RepFactory(team=east, weight=w, max_open_leads=east_cap) for w in (3, 1, 2)]
    reps += [RepFactory(team=north, max_open_leads=north_cap, regions=["北京"]) for _ in range(3)]
    reps.append(RepFactory(team=north, max_open_leads=north_cap, regions=["北京"], daily_assign_quota=2))
    rs = RuleSetFactory()
    AssignmentRuleFactory(
        rule_set=rs,
        position=1,
        strategy="weighted",
        target_team=east,
        conditions=[{"field": "region", "op": "in", "value": ["上海"]}],
    )
    AssignmentRuleFactory(
        rule_set=rs,
        position=2,
        strategy="least_loaded",
        target_team=north,
        conditions=[{"field": "region", "op": "eq", "value": "北京"}],
    )
    AssignmentRuleFactory(
        rule_set=rs,
        position=3,
        strategy="profile_match",
        conditions=[{"field": "region", "op": "eq", "value": "广东"}],
    )
    AssignmentRuleFactory(rule_set=rs, position=4, strategy="round_robin", target_team=east)
    AssignmentRuleFactory(rule_set=rs, position=5, strategy="pool", is_default=True)
    return reps


def _leads(n, source):
    return [LeadFactory(status="new", source=source, region=REGIONS[i % 4]) for i in range(n)]


def _snapshot():
    return list(Lead.objects.order_by("pk").values_list("status", "owner__user__username", "pool_reason"))


def test_a_batch_spreads_over_every_rep_and_pools_what_exceeds_capacity():
    reps = _world()
    leads_route_bulk(_leads(60, SourceFactory()))
    routed = _snapshot()
    assert {owner for _, owner, _ in routed if owner} == {rep.user.username for rep in reps}
    assert sum(1 for status, _, _ in routed if status == "pooled") > 0
    assert all(status in ("assigned", "pooled") for status, _, _ in routed)


def test_bulk_and_one_by_one_agree_lead_for_lead(transactional_db):
    from django.db import transaction

    _world()
    source = SourceFactory()
    leads = _leads(40, source)

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            for lead in leads:
                lead_route(lead=lead)
            one_by_one = _snapshot()
            raise Rollback
    except Rollback:
        pass
    fresh = list(Lead.objects.order_by("pk"))
    assert all(lead.status == "new" for lead in fresh)
    leads_route_bulk(fresh)
    assert _snapshot() == one_by_one


def test_query_count_of_a_bulk_batch_does_not_grow_with_its_size():
    _world(east_cap=1000, north_cap=1000)
    source = SourceFactory()
    leads_route_bulk(_leads(30, source))  # warm-up: creates the rotation cursor rows once
    small, large = _leads(30, source), _leads(120, source)
    with CaptureQueriesContext(connection) as first:
        leads_route_bulk(small)
    with CaptureQueriesContext(connection) as second:
        leads_route_bulk(large)
    assert _engine_queries(second) == _engine_queries(first)


def _engine_queries(captured) -> int:
    """Everything but the waist's own lead UPDATEs and event INSERT: those are grouped by
    distinct new values (bounded by the number of reps) and chunked by the driver's limits."""
    skip = ('UPDATE "leads_lead"', 'INSERT INTO "leads_leadevent"')
    return sum(1 for q in captured.captured_queries if not q["sql"].startswith(skip))
