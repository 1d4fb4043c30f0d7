"""延迟分配: a lead offered to the tier-1 team pool moves to the tier-2 pool, then tier 3, when
nobody claims it in time, and finally to the public pool; a claim on the way ends the cascade."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads.models import Lead
from leads.services import lead_transition
from lifecycle.sweeps import sweep_run
from tests.factories import LeadFactory, PolicyFactory, TeamFactory, lead_hold

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
STEP = timedelta(hours=4)


@pytest.fixture
def tiers():
    PolicyFactory(name="延迟分配", cascade_window=STEP)
    return [TeamFactory(name=f"Tier {n}", tier=n) for n in (1, 2, 3)]


def offered(tier1) -> Lead:
    lead = LeadFactory(status="new")
    lead_transition(
        lead=lead,
        status=Lead.Status.POOLED,
        owner=None,
        kind="route",
        reason="cascade rule",
        now=T0,
        pool_team=tier1,
        pool_reason="cascade",
        cascade_step=1,
    )
    lead.refresh_from_db()
    return lead


def test_an_unclaimed_lead_cascades_through_three_tiers_to_the_public_pool(tiers):
    lead = offered(tiers[0])
    assert lead.cascade_due == T0 + STEP
    seen = []
    for n in range(1, 5):
        assert sweep_run(now=T0 + n * STEP - timedelta(minutes=1))["cascaded"] == 0
        assert sweep_run(now=T0 + n * STEP)["cascaded"] == (1 if n <= 3 else 0)
        lead.refresh_from_db()
        seen.append(
            (lead.pool_team.name if lead.pool_team else "public", lead.cascade_step, lead.cascade_due)
        )
    assert seen == [
        ("Tier 2", 2, T0 + 2 * STEP),
        ("Tier 3", 3, T0 + 3 * STEP),
        ("public", 4, None),
        ("public", 4, None),
    ]
    assert lead.status == Lead.Status.POOLED
    reasons = list(lead.events.filter(kind="cascade_step").order_by("id").values_list("reason", flat=True))
    assert reasons[0] == (
        "Nobody claimed or progressed it within 4 h in Tier 1's pool (policy '延迟分配'): offered to Tier 2's pool (tier 2)"
    )
    assert reasons[-1].endswith("offered to the public pool")


def test_a_claim_during_the_cascade_ends_it(tiers, rep_a):
    lead = offered(tiers[0])
    lead_hold(lead=lead, rep=rep_a, now=T0 + timedelta(hours=1), kind="claim")
    assert (lead.cascade_due, lead.cascade_step) == (None, 0)
    assert sweep_run(now=T0 + STEP)["cascaded"] == 0
