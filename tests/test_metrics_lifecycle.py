"""Life cycle per week: status mix of the week's new leads, flows, releases and reactivations."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from crm.selectors import DashboardFilters, DashboardScope, lifecycle_weekly
from tests.factories import LeadEventFactory, LeadFactory

SH = ZoneInfo("Asia/Shanghai")
FILTERS = DashboardFilters(start=date(2026, 3, 2), end=date(2026, 3, 15))  # two Monday-weeks
ALL = DashboardScope(team_ids=None)


def at(day, hour=10):
    return datetime(2026, 3, day, hour, 0, tzinfo=SH)


def test_weekly_flows_and_status_mix(rep_a, source):
    silent = LeadFactory(status="silent", owner=rep_a, team=rep_a.team, source=source, created_at=at(3))
    LeadFactory(status="assigned", owner=rep_a, team=rep_a.team, source=source, created_at=at(3))
    LeadFactory(status="pooled", team=rep_a.team, source=source, created_at=at(10))
    ev = {"lead": silent}
    LeadEventFactory(kind="route", from_status="new", to_status="assigned", to_owner=rep_a, at=at(4), **ev)
    LeadEventFactory(kind="silence", from_status="assigned", to_status="silent", at=at(5), **ev)
    LeadEventFactory(
        kind="release", from_status="silent", to_status="pooled", from_owner=rep_a, at=at(11), **ev
    )
    LeadEventFactory(
        kind="reactivate", from_status="pooled", to_status="assigned", to_owner=rep_a, at=at(12), **ev
    )
    # 00:30 on Monday the 9th in Shanghai is still Sunday in UTC: it belongs to the second week
    LeadEventFactory(kind="lost", from_status="assigned", to_status="lost", at=at(9, 0), **ev)
    first, second = lifecycle_weekly(scope=ALL, filters=FILTERS)
    assert (first["week"], second["week"]) == (date(2026, 3, 2), date(2026, 3, 9))
    assert (first["created"], first["now_silent"], first["now_assigned"], first["now_pooled"]) == (2, 1, 1, 0)
    assert (second["created"], second["now_pooled"]) == (1, 1)
    assert (first["assigned"], first["silenced"], first["released"], first["reactivated"]) == (1, 1, 0, 0)
    assert (second["released"], second["pooled"], second["reactivated"], second["assigned"]) == (1, 1, 1, 1)
    assert (first["lost"], second["lost"]) == (0, 1)
