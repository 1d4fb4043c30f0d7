"""An activity or an intake that may route a lead takes the routing mutex before it locks the
lead's row, as re-route, transfer and hand-over do (mutex, then reps, then leads). Otherwise a
manager holding the mutex and waiting for that lead deadlocks with it, and PostgreSQL aborts one
of the two after deadlock_timeout. Each test holds the mutex in one thread, lets the other one
queue behind a lock, then locks the lead the way a re-route's waist does."""

import threading
import time

import pytest
from django.db import connection, transaction

from assignment.models import RotationCursor
from assignment.routing import ROUTING_MUTEX_KEY, routing_mutex_acquire
from leads.models import Activity, Lead, ScoreBand, ScoringRule
from leads.services import lead_transition
from lifecycle.intake import intake_bulk
from lifecycle.services import activity_log
from tests.conftest import requires_postgres
from tests.factories import (
    AssignmentRuleFactory,
    LeadFactory,
    RuleSetFactory,
    RuleTargetFactory,
    lead_assigned_to,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def new_rules(rep_b):
    RotationCursor.objects.get_or_create(key=ROUTING_MUTEX_KEY)  # as the migration leaves it
    for tier, min_score, action in [("high", 80, "route"), ("medium", 50, "route"), ("low", 0, "route")]:
        ScoreBand.objects.update_or_create(tier=tier, defaults={"min_score": min_score, "action": action})
    ScoringRule.objects.create(name="预约演示", kind="behavioural", activity_kind="demo_request", points=90)
    rule_set = RuleSetFactory(name="新线索分配", trigger="new")
    rule = AssignmentRuleFactory(rule_set=rule_set, name="全部", position=1, strategy="round_robin")
    RuleTargetFactory(rule=rule, rep=rep_b)
    AssignmentRuleFactory(rule_set=rule_set, name="默认", position=2, strategy="pool", is_default=True)
    return rule_set


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        # pg_locks is read live; pg_stat_activity would be a snapshot kept for the transaction.
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0] > 0


def _race(*, lead_pk: int, other) -> list[Exception]:
    """A manager's transaction takes the mutex, waits until `other` (run in a second thread)
    queues behind a lock, then locks the lead. Returns what either side raised."""
    errors: list[Exception] = []
    holding = threading.Event()

    def manager():
        try:
            with transaction.atomic():
                routing_mutex_acquire()
                holding.set()
                deadline = time.monotonic() + 20
                while not _someone_waits_for_a_lock():
                    assert time.monotonic() < deadline, "the other side never queued behind a lock"
                    time.sleep(0.02)
                Lead.objects.select_for_update(no_key=True).get(pk=lead_pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            holding.set()
            connection.close()

    def intake():
        try:
            holding.wait(20)
            other()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=manager), threading.Thread(target=intake)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


@requires_postgres
def test_a_customer_activity_that_lifts_a_nurtured_lead_queues_behind_a_reroute(new_rules, rep_b):
    lead = LeadFactory(status="new")
    lead_transition(lead=lead, status=Lead.Status.NURTURING, owner=None, kind="route", reason="low")
    lead.refresh_from_db()

    errors = _race(
        lead_pk=lead.pk, other=lambda: activity_log(lead=lead, kind="demo_request", actor="customer")
    )

    assert errors == []
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == (Lead.Status.ASSIGNED, rep_b)


@requires_postgres
def test_an_import_batch_that_merges_a_stored_lead_queues_behind_a_reroute(new_rules, rep_a, source):
    stored = lead_assigned_to(rep_a, phone="+8613800138000", phone_normalized="+8613800138000")

    errors = _race(
        lead_pk=stored.pk,
        other=lambda: intake_bulk(
            [{"phone": "138 0013 8000", "industry": "SaaS"}, {"phone": "13900139000"}], source=source
        ),
    )

    assert errors == []
    stored.refresh_from_db()
    assert (stored.industry, stored.owner) == ("SaaS", rep_a)
    assert Lead.objects.filter(phone_normalized="+8613900139000").count() == 1


def test_a_lead_that_fell_silent_after_the_page_was_read_is_logged_with_the_mutex(rep_a, new_rules):
    """The caller's copy says assigned; the row says silent: the attempt is redone with the mutex
    and the activity is stored once."""
    lead = lead_assigned_to(rep_a)
    stale = Lead.objects.get(pk=lead.pk)
    lead_transition(lead=lead, status=Lead.Status.SILENT, owner=rep_a, kind="silence", reason="quiet")

    activity = activity_log(lead=stale, kind="call", actor="rep", rep=rep_a, caused_by_rep=True)

    assert list(Activity.objects.filter(lead=lead)) == [activity]
    stale.refresh_from_db()
    assert (stale.status, stale.owner) == (Lead.Status.ASSIGNED, rep_a)
    assert stale.last_rep_activity_at == activity.occurred_at
