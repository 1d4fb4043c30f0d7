"""The most specific policy for (lead type, rep level, heat) wins, window by window: an override
of one window keeps every other window of the less specific policies."""

from datetime import timedelta

import pytest

from lifecycle.policies import policy_preview, policy_resolve
from tests.factories import PolicyFactory, fund_lead_type

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def fund():
    return fund_lead_type()


def test_a_senior_override_changes_only_validity(fund):
    PolicyFactory(
        name="默认", first_contact_sla=timedelta(hours=48), progress_window=7 * DAY, validity=14 * DAY
    )
    PolicyFactory(name="基金 · 资深", lead_type=fund, rep_level="senior", validity=7 * DAY)
    senior = policy_resolve(lead_type_id=fund.pk, rep_level="senior", heat="warm")
    junior = policy_resolve(lead_type_id=fund.pk, rep_level="junior", heat="warm")
    assert (senior.get("validity"), senior.source("validity").policy_name) == (7 * DAY, "基金 · 资深")
    assert junior.get("validity") == 5 * DAY  # the 基金商品留资用户 policy
    assert senior.get("first_contact_sla") == timedelta(hours=24)  # fund policy beats the default
    assert senior.get("progress_window") == 7 * DAY  # only the default sets it


def test_lead_type_outranks_heat(fund):
    PolicyFactory(name="Hot form leads", heat="hot", first_contact_sla=timedelta(hours=12))
    resolved = policy_resolve(lead_type_id=fund.pk, rep_level="junior", heat="hot")
    assert resolved.source("first_contact_sla").policy_name == "基金商品留资用户"
    other = policy_resolve(lead_type_id=None, rep_level="junior", heat="hot")
    assert other.get("first_contact_sla") == timedelta(hours=12)


def test_an_inactive_policy_is_ignored(fund):
    PolicyFactory(name="off", lead_type=fund, rep_level="junior", validity=DAY, active=False)
    assert policy_resolve(lead_type_id=fund.pk, rep_level="junior", heat="").get("validity") == 5 * DAY


def test_the_preview_reads_like_the_seed(fund):
    assert policy_preview(lead_type=fund, rep_level="junior") == (
        "for a 基金商品留资用户 lead held by a junior rep: first contact due in 24 h, valid 5 days, "
        "+1 day at 待支付, +7 days at 已成交, silent 2 days, then released"
    )
