"""The seed's worked example, 基金商品留资用户, end to end with exact timestamps: valid 5 days,
+1 day at 待支付, +7 days at 已成交, silent 2 days, then released with the old owner remembered."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads.models import Lead, LeadEvent
from lifecycle.models import Stage
from lifecycle.services import activity_log, lead_stage_move
from lifecycle.sweeps import sweep_run
from tests.factories import LeadFactory, fund_lead_type, lead_hold

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DAY = timedelta(days=1)


@pytest.fixture
def fund():
    return fund_lead_type()


@pytest.fixture
def held(fund, rep_a):
    return lead_hold(lead=LeadFactory(lead_type=fund), rep=rep_a, now=T0)


def stage(fund, name):
    return Stage.objects.get(lead_type=fund, name=name)


def test_assignment_starts_the_first_contact_and_validity_clocks(held):
    assert held.first_contact_due == T0 + timedelta(hours=24)
    assert held.valid_until == T0 + 5 * DAY
    assert held.silent_until is None


def test_first_contact_stops_the_first_contact_clock(held, rep_a):
    activity_log(lead=held, kind="call", actor="rep", rep=rep_a, now=T0 + timedelta(hours=2))
    held.refresh_from_db()
    assert held.first_contact_due is None
    assert held.first_contacted_at == T0 + timedelta(hours=2)
    assert sweep_run(now=T0 + 2 * DAY)["first_contact_recalls"] == 0


def test_pending_payment_adds_one_day_once_even_when_moved_back_and_forth(held, fund, rep_a):
    activity_log(lead=held, kind="call", actor="rep", rep=rep_a, now=T0 + timedelta(hours=1))
    lead_stage_move(lead=held, stage=stage(fund, "开场白"), actor=rep_a.user, now=T0 + timedelta(hours=2))
    lead_stage_move(lead=held, stage=stage(fund, "介绍产品"), actor=rep_a.user, now=T0 + DAY)
    assert held.valid_until == T0 + 5 * DAY
    lead_stage_move(lead=held, stage=stage(fund, "待支付"), actor=rep_a.user, now=T0 + 2 * DAY)
    assert held.valid_until == T0 + 6 * DAY
    lead_stage_move(
        lead=held, stage=stage(fund, "介绍产品"), actor=rep_a.user, now=T0 + 2 * DAY + timedelta(hours=1)
    )
    lead_stage_move(
        lead=held, stage=stage(fund, "待支付"), actor=rep_a.user, now=T0 + 2 * DAY + timedelta(hours=2)
    )
    assert held.valid_until == T0 + 6 * DAY
    extension = LeadEvent.objects.get(
        lead=held, kind="stage_moved", data__to_stage="待支付", data__extension_seconds=86400
    )
    assert datetime.fromisoformat(extension.data["old_valid_until"]) == T0 + 5 * DAY
    assert datetime.fromisoformat(extension.data["new_valid_until"]) == T0 + 6 * DAY
    assert (
        extension.reason == "Stage 介绍产品 → 待支付; validity +1 day (2026-01-10 09:00 → 2026-01-11 09:00)"
    )


def test_validity_end_silences_for_two_days_then_releases_remembering_the_owner(held, fund, rep_a):
    activity_log(lead=held, kind="call", actor="rep", rep=rep_a, now=T0 + timedelta(hours=1))
    lead_stage_move(lead=held, stage=stage(fund, "待支付"), actor=rep_a.user, now=T0 + 2 * DAY)

    assert sweep_run(now=T0 + 6 * DAY - timedelta(minutes=1))["silenced"] == 0
    assert sweep_run(now=T0 + 6 * DAY)["silenced"] == 1
    held.refresh_from_db()
    assert (held.status, held.owner, held.silent_until) == (Lead.Status.SILENT, rep_a, T0 + 8 * DAY)
    event = held.events.exclude(to_status="").first()
    assert (
        event.reason
        == "Validity of 5 days ended (policy '基金商品留资用户'): silent for 2 days, then released"
    )

    assert sweep_run(now=T0 + 8 * DAY - timedelta(minutes=1))["released"] == 0
    assert sweep_run(now=T0 + 8 * DAY)["released"] == 1
    held.refresh_from_db()
    assert (held.status, held.owner, held.previous_owner) == (Lead.Status.POOLED, None, rep_a)
    assert held.released_at == T0 + 8 * DAY
    assert held.silent_until is None and held.valid_until is None


def test_deal_closed_adds_seven_days_and_converts(held, fund, rep_a):
    activity_log(lead=held, kind="call", actor="rep", rep=rep_a, now=T0 + timedelta(hours=1))
    lead_stage_move(lead=held, stage=stage(fund, "待支付"), actor=rep_a.user, now=T0 + 2 * DAY)
    lead_stage_move(lead=held, stage=stage(fund, "已成交"), actor=rep_a.user, now=T0 + 3 * DAY)
    held.refresh_from_db()
    assert held.valid_until == T0 + 13 * DAY
    assert (held.status, held.owner) == (Lead.Status.CONVERTED, rep_a)
    assert sweep_run(now=T0 + 7 * DAY)["silenced"] == 0
    held.refresh_from_db()
    assert held.status == Lead.Status.CONVERTED


def test_skipping_straight_to_deal_closed_grants_both_extensions(held, fund, rep_a):
    lead_stage_move(lead=held, stage=stage(fund, "已成交"), actor=rep_a.user, now=T0 + DAY)
    held.refresh_from_db()
    assert held.valid_until == T0 + 13 * DAY
