"""Rule hits, the default rule's share and recall reasons against a hand-computed set."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm.selectors import DashboardFilters, DashboardScope, rule_hits, takeback_reasons
from tests.factories import AssignmentRuleFactory, LeadEventFactory, LeadFactory, RuleSetFactory

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 14, 12, 0, tzinfo=SH)
AT = NOW - timedelta(days=2)
FILTERS = DashboardFilters(start=date(2026, 3, 1), end=date(2026, 3, 14))
ALL = DashboardScope(team_ids=None)


@pytest.fixture
def rules_set(rep_a, team, source):
    rule_set = RuleSetFactory(name="Live", is_active=True)
    east = AssignmentRuleFactory(rule_set=rule_set, name="East region", position=1)
    ceo = AssignmentRuleFactory(rule_set=rule_set, name="CEO referral", position=2, strategy="direct")
    default = AssignmentRuleFactory(rule_set=rule_set, name="Everything else", position=3, is_default=True)
    lead = LeadFactory(team=team, source=source)
    for rule, n in ((east, 3), (ceo, 1), (default, 4), (None, 1)):
        for _ in range(n):
            LeadEventFactory(lead=lead, kind="route", rule=rule, at=AT)
    LeadEventFactory(lead=lead, kind="intake", rule=east, at=NOW - timedelta(days=60))  # before the range
    for kind, reason, n in (("sla_recall", "first contact late", 2), ("recall", "manager cleanup", 1)):
        for _ in range(n):
            LeadEventFactory(lead=lead, kind=kind, reason=reason, from_owner=rep_a, to_status="pooled", at=AT)
    return {"east": east, "ceo": ceo, "default": default}


def test_hits_per_rule_and_default_share(rules_set):
    result = rule_hits(scope=ALL, filters=FILTERS)
    hits = {r["rule"]: (r["hits"], r["share"]) for r in result["rows"]}
    assert hits == {"East region": (3, 37.5), "CEO referral": (1, 12.5), "Everything else": (4, 50.0)}
    assert (result["routed_with_rule"], result["routed_without_rule"]) == (8, 1)
    assert (result["default_hits"], result["default_share"]) == (4, 50.0)


def test_recall_reasons_most_frequent_first(rules_set):
    assert takeback_reasons(scope=ALL, filters=FILTERS) == [
        {"kind": "sla_recall", "reason": "first contact late", "events": 2},
        {"kind": "recall", "reason": "manager cleanup", "events": 1},
    ]


def test_other_teams_routing_is_not_counted_for_a_team_lead(rules_set, other_team):
    result = rule_hits(scope=DashboardScope(team_ids=(other_team.pk,)), filters=FILTERS)
    assert result["routed_with_rule"] == 0 and result["default_share"] is None
