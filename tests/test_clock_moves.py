"""How the clock columns move with what happens to a lead: a transfer starts a new holding, an
imported activity counts from when it happened (and not before the holding began), a pooled lead
carries no owner clocks, and a won lead keeps its extended hold until it quietly ends."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads.models import Lead
from leads.services import lead_transition
from lifecycle.services import activity_log
from lifecycle.sweeps import sweep_run
from tests.factories import LeadFactory, PolicyFactory, lead_hold

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
H = timedelta(hours=1)


@pytest.fixture(autouse=True)
def policy():
    return PolicyFactory(
        name="默认", first_contact_sla=24 * H, progress_window=timedelta(days=7), validity=timedelta(days=14)
    )


def test_a_transfer_starts_a_new_holding_for_the_new_rep(rep_a, rep_b):
    lead = lead_hold(lead=LeadFactory(), rep=rep_a, now=T0)
    activity_log(lead=lead, kind="call", actor="rep", rep=rep_a, now=T0 + H)
    lead_hold(lead=lead, rep=rep_b, now=T0 + 2 * H, kind="transfer")
    assert lead.first_contacted_at is None
    assert lead.first_contact_due == T0 + 26 * H
    assert lead.valid_until == T0 + 2 * H + timedelta(days=14)


def test_an_imported_call_counts_from_when_it_happened(rep_a):
    lead = lead_hold(lead=LeadFactory(), rep=rep_a, now=T0)
    activity_log(lead=lead, kind="call", actor="rep", rep=rep_a, occurred_at=T0 + H, now=T0 + 5 * H)
    lead.refresh_from_db()
    assert lead.first_contacted_at == T0 + H
    assert lead.progress_due == T0 + H + timedelta(days=7)


def test_a_call_from_before_the_holding_is_not_first_contact(rep_a):
    lead = lead_hold(lead=LeadFactory(), rep=rep_a, now=T0)
    activity_log(lead=lead, kind="call", actor="rep", rep=rep_a, occurred_at=T0 - 3 * H, now=T0 + H)
    lead.refresh_from_db()
    assert lead.first_contacted_at is None
    assert lead.first_contact_due == T0 + 24 * H


def test_a_pooled_lead_carries_no_owner_clocks(rep_a):
    lead = lead_hold(lead=LeadFactory(), rep=rep_a, now=T0)
    lead_transition(lead=lead, status="pooled", owner=None, kind="recall", reason="manager", now=T0 + H)
    lead.refresh_from_db()
    assert (lead.first_contact_due, lead.progress_due, lead.valid_until, lead.warn_at) == (
        None,
        None,
        None,
        None,
    )


def test_a_won_leads_hold_ends_quietly(rep_a):
    lead = lead_hold(lead=LeadFactory(), rep=rep_a, now=T0)
    lead_transition(lead=lead, status="converted", owner=rep_a, kind="converted", reason="won", now=T0 + H)
    lead.refresh_from_db()
    assert lead.valid_until == T0 + timedelta(days=14)
    counts = sweep_run(now=T0 + timedelta(days=14))
    assert (counts["silenced"], counts["clocks_cleared"]) == (0, 1)
    lead.refresh_from_db()
    assert (lead.status, lead.valid_until) == (Lead.Status.CONVERTED, None)
