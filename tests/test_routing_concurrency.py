"""16 concurrent intakes on PostgreSQL (real threads, real row locks): round robin never gives
the same turn twice and capacity is never exceeded."""

import threading
from collections import Counter

import pytest
from django.db import connection

from assignment.services import lead_route
from leads.models import Lead
from leads.selectors import invariants_violations
from tests.conftest import requires_postgres
from tests.factories import (
    AssignmentRuleFactory,
    LeadFactory,
    RepFactory,
    RuleSetFactory,
    SourceFactory,
    TeamFactory,
    lead_assigned_to,
)

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


def _route_all_concurrently(lead_ids):
    barrier = threading.Barrier(THREADS)
    errors = []

    def work(chunk):
        try:
            barrier.wait()
            for pk in chunk:
                lead_route(lead=Lead.objects.get(pk=pk))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    chunks = [lead_ids[i::THREADS] for i in range(THREADS)]
    threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _world(*, reps: int, cap: int):
    team = TeamFactory(name="Concurrency")
    members = [RepFactory(team=team, max_open_leads=cap) for _ in range(reps)]
    rs = RuleSetFactory()
    AssignmentRuleFactory(rule_set=rs, position=1, strategy="round_robin", target_team=team)
    AssignmentRuleFactory(rule_set=rs, position=2, strategy="pool", is_default=True)
    return members


def test_concurrent_intakes_share_round_robin_turns_fairly():
    reps = _world(reps=5, cap=1000)
    source = SourceFactory()
    ids = [LeadFactory(status="new", source=source).pk for _ in range(96)]
    _route_all_concurrently(ids)
    counts = Counter(Lead.objects.filter(pk__in=ids).values_list("owner_id", flat=True))
    assert set(counts) == {r.pk for r in reps}
    assert set(counts.values()) <= {96 // 5, 96 // 5 + 1}
    assert list(invariants_violations()) == []


def test_concurrent_intakes_never_exceed_capacity():
    reps = _world(reps=4, cap=5)
    source = SourceFactory()
    ids = [LeadFactory(status="new", source=source).pk for _ in range(48)]
    _route_all_concurrently(ids)
    counts = Counter(Lead.objects.filter(pk__in=ids, status="assigned").values_list("owner_id", flat=True))
    assert counts == {r.pk: 5 for r in reps}
    assert Lead.objects.filter(pk__in=ids, status="pooled").count() == 48 - 20
    assert list(invariants_violations()) == []


def test_routing_that_waited_for_a_claim_counts_the_claimed_lead():
    """A claim holds the rep's row while it gives the rep a lead; routing waits for that row and
    must then count the claimed lead: the rep's last free place is taken, so routing pools."""
    from django.db import transaction

    from assignment.services import lead_claim

    (rep,) = _world(reps=1, cap=2)
    source = SourceFactory()
    lead_assigned_to(rep, source=source)  # one place left
    pooled = LeadFactory(status="pooled", source=source)
    fresh = LeadFactory(status="new", source=source)
    claim_holds_rep = threading.Event()
    errors = []

    def claim():
        try:
            with transaction.atomic():
                assert lead_claim(lead=pooled, rep=rep).ok
                claim_holds_rep.set()
                threading.Event().wait(1.0)  # routing queues behind the rep lock meanwhile
        except Exception as exc:  # surfaced below
            errors.append(exc)
            claim_holds_rep.set()
        finally:
            connection.close()

    def route():
        try:
            claim_holds_rep.wait(10)
            lead_route(lead=Lead.objects.get(pk=fresh.pk))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim), threading.Thread(target=route)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert Lead.objects.filter(owner=rep, status="assigned").count() == 2
    assert Lead.objects.get(pk=fresh.pk).status == "pooled"
    assert list(invariants_violations()) == []
