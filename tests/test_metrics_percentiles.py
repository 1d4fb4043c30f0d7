"""Median / p90 are percentile_cont on every database: the portable window-function path agrees
with a plain-Python reference (and with PostgreSQL's own percentile_cont in the PostgreSQL pass)."""

import math

import pytest
from django.db import connection
from django.db.models import F

from crm.selectors import percentiles_by_group
from leads.models import Lead
from tests.factories import LeadFactory, TeamFactory

FRACTIONS = (0.1, 0.5, 0.9, 0.29)


def reference(values, fraction):
    xs = sorted(values)
    k = (len(xs) - 1) * fraction
    lo = math.floor(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


@pytest.fixture
def scores(source):
    teams = [TeamFactory(name="P1"), TeamFactory(name="P2"), TeamFactory(name="P3")]
    data = {teams[0].pk: [7], teams[1].pk: [5, 1], teams[2].pk: [3, 9, 27, 1, 81, 4, 4, 100, 13, 2, 55]}
    for team_id, values in data.items():
        for v in values:
            LeadFactory(source=source, team_id=team_id, score=v)
    LeadFactory(source=source, team=None, score=50)
    return data


def test_portable_path_matches_the_definition(scores):
    got = percentiles_by_group(
        Lead.objects.all(), value=F("score"), group=F("team_id"), fractions=FRACTIONS, portable=True
    )
    for team_id, values in scores.items():
        for f in FRACTIONS:
            assert got[team_id][f] == pytest.approx(reference(values, f))
    assert got[None][0.5] == 50


def test_no_group_gives_one_row_even_when_empty(db):
    assert percentiles_by_group(Lead.objects.all(), value=F("score"), portable=True) == {
        None: {0.5: None, 0.9: None}
    }


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SKIPPED ON SQLITE: compares with percentile_cont"
)
def test_postgres_percentile_cont_agrees_with_the_portable_path(scores):
    native = percentiles_by_group(
        Lead.objects.all(), value=F("score"), group=F("team_id"), fractions=FRACTIONS
    )
    portable = percentiles_by_group(
        Lead.objects.all(), value=F("score"), group=F("team_id"), fractions=FRACTIONS, portable=True
    )
    assert native.keys() == portable.keys()
    for key in native:
        for f in FRACTIONS:
            assert native[key][f] == pytest.approx(portable[key][f])
