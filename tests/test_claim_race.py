"""Claim races on PostgreSQL with real threads: one lead, many clickers — exactly one wins and
the others are told who; many claimers, many leads — no lead owned twice, no cap broken."""

import threading
from collections import Counter

import pytest
from django.db import connection
from django.utils import translation

from assignment.models import ClaimPolicy
from assignment.services import lead_claim
from crm.models import Rep
from leads.models import Lead, LeadEvent
from leads.selectors import invariants_violations
from tests.conftest import requires_postgres
from tests.factories import LeadFactory, RepFactory, SourceFactory, TeamFactory

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run(threads_work):
    barrier = threading.Barrier(len(threads_work))
    results, errors = [], []

    def wrap(fn):
        try:
            barrier.wait()
            with translation.override("en"):  # each thread starts in the default language
                results.extend(fn())
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(fn,)) for fn in threads_work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def test_two_reps_clicking_the_same_lead_one_wins_the_other_is_told_who():
    team = TeamFactory(name="Race")
    reps = [RepFactory(team=team) for _ in range(12)]
    lead = LeadFactory(status="pooled", source=SourceFactory())
    results = _run(
        [lambda rep=rep: [(rep.pk, lead_claim(lead=Lead.objects.get(pk=lead.pk), rep=rep))] for rep in reps]
    )
    winners = [pk for pk, r in results if r.ok]
    assert len(winners) == 1
    winner = Rep.objects.get(pk=winners[0])
    losers = [r.message for _, r in results if not r.ok]
    assert losers == [f"Already taken by {winner.display_name}."] * 11
    assert Lead.objects.get(pk=lead.pk).owner_id == winner.pk
    assert LeadEvent.objects.filter(lead=lead, kind="claim").count() == 1


def test_many_claimers_never_double_own_or_break_a_cap():
    ClaimPolicy.objects.create(level="junior", daily_claim_cap=7, max_untouched=100)
    team = TeamFactory(name="Crowd")
    reps = [RepFactory(team=team, max_open_leads=5 if i % 2 else 100) for i in range(8)]
    source = SourceFactory()
    ids = [LeadFactory(status="pooled", source=source).pk for _ in range(60)]

    def claimer(rep, offset):
        def work():
            out = []
            for pk in ids[offset:] + ids[:offset]:
                out.append((rep.pk, lead_claim(lead=Lead.objects.get(pk=pk), rep=rep)))
            return out

        return work

    results = _run([claimer(rep, i * 7) for i, rep in enumerate(reps)])
    wins = Counter(pk for pk, r in results if r.ok)
    owned = Counter(Lead.objects.filter(pk__in=ids, status="assigned").values_list("owner_id", flat=True))
    assert wins == owned
    for rep in reps:
        assert owned[rep.pk] <= min(7, rep.max_open_leads)
    assert LeadEvent.objects.filter(lead_id__in=ids, kind="claim").count() == sum(owned.values())
    assert list(invariants_violations()) == []
