"""Next to the rules, a manager sees which ones are dead: never reached because an earlier rule
takes every lead, or with nobody left to pick. A healthy rule set shows no warnings."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from assignment.selectors import rule_set_warnings
from crm.models import Rep
from tests.factories import AssignmentRuleFactory, RepFactory, RuleSetFactory, RuleTargetFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def rule(rule_set, name, position, **fields):
    return AssignmentRuleFactory(rule_set=rule_set, name=name, position=position, **fields)


def default(rule_set, position=99):
    return rule(rule_set, "Default", position, strategy="pool", is_default=True)


def test_a_healthy_rule_set_has_no_warnings(rep_a):
    rs = RuleSetFactory()
    east = rule(
        rs, "East", 1, target_team=rep_a.team, conditions=[{"field": "region", "op": "eq", "value": "上海"}]
    )
    catch_all = rule(rs, "Everyone else, if anyone is free", 2, target_team=rep_a.team)
    last = default(rs)

    assert rule_set_warnings(rule_set=rs) == {east.pk: [], catch_all.pk: [], last.pk: []}


def test_rules_below_a_catch_all_that_pools_are_never_reached(rep_a):
    rs = RuleSetFactory()
    rule(rs, "VIP", 1, target_team=rep_a.team, conditions=[{"field": "score", "op": "gte", "value": 80}])
    everything = rule(rs, "Everything to the pool", 2, strategy="pool")
    east = rule(
        rs, "East", 3, target_team=rep_a.team, conditions=[{"field": "region", "op": "eq", "value": "上海"}]
    )
    last = default(rs)

    warnings = rule_set_warnings(rule_set=rs)

    expected = "Never reached: rule 2 “Everything to the pool” above it takes every lead."
    assert warnings[everything.pk] == []
    assert warnings[east.pk] == [expected]
    assert warnings[last.pk] == [expected]


def test_a_picking_catch_all_that_pools_when_nobody_is_free_also_hides_the_rules_below(rep_a):
    rs = RuleSetFactory()
    rule(rs, "Team, or the pool", 1, target_team=rep_a.team, on_no_eligible="pool")
    below = rule(rs, "Seniors", 2, target_level="senior")
    default(rs)

    assert rule_set_warnings(rule_set=rs)[below.pk][0].startswith("Never reached: rule 1")


def test_a_switched_off_or_scheduled_catch_all_hides_nothing(rep_a):
    rs = RuleSetFactory()
    rule(rs, "Old catch-all", 1, strategy="pool", active=False)
    rule(rs, "Nights to the pool", 2, strategy="pool", schedule_start="20:00", schedule_end="08:00")
    east = rule(rs, "East", 3, target_team=rep_a.team)
    default(rs)

    assert rule_set_warnings(rule_set=rs)[east.pk] == []


def test_a_team_with_nobody_left_has_nobody_to_pick(rep_a):
    gone = TeamFactory(name="Closed office")
    RepFactory(team=gone, status=Rep.Status.DEPARTED)
    seniors_only = TeamFactory(name="Juniors")
    RepFactory(team=seniors_only, level="junior")
    rs = RuleSetFactory()
    closed = rule(rs, "Closed office", 1, target_team=gone)
    seniors = rule(rs, "Senior juniors", 2, target_team=seniors_only, target_level="senior")
    default(rs)

    warnings = rule_set_warnings(rule_set=rs)

    assert warnings[closed.pk] == ["Nobody to pick: team “Closed office” has no reps who have not left."]
    assert warnings[seniors.pk] == ["Nobody to pick: team “Juniors” has no senior reps who have not left."]


def test_named_reps_who_left_are_named(rep_a, rep_b):
    rs = RuleSetFactory()
    some = rule(rs, "Two named", 1, strategy="weighted")
    RuleTargetFactory(rule=some, rep=rep_a)
    RuleTargetFactory(rule=some, rep=rep_b)
    only = rule(rs, "One named", 2, strategy="direct")
    RuleTargetFactory(rule=only, rep=rep_b)
    default(rs)
    Rep.objects.filter(pk=rep_b.pk).update(status=Rep.Status.DEPARTED)

    warnings = rule_set_warnings(rule_set=rs)

    assert warnings[some.pk] == ["Names reps who have left (they are skipped): Min Zhang."]
    assert warnings[only.pk] == ["Nobody to pick: every rep it names has left."]


def test_a_priority_lane_is_judged_by_its_named_rep_not_its_team(rep_a):
    empty = TeamFactory(name="Empty")
    rs = RuleSetFactory()
    lane = rule(rs, "CEO referral", 1, strategy="direct", target_team=empty, default_owner=rep_a)
    default(rs)

    assert rule_set_warnings(rule_set=rs)[lane.pk] == []
    Rep.objects.filter(pk=rep_a.pk).update(status=Rep.Status.DEPARTED)
    assert rule_set_warnings(rule_set=rs)[lane.pk] == ["Nobody to pick: every rep it names has left."]


def test_the_rule_set_page_shows_the_warnings_next_to_the_rules(manager, rep_a):
    rs = RuleSetFactory()
    rule(rs, "Everything to the pool", 1, strategy="pool")
    rule(rs, "East", 2, target_team=rep_a.team)
    default(rs)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(manager)

    page = client.get(reverse("admin:assignment_ruleset_change", args=[rs.pk]))

    assert page.status_code == 200
    assert page.content.decode().count("Never reached: rule 1 “Everything to the pool”") == 2


def test_the_warnings_are_in_the_managers_language(rep_a):
    rs = RuleSetFactory()
    rule(rs, "全部进公海", 1, strategy="pool")
    east = rule(rs, "华东", 2, target_team=rep_a.team)
    default(rs)

    with translation.override("zh-hans"):
        warnings = rule_set_warnings(rule_set=rs)

    assert warnings[east.pk] == ["永远不会生效：上方第 1 条规则“全部进公海”已接收所有线索。"]
