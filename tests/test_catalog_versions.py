"""Configuration is kept in process memory (crm.catalogs) and reloaded whenever the database's
triggers say it changed: whoever wrote it (the admin, a queryset update without signals, raw
SQL) and however the write ended (an edit rolled back leaves no stale copy behind)."""

import json
import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignment.models import AssignmentRule
from assignment.services import lead_route
from crm.catalogs import catalog_versions, catalogs_pinned, reps_by_id
from crm.models import CatalogVersion, Rep
from leads.models import ScoreBand, ScoringRule, Source
from leads.services import source_token_rotate
from lifecycle.intake import lead_intake
from tests.factories import (
    AssignmentRuleFactory,
    LeadFactory,
    LeadTypeFactory,
    PolicyFactory,
    RepFactory,
    RuleSetFactory,
    RuleTargetFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db

COUNTERS = {"hit_count", "last_matched_at"}


@pytest.fixture
def to_rep_a(rep_a):
    """The live rule set: one default rule sending every lead to rep_a."""
    rule = AssignmentRuleFactory(rule_set=RuleSetFactory(), strategy="round_robin", is_default=True)
    RuleTargetFactory(rule=rule, rep=rep_a)
    return rule


def _company_rule(*, points: int) -> ScoringRule:
    return ScoringRule.objects.create(
        name="has company", field="company", operator="not_empty", points=points
    )


def _score(source, phone: str) -> int:
    result = lead_intake(data={"phone": phone, "company": "恒通"}, source=source)
    assert result.ok, result.errors
    return result.lead.score


def test_a_scoring_rule_changed_by_a_queryset_update_reaches_the_next_intake(source):
    rule = _company_rule(points=30)
    assert _score(source, "13800138001") == 30

    ScoringRule.objects.filter(pk=rule.pk).update(points=45)  # no signal fires

    assert _score(source, "13800138002") == 45


def test_a_scoring_rule_changed_by_raw_sql_reaches_the_next_intake(source):
    rule = _company_rule(points=30)
    assert _score(source, "13800138001") == 30

    with connection.cursor() as cursor:
        cursor.execute("UPDATE leads_scoringrule SET active = %s WHERE id = %s", [False, rule.pk])

    assert _score(source, "13800138002") == 0


def test_an_edit_rolled_back_leaves_no_stale_copy_behind(source):
    rule = _company_rule(points=30)
    assert _score(source, "13800138001") == 30

    with pytest.raises(RuntimeError), transaction.atomic():
        ScoringRule.objects.filter(pk=rule.pk).update(points=99)
        assert _score(source, "13800138002") == 99  # cached under the uncommitted version
        raise RuntimeError("roll back")

    assert _score(source, "13800138003") == 30


@pytest.mark.parametrize(
    ("catalog", "make", "change"),
    [
        ("sources", lambda: SourceFactory(), lambda o: Source.objects.filter(pk=o.pk).update(heat="cold")),
        ("lead_types", lambda: LeadTypeFactory(), lambda o: type(o).objects.filter(pk=o.pk).update(name="x")),
        (
            "scoring",
            lambda: ScoringRule.objects.create(name="r", field="company", operator="not_empty", points=1),
            lambda o: ScoringRule.objects.filter(pk=o.pk).update(points=2),
        ),
        (
            "scoring",
            lambda: (
                ScoreBand.objects.filter(tier="high").delete()
                and ScoreBand.objects.create(tier="high", min_score=95)
            ),
            lambda o: ScoreBand.objects.filter(pk=o.pk).update(min_score=90),
        ),
        ("policies", lambda: PolicyFactory(), lambda o: type(o).objects.filter(pk=o.pk).update(active=False)),
        ("rules", lambda: RuleSetFactory(), lambda o: type(o).objects.filter(pk=o.pk).update(notes="n")),
        (
            "rules",
            lambda: AssignmentRuleFactory(rule_set=RuleSetFactory()),
            lambda o: AssignmentRule.objects.filter(pk=o.pk).update(position=7),
        ),
        (
            "rules",
            lambda: RuleTargetFactory(rule=AssignmentRuleFactory(rule_set=RuleSetFactory())),
            lambda o: type(o).objects.filter(pk=o.pk).update(weight=5),
        ),
    ],
)
def test_every_insert_update_and_delete_on_a_catalogue_table_gives_it_a_new_version(catalog, make, change):
    before = catalog_versions()[catalog]
    obj = make()
    created = catalog_versions()[catalog]
    change(obj)
    changed = catalog_versions()[catalog]
    type(obj).objects.filter(pk=obj.pk).delete()
    deleted = catalog_versions()[catalog]

    assert len({before, created, changed, deleted}) == 4


def test_routing_bumps_hit_counters_without_invalidating_the_cached_rules(rep_a, to_rep_a):
    rule = to_rep_a
    lead_route(lead=LeadFactory())
    before = catalog_versions()["rules"]

    decision = lead_route(lead=LeadFactory())

    rule.refresh_from_db()
    assert decision.owner == rep_a and rule.hit_count == 2
    assert catalog_versions()["rules"] == before


def test_every_rule_column_but_the_hit_counters_is_watched():
    """A column added to AssignmentRule must be added to the watch (a new migration)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'catalog_assignment_assignmentrule'"
            )
        else:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name = 'catalog_assignment_assignmentrule_update'"
            )
        definition = cursor.fetchone()[0]
    watched = definition.split("UPDATE OF", 1)[1].split(" ON ", 1)[0].split(" OR ", 1)[0]
    watched_columns = {c.strip().strip('"') for c in watched.split(",")}
    columns = {f.column for f in AssignmentRule._meta.concrete_fields}

    assert watched_columns == columns - COUNTERS


def test_a_catalogue_without_a_version_row_is_read_afresh_every_time(source):
    rule = _company_rule(points=30)
    CatalogVersion.objects.all().delete()
    assert _score(source, "13800138001") == 30

    with connection.cursor() as cursor:  # no trigger on the version table itself: it stays empty
        cursor.execute("DELETE FROM crm_catalogversion")
        cursor.execute("UPDATE leads_scoringrule SET points = 12 WHERE id = %s", [rule.pk])
        cursor.execute("DELETE FROM crm_catalogversion")

    assert _score(source, "13800138002") == 12


def test_a_warm_api_request_reads_no_configuration_table_and_checks_versions_once(client, source, to_rep_a):
    _company_rule(points=60)
    token = source_token_rotate(source=source)

    def post(phone):
        return client.post(
            "/api/v1/leads",
            data=json.dumps({"phone": phone, "company": "恒通"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    post("13800138001")
    with CaptureQueriesContext(connection) as queries:
        response = post("13800138002")

    assert response.status_code == 201 and response.json()["owner"] == "rep_a"
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum("crm_catalogversion" in s for s in sql) == 1
    config_tables = (
        "leads_source",
        "leads_leadtype",
        "leads_scoringrule",
        "leads_scoreband",
        "lifecycle_policy",
        "assignment_ruleset",
        "assignment_assignmentrule",
        "assignment_ruletarget",
    )
    read = re.compile(r'\bFROM "?(' + "|".join(config_tables) + r')"?(\s|$)')
    assert [s for s in sql if s.lstrip().upper().startswith("SELECT") and read.search(s)] == []


def test_a_rep_set_away_without_signals_is_skipped_by_the_next_routing(rep_a, rep_b):
    rule = AssignmentRuleFactory(rule_set=RuleSetFactory(), strategy="round_robin", is_default=True)
    RuleTargetFactory(rule=rule, rep=rep_a)
    RuleTargetFactory(rule=rule, rep=rep_b)
    first = lead_route(lead=LeadFactory()).owner

    Rep.objects.filter(pk=(rep_b if first == rep_a else rep_a).pk).update(status=Rep.Status.AWAY)

    owners = {lead_route(lead=LeadFactory()).owner for _ in range(3)}
    assert owners == {first}


def test_a_renamed_rep_is_named_anew_in_the_next_explanation(rep_a, to_rep_a):
    lead_route(lead=LeadFactory())

    type(rep_a.user).objects.filter(pk=rep_a.user_id).update(first_name="Fang", last_name="Wang")

    decision = lead_route(lead=LeadFactory())
    assert decision.explanation["result"]["owner_name"] == "Fang Wang"


def test_a_sign_in_leaves_the_rep_catalogue_alone(rep_a):
    before = catalog_versions()["reps"]

    type(rep_a.user).objects.filter(pk=rep_a.user_id).update(last_login=timezone.now())

    assert catalog_versions()["reps"] == before


def test_a_rep_who_joined_after_the_catalogue_was_read_can_still_be_picked(team, rep_a):
    Rep.objects.filter(pk=rep_a.pk).update(status=Rep.Status.AWAY)
    AssignmentRuleFactory(
        rule_set=RuleSetFactory(), strategy="round_robin", target_team=team, is_default=True
    )

    with catalogs_pinned():
        reps_by_id()  # the catalogue as it was before the newcomer
        newcomer = RepFactory(team=team)  # as if committed by another process meanwhile
        decision = lead_route(lead=LeadFactory())

    assert decision.owner == newcomer
