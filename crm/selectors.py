"""Reads for the manager dashboard: every metric is defined here once, computed in the database.

The dashboard page, its CSV and JSON exports, the weekly summary e-mail and the tests all call
these functions, so "first contact", "converted" or "dwell" can never mean two things. Each
function's docstring is the definition shown to managers in the page's "?" tooltips.

Rules that keep the page fast on millions of leads:
- every figure is one or two aggregate queries (annotations, conditional aggregation, window
  functions); Python only loops over the aggregated rows (reps, teams, rules, stages, weeks);
- the number of queries does not depend on the number of leads;
- median / p90 use PostgreSQL's percentile_cont, and on other databases one window-function query
  that fetches only the two rows around each percentile per group;
- on PostgreSQL the per-lead figures share one GROUPING SETS pass (lead_cube, speed_levels) and
  the event figures one statement (event_pass), each an index-only scan of the range through the
  covering indexes of crm/migrations/0002 and 0003; a cold render splits them over two
  connections in one snapshot (dashboard_metrics).

The dashboard sits above every layer (it reads leads, assignment and lifecycle), like crm/demo.py.
"""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Avg,
    BooleanField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from assignment.models import AssignmentRule
from crm.models import Rep, Team
from crm.rules import led_team_ids, user_is_manager
from leads.models import Activity, Lead, LeadEvent, LeadType, ScoreBand, Source
from leads.selectors import open_lead_statuses
from lifecycle.models import Stage

# --- Event kinds written by the other layers (LeadEvent.kind). Align here if a writer renames one.
EVENT_INTAKE = "intake"
EVENT_ROUTE = "route"
EVENT_CLAIM = "claim"
EVENT_RELEASE = "release"  # a rep gives a lead back, or the end of silence (from_status=silent)
EVENT_RECALL = "recall"  # manual recall by a manager
EVENT_TRANSFER = "transfer"
EVENT_SLA_RECALL = "sla_recall"  # first-contact deadline missed
EVENT_PROGRESS_RECALL = "progress_recall"  # no progress within the window
EVENT_CLAIM_LAPSED = "claim_lapsed"  # a claimed lead not followed up in time
EVENT_SILENCE = "silence"
EVENT_REACTIVATE = "reactivate"
EVENT_STAGE = "stage"
EVENT_MERGE = "merge"
EVENT_CONVERT = "convert"
EVENT_LOST = "lost"

# Routing decisions: the event carries the matched AssignmentRule in LeadEvent.rule.
ROUTE_EVENT_KINDS = (EVENT_INTAKE, EVENT_ROUTE)
# A rep loses a lead against their will (or gives it back): "recalls and releases".
TAKEBACK_EVENT_KINDS = (
    EVENT_RECALL,
    EVENT_SLA_RECALL,
    EVENT_PROGRESS_RECALL,
    EVENT_CLAIM_LAPSED,
    EVENT_TRANSFER,
    EVENT_RELEASE,
)
# Stage events keep the stage ids in LeadEvent.data under these keys.
STAGE_EVENT_FROM_KEY = "from"
STAGE_EVENT_TO_KEY = "to"

# Below this many leads a cell's conversion rate is shown but flagged "too few to judge".
MIN_LEADS_TO_JUDGE = 30
DEFAULT_RANGE_DAYS = 90
PERCENTILES = (0.5, 0.9)
# Used when no ScoreBand rows exist (the design's defaults: high ≥ 80, medium 50–79, low < 50).
DEFAULT_BANDS = (("high", 80), ("medium", 50), ("low", -(10**9)))


# ---------------------------------------------------------------------------------------------
# Scope and filters


@dataclass(frozen=True)
class DashboardScope:
    """Which teams a viewer may see: None = every team (managers), else only these team ids."""

    team_ids: tuple[int, ...] | None

    @property
    def is_all(self) -> bool:
        return self.team_ids is None

    def cache_part(self) -> str:
        return "all" if self.team_ids is None else "t" + "-".join(str(i) for i in self.team_ids)


@dataclass(frozen=True)
class DashboardFilters:
    """The page's filters. Dates are local calendar days; `end` is inclusive."""

    start: date
    end: date
    team_id: int | None = None
    source_id: int | None = None
    lead_type_id: int | None = None

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def end_at(self) -> datetime:
        """Exclusive upper bound: midnight after the last day."""
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    def cache_part(self) -> str:
        return f"{self.start:%Y%m%d}-{self.end:%Y%m%d}-{self.team_id}-{self.source_id}-{self.lead_type_id}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "team": self.team_id,
            "source": self.source_id,
            "lead_type": self.lead_type_id,
        }


def dashboard_filters_default(*, now: datetime | None = None) -> DashboardFilters:
    """The last 90 days including today (local time)."""
    today = timezone.localdate(now or timezone.now())
    return DashboardFilters(start=today - timedelta(days=DEFAULT_RANGE_DAYS - 1), end=today)


def dashboard_scope_for(*, user) -> DashboardScope | None:
    """Managers (superusers, or staff with the leads.view_lead model permission) see every team;
    a team lead (Team.lead) sees only the teams they lead; everyone else gets None (forbidden).
    The same predicates as crm.rules, so the dashboard agrees with the admin and the workspace."""
    if user_is_manager(user):
        return DashboardScope(team_ids=None)
    led = tuple(sorted(led_team_ids(user)))
    return DashboardScope(team_ids=led) if led else None


def dashboard_teams_visible(*, scope: DashboardScope) -> QuerySet[Team]:
    teams = Team.objects.all()
    return teams if scope.is_all else teams.filter(pk__in=scope.team_ids)


# ---------------------------------------------------------------------------------------------
# Portable SQL pieces


class SecondsBetween(Func):
    """`end - start` in seconds (float): EXTRACT(EPOCH) on PostgreSQL, julianday() on SQLite."""

    arity = 2
    output_field = FloatField()
    template = "(EXTRACT(EPOCH FROM (%(expressions)s)))::double precision"
    arg_joiner = " - "

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: the interpolated percentile of a numeric expression."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def _percentile_pick(values: dict[int, float], n: int, fraction: float) -> float | None:
    """percentile_cont's definition: interpolate between the rows around (n-1)·f (0-based)."""
    if n <= 0:
        return None
    k = (n - 1) * fraction
    lo = math.floor(k)
    hi = min(lo + 1, n - 1)
    v_lo, v_hi = values.get(lo), values.get(hi)
    if v_lo is None:
        return None
    if v_hi is None or hi == lo:
        return float(v_lo)
    return float(v_lo) + (float(v_hi) - float(v_lo)) * (k - lo)


def percentiles_by_group(
    qs: QuerySet,
    *,
    value: Any,
    group: Any | None = None,
    fractions: tuple[float, ...] = PERCENTILES,
    portable: bool | None = None,
) -> dict[Any, dict[float, float | None]]:
    """{group value: {fraction: percentile}} of `value` over `qs`, in one query whatever the size.

    PostgreSQL: percentile_cont per group. Elsewhere (or portable=True): ROW_NUMBER/COUNT windows
    rank each group, and only the rows on either side of each percentile come back to Python.
    Rows whose value is NULL are ignored. `group=None` gives one group keyed None.
    """
    qs = qs.order_by().annotate(_pv=value).filter(_pv__isnull=False)
    if portable is None:
        portable = connection.vendor != "postgresql"
    if not portable:
        aggs = {f"p{i}": PercentileCont(F("_pv"), fraction=f) for i, f in enumerate(fractions)}
        if group is None:
            row = qs.aggregate(**aggs)
            return {None: {f: row[f"p{i}"] for i, f in enumerate(fractions)}}
        rows = qs.values(_pg=group).annotate(**aggs).order_by()
        return {r["_pg"]: {f: r[f"p{i}"] for i, f in enumerate(fractions)} for r in rows}

    inner = qs.values(_g=group if group is not None else Value(0), _v=F("_pv"))
    inner_sql, params = inner.query.sql_with_params()
    wanted = " OR ".join(
        f"(rn - 1) IN (CAST((n - 1) * {float(f)!r} AS INTEGER), CAST((n - 1) * {float(f)!r} AS INTEGER) + 1)"
        for f in fractions
    )
    sql = (
        "SELECT g, v, rn, n FROM ("
        " SELECT t._g AS g, t._v AS v,"
        " ROW_NUMBER() OVER (PARTITION BY t._g ORDER BY t._v) AS rn,"
        " COUNT(*) OVER (PARTITION BY t._g) AS n"
        f" FROM ({inner_sql}) t) ranked WHERE {wanted}"
    )
    by_group: dict[Any, tuple[int, dict[int, float]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for g, v, rn, n in cursor.fetchall():
            by_group.setdefault(g, (n, {}))[1][rn - 1] = v
    result = {}
    for g, (n, values) in by_group.items():
        key = None if group is None else g
        result[key] = {f: _percentile_pick(values, n, f) for f in fractions}
    if group is None:
        result.setdefault(None, dict.fromkeys(fractions))
    return result


def aggregate_with_percentiles(
    qs: QuerySet, *, aggs: dict[str, Any], value: Any, group: Any | None
) -> dict[Any, dict[str, Any]]:
    """{group: {aggregate name: value, ..., "pct": {fraction: percentile}}}: the counts and the
    median / p90 of `value` per group. On PostgreSQL both come from one pass (percentile_cont next
    to the counts), so an expensive per-row expression is evaluated once; elsewhere the
    percentiles take one more (window-function) query. `group=None` gives one group keyed None."""
    native = connection.vendor == "postgresql"
    aggs = dict(aggs)
    if native:
        aggs.update({f"_p{i}": PercentileCont(value, fraction=f) for i, f in enumerate(PERCENTILES)})
    if group is None:
        rows = {None: qs.aggregate(**aggs)}
    else:
        rows = {r.pop("_k"): r for r in qs.order_by().values(_k=group).annotate(**aggs).order_by()}
    if native:
        for row in rows.values():
            row["pct"] = {f: row.pop(f"_p{i}") for i, f in enumerate(PERCENTILES)}
        return rows
    pct = percentiles_by_group(qs, value=value, group=group)
    for key, row in rows.items():
        row["pct"] = pct.get(key, dict.fromkeys(PERCENTILES))
    return rows


# ---------------------------------------------------------------------------------------------
# Building blocks: which leads and events a figure looks at


def leads_in_scope(
    *, scope: DashboardScope, filters: DashboardFilters, date_field: str | None = "created_at"
) -> QuerySet[Lead]:
    """Leads matching the filters; dated by `date_field` in [start, end] (None = any date).

    Team filter and team scope use Lead.team (the team of the current or last owner)."""
    qs = Lead.objects.order_by()
    if date_field:
        qs = qs.filter(**{f"{date_field}__gte": filters.start_at, f"{date_field}__lt": filters.end_at})
    if not scope.is_all:
        qs = qs.filter(team_id__in=scope.team_ids)
    if filters.team_id:
        qs = qs.filter(team_id=filters.team_id)
    if filters.source_id:
        qs = qs.filter(source_id=filters.source_id)
    if filters.lead_type_id:
        qs = qs.filter(lead_type_id=filters.lead_type_id)
    return qs


def events_in_scope(
    *, scope: DashboardScope, filters: DashboardFilters, team_path: str, open_ended: bool = False
) -> QuerySet[LeadEvent]:
    """Events in [start, end] whose lead matches the source / lead-type filters and whose team,
    read through `team_path` (e.g. "to_owner__team"), is visible and selected. `open_ended`
    drops the upper bound (a window function must still see the events after the range)."""
    qs = LeadEvent.objects.order_by().filter(at__gte=filters.start_at)
    if not open_ended:
        qs = qs.filter(at__lt=filters.end_at)
    on_lead = team_path == "lead__team"
    if not on_lead and not scope.is_all:
        qs = qs.filter(**{f"{team_path}__in": scope.team_ids})
    if not on_lead and filters.team_id:
        qs = qs.filter(**{team_path: filters.team_id})
    wanted = lead_filter_q(scope=scope, filters=filters, team=on_lead)
    if wanted:
        qs = qs.filter(lead_id__in=Lead.objects.order_by().filter(wanted).values("pk"))
    return qs


def lead_filter_q(*, scope: DashboardScope, filters: DashboardFilters, team: bool) -> Q:
    """The filters an event reads on its lead: source, lead type and (team=True) the lead's team.

    Events test them as `lead_id IN (matching leads)`: PostgreSQL hashes the matching ids once
    (a semi-join) instead of joining every event in the range to the whole lead table."""
    q = Q()
    if team and not scope.is_all:
        q &= Q(team_id__in=scope.team_ids)
    if team and filters.team_id:
        q &= Q(team_id=filters.team_id)
    if filters.source_id:
        q &= Q(source_id=filters.source_id)
    if filters.lead_type_id:
        q &= Q(lead_type_id=filters.lead_type_id)
    return q


def reps_in_scope(*, scope: DashboardScope, filters: DashboardFilters) -> QuerySet[Rep]:
    qs = Rep.objects.select_related("user", "team").order_by("team__name", "user__username")
    if not scope.is_all:
        qs = qs.filter(team_id__in=scope.team_ids)
    if filters.team_id:
        qs = qs.filter(team_id=filters.team_id)
    return qs


def first_contact_at_expression() -> Case:
    """First contact after the current assignment.

    Definition: Lead.first_contacted_at when it is set and not before Lead.assigned_at; otherwise
    the earliest Activity with actor "rep" and kind in Activity.CONTACT_KINDS (call, visit,
    e-mail, WeCom) that occurred at or after Lead.assigned_at. Lead.assigned_at is the start of
    the current (latest) assignment, so a reassigned lead measures its latest owner.
    """
    contact = (
        Activity.objects.filter(
            lead=OuterRef("pk"),
            actor=Activity.Actor.REP,
            kind__in=Activity.CONTACT_KINDS,
            occurred_at__gte=OuterRef("assigned_at"),
        )
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    return Case(
        When(first_contacted_at__gte=F("assigned_at"), then=F("first_contacted_at")),
        default=Subquery(contact),
    )


def converted_q(prefix: str = "", *, won_stage_ids: list[int] | None = None) -> Q:
    """Converted = Lead.status is "converted", or the lead's stage is a won stage (Stage.is_won)."""
    # won_stage_ids (from won_stage_ids()): the same rule without joining the stage table.
    if won_stage_ids is not None:
        return Q(**{f"{prefix}status": Lead.Status.CONVERTED}) | Q(**{f"{prefix}stage_id__in": won_stage_ids})
    return Q(**{f"{prefix}status": Lead.Status.CONVERTED}) | Q(**{f"{prefix}stage__is_won": True})


def won_stage_ids() -> list[int]:
    return list(Stage.objects.filter(is_won=True).values_list("pk", flat=True))


def _rate(part: int | None, whole: int | None) -> float | None:
    return round(100.0 * (part or 0) / whole, 1) if whole else None


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600.0, 2)


def _days(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 86400.0, 2)


# ---------------------------------------------------------------------------------------------
# Speed


def speed_by(
    *, scope: DashboardScope, filters: DashboardFilters, group: str | None, now: datetime
) -> dict[Any, dict[str, Any]]:
    """Time to first contact, for leads created in the range that have been assigned.

    Response time = first contact − Lead.assigned_at (the current assignment); median and p90 over
    the contacted leads, in hours. Within SLA = contacted, and not after Lead.first_contact_due
    when that deadline is still set (the life cycle clears the deadline at first contact and
    recalls a lead whose deadline passes, so a contacted lead without a deadline was on time; the
    late ones show as "sla_recall" in recalls). The rate counts contacted leads plus uncontacted
    ones already past their deadline (running clocks wait). Not contacted = no first contact yet.
    """
    # group: "owner_id" (per rep), "team_id" (per team) or None (everyone).
    assigned = (
        leads_in_scope(scope=scope, filters=filters)
        .filter(assigned_at__isnull=False)
        .annotate(fc=first_contact_at_expression())
    )
    contacted = Q(fc__isnull=False)
    response = SecondsBetween(F("fc"), F("assigned_at"))
    aggs = {
        "assigned": Count("pk"),
        "contacted": Count("pk", filter=contacted),
        "within_sla": Count(
            "pk", filter=contacted & (Q(first_contact_due__isnull=True) | Q(fc__lte=F("first_contact_due")))
        ),
        "sla_judged": Count("pk", filter=contacted | Q(first_contact_due__lt=now)),
    }
    counts = aggregate_with_percentiles(
        assigned, aggs=aggs, value=response, group=F(group) if group else None
    )
    out = {}
    for key, row in counts.items():
        p = row["pct"]
        out[key] = {
            "assigned": row["assigned"],
            "contacted": row["contacted"],
            "not_contacted": row["assigned"] - row["contacted"],
            "median_hours": _hours(p.get(0.5)),
            "p90_hours": _hours(p.get(0.9)),
            "within_sla": row["within_sla"],
            "sla_judged": row["sla_judged"],
            "within_sla_rate": _rate(row["within_sla"], row["sla_judged"]),
        }
    return out


def speed_levels(*, scope: DashboardScope, filters: DashboardFilters, now: datetime) -> dict[str, dict]:
    """speed_by per rep, per team and for everyone: {"rep": {...}, "team": {...}, "all": {...}}.

    On PostgreSQL one GROUPING SETS pass over a derived table, so the first-contact subquery runs
    once per lead instead of once per reference per level (9×); elsewhere three speed_by calls.
    """
    if connection.vendor != "postgresql":
        return {
            "rep": speed_by(scope=scope, filters=filters, group="owner_id", now=now),
            "team": speed_by(scope=scope, filters=filters, group="team_id", now=now),
            "all": speed_by(scope=scope, filters=filters, group=None, now=now)[None],
        }
    inner = (
        leads_in_scope(scope=scope, filters=filters)
        .filter(assigned_at__isnull=False)
        .annotate(fc=first_contact_at_expression())
        .values(
            _o=F("owner_id"), _t=F("team_id"), _a=F("assigned_at"), _d=F("first_contact_due"), _fc=F("fc")
        )
    )
    inner_sql, params = inner.query.sql_with_params()
    response = "EXTRACT(EPOCH FROM (x._fc - x._a))::double precision"
    sql = (
        "SELECT GROUPING(x._o), GROUPING(x._t), x._o, x._t, COUNT(*), COUNT(x._fc),"
        " COUNT(*) FILTER (WHERE x._fc IS NOT NULL AND (x._d IS NULL OR x._fc <= x._d)),"
        " COUNT(*) FILTER (WHERE x._fc IS NOT NULL OR x._d < %s),"
        + ",".join(f" PERCENTILE_CONT({float(f)!r}) WITHIN GROUP (ORDER BY {response})" for f in PERCENTILES)
        + f" FROM ({inner_sql}) x GROUP BY GROUPING SETS ((x._o), (x._t), ())"
    )
    out: dict[str, dict] = {"rep": {}, "team": {}, "all": {}}
    with connection.cursor() as cursor:
        cursor.execute(sql, (now, *params))  # the outer %s comes before the inner ones
        for g_owner, g_team, owner, team, assigned, contacted, within, judged, *pcts in cursor.fetchall():
            row = {
                "assigned": assigned,
                "contacted": contacted,
                "not_contacted": assigned - contacted,
                "median_hours": _hours(pcts[PERCENTILES.index(0.5)]),
                "p90_hours": _hours(pcts[PERCENTILES.index(0.9)]),
                "within_sla": within,
                "sla_judged": judged,
                "within_sla_rate": _rate(within, judged),
            }
            if g_owner and g_team:
                out["all"] = row
            elif g_team:
                out["rep"][owner] = row
            else:
                out["team"][team] = row
    if not out["all"]:
        out["all"] = speed_by(scope=scope, filters=filters, group=None, now=now)[None]
    return out


def overdue_now_by_owner(
    *, scope: DashboardScope, filters: DashboardFilters, now: datetime
) -> dict[int, int]:
    """Overdue now = leads currently assigned whose Lead.first_contact_due has passed with no first
    contact yet, whatever their creation date (source / lead-type / team filters still apply)."""
    rows = (
        leads_in_scope(scope=scope, filters=filters, date_field=None)
        .filter(status=Lead.Status.ASSIGNED, first_contact_due__lt=now)
        .annotate(fc=first_contact_at_expression())
        .filter(fc__isnull=True)
        .values("owner_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {r["owner_id"]: r["n"] for r in rows}


# ---------------------------------------------------------------------------------------------
# Outcomes

CONVERSION_DIMENSIONS = {
    "rep": "owner_id",
    "team": "team_id",
    "source": "source_id",
    "channel": "source__channel",
    "tier": "tier",
}


def score_band_expression(*, bands: list[tuple[str, int]] | None = None) -> Case:
    """Score band = the ScoreBand whose min_score is the highest one not above Lead.score (the
    current thresholds, applied to the current score; Lead.tier is what was stamped at scoring)."""
    bands = bands or score_bands()
    whens = [When(score__gte=min_score, then=Value(tier)) for tier, min_score in bands]
    return Case(*whens, default=Value(bands[-1][0]), output_field=CharField())


def score_bands() -> list[tuple[str, int]]:
    """(tier, min_score), highest first: the ScoreBand rows, or the design's defaults."""
    return list(ScoreBand.objects.order_by("-min_score").values_list("tier", "min_score")) or list(
        DEFAULT_BANDS
    )


def score_band_of(score: int, *, bands: list[tuple[str, int]]) -> str:
    """score_band_expression for one score value (lead_cube applies it to the score histogram)."""
    return next((tier for tier, min_score in bands if score >= min_score), bands[-1][0])


def conversion_by(
    *, scope: DashboardScope, filters: DashboardFilters, dimension: str
) -> list[dict[str, Any]]:
    """Conversion of leads created in the range, per rep / team / source / channel / tier / band.

    rate = converted (see converted_q) ÷ all leads in the cell; lost = Lead.status "lost";
    open = neither converted nor lost. Rep and team are the lead's current (or last) owner's.
    """
    qs = leads_in_scope(scope=scope, filters=filters)
    key = score_band_expression() if dimension == "band" else F(CONVERSION_DIMENSIONS[dimension])
    won = converted_q()
    rows = (
        qs.values(key=key)
        .annotate(
            leads=Count("pk"),
            converted=Count("pk", filter=won),
            lost=Count("pk", filter=Q(status=Lead.Status.LOST) & ~won),
        )
        .order_by()
    )
    return [
        _conversion_row(r["key"], leads=r["leads"], converted=r["converted"], lost=r["lost"]) for r in rows
    ]


def _conversion_row(key: Any, *, leads: int, converted: int, lost: int) -> dict[str, Any]:
    return {
        "key": key,
        "leads": leads,
        "converted": converted,
        "lost": lost,
        "open": leads - converted - lost,
        "rate": _rate(converted, leads),
        "too_few": leads < MIN_LEADS_TO_JUDGE,
    }


def sales_cycle_by_team(*, scope: DashboardScope, filters: DashboardFilters) -> dict[Any, dict[str, Any]]:
    """Sales cycle = Lead.closed_at − Lead.created_at of converted leads closed in the range, in
    days: count, average, median and p90, per team and overall (key "all")."""
    won = (
        leads_in_scope(scope=scope, filters=filters, date_field="closed_at")
        .filter(converted_q())
        .annotate(cycle=SecondsBetween(F("closed_at"), F("created_at")))
    )
    aggs = {"n": Count("pk"), "avg": Avg("cycle")}
    rows = aggregate_with_percentiles(won, aggs=aggs, value=F("cycle"), group=F("team_id"))
    rows["all"] = aggregate_with_percentiles(won, aggs=aggs, value=F("cycle"), group=None)[None]
    return {
        key: {
            "converted": r["n"],
            "avg_days": _days(r["avg"]),
            "median_days": _days(r["pct"][0.5]),
            "p90_days": _days(r["pct"][0.9]),
        }
        for key, r in rows.items()
    }


def stage_funnel(
    *, scope: DashboardScope, filters: DashboardFilters, now: datetime, current: dict[int, int] | None = None
) -> list[dict[str, Any]]:
    """Stage funnel and dwell time, per lead type and stage (in stage order).

    - entered = distinct leads with a "stage" event into the stage during the range
      (LeadEvent.kind "stage", the new stage id in data["to"]);
    - now in stage = leads created in the range whose current Lead.stage is this stage;
    - dwell = time from entering a stage to the lead's next stage event (or to Lead.closed_at when
      it closed there); median and p90 in days over completed stays; leads still in the stage
      are counted as "still there" and left out of the dwell figures.
    """
    stages = Stage.objects.select_related("lead_type").order_by("lead_type__name", "position", "pk")
    if filters.lead_type_id:
        stages = stages.filter(lead_type_id=filters.lead_type_id)
    stages = list(stages)
    if not stages:
        return []
    next_stage_at = (
        LeadEvent.objects.filter(lead=OuterRef("lead_id"), kind=EVENT_STAGE, id__gt=OuterRef("pk"))
        .order_by("id")
        .values("at")[:1]
    )
    events = (
        events_in_scope(scope=scope, filters=filters, team_path="lead__team")
        .filter(kind=EVENT_STAGE)
        .annotate(left_at=Coalesce(Subquery(next_stage_at), F("lead__closed_at")))
    )
    to_stage = KT(f"data__{STAGE_EVENT_TO_KEY}")
    # The JSON value may come back as text (PostgreSQL ->>) or a number (SQLite): key on text.
    if connection.vendor == "postgresql":
        # LEAD() over the lead's stage events instead of a correlated subquery per event.
        stays = (
            events_in_scope(scope=scope, filters=filters, team_path="lead__team", open_ended=True)
            .filter(kind=EVENT_STAGE)
            .values(_id=F("id"), _k=to_stage, _l=F("lead_id"), _at=F("at"))
        )
        entered = _stage_stays_native(stays, end=filters.end_at)
    else:
        entered = {
            str(k): row
            for k, row in aggregate_with_percentiles(
                events,
                aggs={
                    "entered": Count("lead_id", distinct=True),
                    "still": Count("pk", filter=Q(left_at__isnull=True)),
                },
                value=SecondsBetween(F("left_at"), F("at")),
                group=to_stage,
            ).items()
        }
    if current is None:  # precomputed by lead_cube on PostgreSQL
        current = dict(
            leads_in_scope(scope=scope, filters=filters)
            .filter(stage__isnull=False)
            .values_list("stage_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
    out = []
    for st in stages:
        e = entered.get(str(st.pk), {})
        p = e.get("pct", {})
        out.append(
            {
                "lead_type": st.lead_type.name,
                "stage": st.name,
                "stage_id": st.pk,
                "is_won": st.is_won,
                "entered": e.get("entered", 0),
                "now_in_stage": current.get(st.pk, 0),
                "still_there": e.get("still", 0),
                "dwell_median_days": _days(p.get(0.5)),
                "dwell_p90_days": _days(p.get(0.9)),
            }
        )
    return out


def _stage_stays_native(events: QuerySet, *, end: datetime) -> dict[str, dict[str, Any]]:
    """stage_funnel's aggregation on PostgreSQL: LEAD() over each lead's stage events gives the
    next one, instead of a correlated subquery per event; a stay with no next event ends at
    Lead.closed_at, read through the closed leads only (crm_dash_lead_closed, a small index-only
    scan) rather than a join of every event to the whole lead table."""
    events_sql, params = events.query.sql_with_params()
    dwell = "EXTRACT(EPOCH FROM (x._left - x._at))::double precision"
    sql = (
        "SELECT x._k, COUNT(DISTINCT x._l), COUNT(*) FILTER (WHERE x._left IS NULL),"
        + ",".join(f" PERCENTILE_CONT({float(f)!r}) WITHIN GROUP (ORDER BY {dwell})" for f in PERCENTILES)
        + " FROM (SELECT e._k, e._l, e._at,"
        " COALESCE(LEAD(e._at) OVER (PARTITION BY e._l ORDER BY e._id), c.closed_at) AS _left"
        f" FROM ({events_sql}) e"
        f" LEFT JOIN {Lead._meta.db_table} c ON c.id = e._l AND c.closed_at IS NOT NULL) x"
        " WHERE x._at < %s GROUP BY x._k"
    )
    out = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, end))
        for key, entered, still, *pcts in cursor.fetchall():
            out[str(key)] = {
                "entered": entered,
                "still": still,
                "pct": dict(zip(PERCENTILES, pcts, strict=True)),
            }
    return out


# ---------------------------------------------------------------------------------------------
# Distribution and fairness


def received_by_rep(*, scope: DashboardScope, filters: DashboardFilters) -> dict[int, dict[str, int]]:
    """Received = transition events in the range that hand a lead to a rep who did not hold it
    (to_status "assigned", to_owner set and different from from_owner), by how: routed
    (intake / route events), claimed, transferred, reactivated, other."""
    rows = (
        events_in_scope(scope=scope, filters=filters, team_path="to_owner__team")
        .filter(to_status=Lead.Status.ASSIGNED, to_owner__isnull=False)
        .filter(Q(from_owner__isnull=True) | ~Q(from_owner=F("to_owner")))
        .values("to_owner_id")
        .annotate(
            received=Count("pk"),
            routed=Count("pk", filter=Q(kind__in=ROUTE_EVENT_KINDS)),
            claimed=Count("pk", filter=Q(kind=EVENT_CLAIM)),
            transferred=Count("pk", filter=Q(kind=EVENT_TRANSFER)),
            reactivated=Count("pk", filter=Q(kind=EVENT_REACTIVATE)),
        )
        .order_by()
    )
    return {r.pop("to_owner_id"): r for r in rows}


def takebacks_by_rep(*, scope: DashboardScope, filters: DashboardFilters) -> dict[int, dict[str, int]]:
    """Recalls and releases = events in the range that take a lead away from the rep who held it
    (from_owner), per kind: recall (manual), sla_recall (first contact too late), progress_recall
    (no progress), claim_lapsed, transfer (given to someone else), release (given back by the rep;
    a release at the end of silence, from_status "silent", is counted as released_after_silence)."""
    from_silence = Q(kind=EVENT_RELEASE, from_status=Lead.Status.SILENT)
    aggs = {kind: Count("pk", filter=Q(kind=kind)) for kind in TAKEBACK_EVENT_KINDS}
    aggs[EVENT_RELEASE] = Count("pk", filter=Q(kind=EVENT_RELEASE) & ~from_silence)
    aggs["released_after_silence"] = Count("pk", filter=from_silence)
    rows = (
        events_in_scope(scope=scope, filters=filters, team_path="from_owner__team")
        .filter(kind__in=TAKEBACK_EVENT_KINDS, from_owner__isnull=False)
        .exclude(to_owner=F("from_owner"))
        .values("from_owner_id")
        .annotate(**aggs)
        .order_by()
    )
    return {r.pop("from_owner_id"): r for r in rows}


def open_load_by_rep(*, scope: DashboardScope, filters: DashboardFilters) -> dict[int, int]:
    """Current load = leads the rep holds now with an open status (leads.selectors.open_lead_statuses),
    whatever their creation date; source / lead-type filters apply."""
    rows = (
        leads_in_scope(scope=scope, filters=filters, date_field=None)
        .filter(status__in=open_lead_statuses(), owner__isnull=False)
        .values("owner_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {r["owner_id"]: r["n"] for r in rows}


def gini(values: list[float]) -> float | None:
    """Gini coefficient (0 = perfectly even, →1 = one gets everything) of non-negative values."""
    xs = sorted(v for v in values if v is not None)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return None
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return round((2 * weighted) / (n * total) - (n + 1) / n, 3)


def fairness_summary(*, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Fairness of routing across eligible reps (active or busy, weight > 0): each rep's routed
    leads ÷ weight, then the Gini coefficient and the max/min spread of those numbers. Claims are
    left out because reps choose them; a Gini near 0 means rotation is even."""
    per_weight = [r["routed"] / r["weight"] for r in rows if r["eligible"]]
    if not per_weight:
        return {"reps": 0, "gini": None, "max_per_weight": None, "min_per_weight": None, "spread": None}
    hi, lo = max(per_weight), min(per_weight)
    return {
        "reps": len(per_weight),
        "gini": gini(per_weight),
        "max_per_weight": round(hi, 2),
        "min_per_weight": round(lo, 2),
        "spread": round(hi / lo, 2) if lo else None,
    }


def distribution_by_rep(
    *,
    scope: DashboardScope,
    filters: DashboardFilters,
    now: datetime,
    received: dict[int, dict[str, int]] | None = None,
    takebacks: dict[int, dict[str, int]] | None = None,
    load: dict[int, int] | None = None,
) -> list[dict[str, Any]]:
    """One row per rep: received (see received_by_rep) and its share against the rep's share of
    the total weight of eligible reps, current load vs Rep.max_open_leads, recalls/releases (see
    takebacks_by_rep), claims and the current penalty (Rep.penalty_until in the future)."""
    # received / takebacks: precomputed by event_pass on PostgreSQL; load: while it runs.
    if received is None:
        received = received_by_rep(scope=scope, filters=filters)
    if takebacks is None:
        takebacks = takebacks_by_rep(scope=scope, filters=filters)
    if load is None:
        load = open_load_by_rep(scope=scope, filters=filters)
    reps = [
        r
        for r in reps_in_scope(scope=scope, filters=filters)
        if r.status != Rep.Status.DEPARTED or r.pk in received or r.pk in load
    ]
    eligible_statuses = (Rep.Status.ACTIVE, Rep.Status.BUSY)
    total_weight = sum(r.weight for r in reps if r.status in eligible_statuses and r.weight > 0)
    total_routed = sum(received.get(r.pk, {}).get("routed", 0) for r in reps)
    total_received = sum(received.get(r.pk, {}).get("received", 0) for r in reps)
    out = []
    for rep in reps:
        got = received.get(rep.pk, {})
        lost = takebacks.get(rep.pk, {})
        eligible = rep.status in eligible_statuses and rep.weight > 0
        weight_share = _rate(rep.weight, total_weight) if eligible else None
        routed_share = _rate(got.get("routed", 0), total_routed)
        penalised = rep.penalty_until is not None and rep.penalty_until > now
        out.append(
            {
                "rep_id": rep.pk,
                "rep": rep.display_name,
                "team": rep.team.name if rep.team_id else "",
                "status": rep.status,
                "weight": rep.weight,
                "eligible": eligible,
                "received": got.get("received", 0),
                "received_share": _rate(got.get("received", 0), total_received),
                "routed": got.get("routed", 0),
                "routed_share": routed_share,
                "weight_share": weight_share,
                "share_vs_weight": round(routed_share / weight_share, 2)
                if weight_share and routed_share is not None
                else None,
                "claimed": got.get("claimed", 0),
                "transferred_in": got.get("transferred", 0),
                "reactivated": got.get("reactivated", 0),
                "open_load": load.get(rep.pk, 0),
                "capacity": rep.max_open_leads,
                "load_pct": _rate(load.get(rep.pk, 0), rep.max_open_leads),
                "recall": lost.get(EVENT_RECALL, 0),
                "sla_recall": lost.get(EVENT_SLA_RECALL, 0),
                "progress_recall": lost.get(EVENT_PROGRESS_RECALL, 0),
                "claim_lapsed": lost.get(EVENT_CLAIM_LAPSED, 0),
                "transferred_out": lost.get(EVENT_TRANSFER, 0),
                "released": lost.get(EVENT_RELEASE, 0),
                "released_after_silence": lost.get("released_after_silence", 0),
                "penalised": penalised,
                "penalty_until": rep.penalty_until if penalised else None,
                "penalty_reason": rep.penalty_reason if penalised else "",
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# Rules


def rule_hits(
    *,
    scope: DashboardScope,
    filters: DashboardFilters,
    hits: dict[int, int] | None = None,
    no_rule: int | None = None,
) -> dict[str, Any]:
    """Hits per rule = routing events (intake / route) in the range whose LeadEvent.rule is that
    rule; default-rule share = hits of rules marked is_default ÷ all routing events with a rule
    (orphan pressure: how much falls through every specific rule). AssignmentRule.hit_count is
    the all-time counter kept by routing, shown for comparison."""
    routing = events_in_scope(scope=scope, filters=filters, team_path="lead__team").filter(
        kind__in=ROUTE_EVENT_KINDS
    )
    if hits is None or no_rule is None:  # precomputed by event_pass on PostgreSQL
        hits = dict(
            routing.filter(rule__isnull=False).values_list("rule_id").annotate(n=Count("pk")).order_by()
        )
        no_rule = routing.filter(rule__isnull=True).count()
    rules = list(
        AssignmentRule.objects.select_related("rule_set")
        .filter(Q(pk__in=list(hits)) | Q(rule_set__is_active=True))
        .order_by("rule_set__trigger", "rule_set__name", "position", "pk")
    )
    total = sum(hits.values())
    default_hits = sum(hits.get(r.pk, 0) for r in rules if r.is_default)
    rows = [
        {
            "rule_id": r.pk,
            "rule_set": r.rule_set.name,
            "active_set": r.rule_set.is_active,
            "position": r.position,
            "rule": r.name,
            "strategy": r.strategy,
            "is_default": r.is_default,
            "hits": hits.get(r.pk, 0),
            "share": _rate(hits.get(r.pk, 0), total),
            "hit_count_all_time": r.hit_count,
            "last_matched_at": r.last_matched_at,
        }
        for r in rules
    ]
    return {
        "rows": rows,
        "routed_with_rule": total,
        "routed_without_rule": no_rule,
        "default_hits": default_hits,
        "default_share": _rate(default_hits, total),
    }


def takeback_reasons(
    *,
    scope: DashboardScope,
    filters: DashboardFilters,
    limit: int = 20,
    rows: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Why leads were taken back: recall / release events (see takebacks_by_rep) in the range,
    grouped by kind and LeadEvent.reason, most frequent first."""
    if rows is not None:  # precomputed by event_pass on PostgreSQL, in this order
        return rows[:limit]
    found = (
        events_in_scope(scope=scope, filters=filters, team_path="from_owner__team")
        .filter(kind__in=TAKEBACK_EVENT_KINDS, from_owner__isnull=False)
        .values("kind", "reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "kind", "reason")[:limit]
    )
    return [{"kind": r["kind"], "reason": r["reason"], "events": r["n"]} for r in found]


# ---------------------------------------------------------------------------------------------
# Score calibration


def score_deciles(
    *,
    scope: DashboardScope,
    filters: DashboardFilters,
    cuts: list[float] | None = None,
    rows: dict | None = None,
) -> list[dict[str, Any]]:
    """Conversion per score decile of leads created in the range: the decile cut points are the
    10th…90th percentiles of Lead.score (percentile_cont); decile d holds scores above cut d−1 and
    at most cut d, so equal scores always share a decile (deciles may be uneven or empty when many
    leads share a score). Rate as in conversion_by; cells under MIN_LEADS_TO_JUDGE are flagged."""
    # cuts / rows: precomputed by lead_cube on PostgreSQL.
    leads = leads_in_scope(scope=scope, filters=filters)
    if cuts is None:
        cuts = score_decile_cuts(leads=leads)
    if cuts is None:
        return []
    if rows is None:
        won = converted_q()
        rows = {
            r["decile"]: r
            for r in leads.values(decile=score_decile_expression(cuts))
            .annotate(
                leads=Count("pk"),
                converted=Count("pk", filter=won),
                min_score=Min("score"),
                max_score=Max("score"),
            )
            .order_by()
        }
    out = []
    for d in range(1, 11):
        r = rows.get(d, {"leads": 0, "converted": 0, "min_score": None, "max_score": None})
        out.append(
            {
                "decile": d,
                "min_score": r["min_score"],
                "max_score": r["max_score"],
                "leads": r["leads"],
                "converted": r["converted"],
                "rate": _rate(r["converted"], r["leads"]),
                "too_few": r["leads"] < MIN_LEADS_TO_JUDGE,
            }
        )
    return out


DECILE_FRACTIONS = tuple(round(i / 10, 1) for i in range(1, 10))


def score_decile_cuts(*, leads: QuerySet[Lead]) -> list[float] | None:
    """The 10th…90th percentiles of Lead.score, or None when there are no leads."""
    raw = percentiles_by_group(leads, value=F("score"), fractions=DECILE_FRACTIONS).get(None)
    cuts = [raw.get(f) for f in DECILE_FRACTIONS] if raw else []
    return None if not cuts or None in cuts else cuts


def score_decile_expression(cuts: list[float]) -> Case:
    whens = [When(score__lte=cut, then=Value(i + 1)) for i, cut in enumerate(cuts)]
    return Case(*whens, default=Value(10), output_field=IntegerField())


def score_decile_of(score: int, *, cuts: list[float]) -> int:
    """score_decile_expression for one score value (lead_cube applies it to the score histogram)."""
    return next((i + 1 for i, cut in enumerate(cuts) if score <= cut), 10)


def percentiles_from_histogram(
    counts: dict[Any, int], *, fractions: tuple[float, ...]
) -> dict[float, float | None]:
    """percentile_cont of a value from {value: how many rows}, exact: the definition only needs
    the two rows around (n-1)·f, and their values are read off the cumulative counts."""
    n = sum(counts.values())
    ranks = {r for f in fractions for r in (math.floor((n - 1) * f), min(math.floor((n - 1) * f) + 1, n - 1))}
    values: dict[int, float] = {}
    seen = 0
    for value in sorted(counts):
        for r in ranks:
            if seen <= r < seen + counts[value]:
                values[r] = value
        seen += counts[value]
    return {f: _percentile_pick(values, n, f) for f in fractions}


# ---------------------------------------------------------------------------------------------
# Life cycle


def _week_day(value: datetime | date) -> date:
    """TruncWeek gives an aware datetime on a DateTimeField; the calendar day is what we key on."""
    if isinstance(value, datetime):  # raw SQL (lead_cube) gives PostgreSQL's naive local time
        return value.date() if timezone.is_naive(value) else timezone.localdate(value)
    return value


def lifecycle_weekly(
    *,
    scope: DashboardScope,
    filters: DashboardFilters,
    created: dict[date, dict[str, int]] | None = None,
    flows: dict[date, dict[str, int]] | None = None,
) -> list[dict[str, Any]]:
    """Per week (Monday, local time) in the range:
    - created = leads created; and the current status of those leads (status mix by creation week);
    - flows = transition events into assigned / pooled / silent / converted / lost, releases at the
      end of silence (kind "release" from silent), and reactivations (kind "reactivate")."""
    if created is None:  # precomputed by lead_cube on PostgreSQL
        created = {}
        for r in (
            leads_in_scope(scope=scope, filters=filters)
            .values("status", week=TruncWeek("created_at"))
            .annotate(n=Count("pk"))
            .order_by()
        ):
            created.setdefault(_week_day(r["week"]), {})[r["status"]] = r["n"]

    def into(status: str) -> Count:
        return Count("pk", filter=Q(to_status=status) & ~Q(from_status=status))

    if flows is None:  # precomputed by event_pass on PostgreSQL
        flows = {}
        for r in (
            events_in_scope(scope=scope, filters=filters, team_path="lead__team")
            .values(week=TruncWeek("at"))
            .annotate(
                assigned=into(Lead.Status.ASSIGNED),
                pooled=into(Lead.Status.POOLED),
                silenced=into(Lead.Status.SILENT),
                converted=into(Lead.Status.CONVERTED),
                lost=into(Lead.Status.LOST),
                released=Count("pk", filter=Q(kind=EVENT_RELEASE, from_status=Lead.Status.SILENT)),
                reactivated=Count("pk", filter=Q(kind=EVENT_REACTIVATE)),
            )
            .order_by()
        ):
            flows[_week_day(r.pop("week"))] = r
    first = filters.start - timedelta(days=filters.start.weekday())
    out = []
    week = first
    while week <= filters.end:
        mix = created.get(week, {})
        f = flows.get(week, {})
        row = {"week": week, "created": sum(mix.values())}
        row.update({f"now_{s}": mix.get(s, 0) for s in Lead.Status.values})
        row.update(
            {
                k: f.get(k, 0)
                for k in ("assigned", "pooled", "silenced", "released", "reactivated", "converted", "lost")
            }
        )
        out.append(row)
        week += timedelta(days=7)
    return out


# ---------------------------------------------------------------------------------------------
# One pass over the leads for every per-lead breakdown


CUBE_SETS = {
    # name: the grouped columns of the derived table. Channel comes from the source rows, band
    # and score deciles from the score rows, so those cost no grouping set of their own.
    "rep": ("_o",),
    "team": ("_t",),
    "source": ("_s",),
    "tier": ("_tier",),
    "score": ("_score",),
    "stage": ("_st",),
    "week_status": ("_w", "_status"),
}


def lead_cube(*, scope: DashboardScope, filters: DashboardFilters) -> dict[str, Any]:
    """Every breakdown of the leads created in the range — conversion by rep, team, source,
    channel, tier and band, score deciles, leads per current stage, status by creation week — as
    {"conversion": {dimension: rows}, "deciles": rows, "current_stage": {...}, "created_weekly": {...}}.

    The definitions are those of conversion_by, score_deciles, stage_funnel and lifecycle_weekly,
    which compute each breakdown on its own. On PostgreSQL this is one GROUPING SETS pass over the
    range (an index-only scan, see crm/migrations/0002) instead of nine scans of the same rows: the
    score histogram it returns gives the decile cut points (percentile_cont, exactly), the deciles
    and the bands; the source rows give the channels.
    """
    dims = (*CONVERSION_DIMENSIONS, "band")
    leads = leads_in_scope(scope=scope, filters=filters)
    if connection.vendor != "postgresql":
        cuts = score_decile_cuts(leads=leads)
        return {
            "conversion": {dim: conversion_by(scope=scope, filters=filters, dimension=dim) for dim in dims},
            "deciles": score_deciles(scope=scope, filters=filters, cuts=cuts),
            "current_stage": None,
            "created_weekly": None,
        }
    won = converted_q(won_stage_ids=won_stage_ids())
    inner = leads.values(
        _o=F("owner_id"),
        _t=F("team_id"),
        _s=F("source_id"),
        _tier=F("tier"),
        _score=F("score"),
        _st=F("stage_id"),
        _w=TruncWeek("created_at"),
        _status=F("status"),
        _won=Case(When(won, then=Value(1)), default=Value(0)),
        _lost=Case(When(Q(status=Lead.Status.LOST) & ~won, then=Value(1)), default=Value(0)),
    )
    inner_sql, params = inner.query.sql_with_params()
    columns = [c for cols in CUBE_SETS.values() for c in cols]
    sql = (
        "SELECT "
        + ", ".join(f"GROUPING(x.{c})" for c in columns)
        + ", "
        + ", ".join(f"x.{c}" for c in columns)
        + ", COUNT(*), SUM(x._won), SUM(x._lost)"
        + f" FROM ({inner_sql}) x GROUP BY GROUPING SETS ("
        + ", ".join("(" + ", ".join(f"x.{c}" for c in cols) + ")" for cols in CUBE_SETS.values())
        + ")"
    )
    n = len(columns)
    cells: dict[str, dict[Any, list[int]]] = {name: {} for name in CUBE_SETS}
    created_weekly: dict[date, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            grouped = {c for c, g in zip(columns, row[:n], strict=True) if g == 0}
            value = dict(zip(columns, row[n : 2 * n], strict=True))
            count, n_won, n_lost = row[2 * n :]
            name = next(name for name, cols in CUBE_SETS.items() if set(cols) == grouped)
            if name == "week_status":
                created_weekly.setdefault(_week_day(value["_w"]), {})[value["_status"]] = count
            else:
                cells[name][value[CUBE_SETS[name][0]]] = [count, n_won, n_lost]

    def rows(by: dict[Any, list[int]]) -> list[dict[str, Any]]:
        return [_conversion_row(k, leads=c, converted=w, lost=lo) for k, (c, w, lo) in by.items()]

    def regroup(by: dict[Any, list[int]], key) -> dict[Any, list[int]]:
        out: dict[Any, list[int]] = {}
        for k, cell in by.items():
            total = out.setdefault(key(k), [0, 0, 0])
            for i, v in enumerate(cell):
                total[i] += v
        return out

    channel_of = dict(Source.objects.values_list("pk", "channel"))
    bands = score_bands()
    scores = cells["score"]
    conversion = {dim: rows(cells[dim]) for dim in ("rep", "team", "source", "tier")}
    conversion["channel"] = rows(regroup(cells["source"], channel_of.get))
    conversion["band"] = rows(regroup(scores, lambda score: score_band_of(score, bands=bands)))
    raw = percentiles_from_histogram({k: c for k, (c, _w, _lo) in scores.items()}, fractions=DECILE_FRACTIONS)
    cuts = None if not scores else [raw[f] for f in DECILE_FRACTIONS]
    deciles = {}
    if cuts:
        for d, (count, n_won, _lost) in regroup(
            scores, lambda score: score_decile_of(score, cuts=cuts)
        ).items():
            in_decile = [score for score in scores if score_decile_of(score, cuts=cuts) == d]
            deciles[d] = {
                "leads": count,
                "converted": n_won,
                "min_score": min(in_decile),
                "max_score": max(in_decile),
            }
    return {
        "conversion": {dim: conversion[dim] for dim in dims},
        "deciles": score_deciles(scope=scope, filters=filters, cuts=cuts, rows=deciles) if cuts else [],
        "current_stage": {k: c for k, (c, _w, _lo) in cells["stage"].items() if k is not None},
        "created_weekly": created_weekly,
    }


RECEIVED_KEYS = ("received", "routed", "claimed", "transferred", "reactivated")
FLOW_STATUSES = {
    "assigned": Lead.Status.ASSIGNED,
    "pooled": Lead.Status.POOLED,
    "silenced": Lead.Status.SILENT,
    "converted": Lead.Status.CONVERTED,
    "lost": Lead.Status.LOST,
}


def event_pass(
    *, scope: DashboardScope, filters: DashboardFilters, reasons_limit: int = 20
) -> dict[str, Any] | None:
    """The event figures of received_by_rep, takebacks_by_rep, rule_hits, lifecycle_weekly and
    takeback_reasons — same definitions, same team paths — from one statement on PostgreSQL:
    the events in the range (the lead filters as one hashed semi-join, see lead_filter_q) are
    materialised once and each figure aggregates that set, instead of six scans and joins of the
    same events.
    None elsewhere (each selector then runs its own query)."""
    if connection.vendor != "postgresql":
        return None
    qs = LeadEvent.objects.order_by().filter(at__gte=filters.start_at, at__lt=filters.end_at)
    wanted = lead_filter_q(scope=scope, filters=filters, team=False)
    if wanted:
        qs = qs.filter(lead_id__in=Lead.objects.order_by().filter(wanted).values("pk"))
    columns: dict[str, Any] = {
        "_kind": F("kind"),
        "_fs": F("from_status"),
        "_ts": F("to_status"),
        "_fo": F("from_owner_id"),
        "_to": F("to_owner_id"),
        "_rule": F("rule_id"),
        "_reason": F("reason"),
        "_w": TruncWeek("at"),
    }
    teamed = not scope.is_all or bool(filters.team_id)
    if teamed:  # the three team paths of events_in_scope; the lead's team as a hashed semi-join
        in_team = (
            Lead.objects.order_by()
            .filter(lead_filter_q(scope=scope, filters=filters, team=True))
            .values("pk")
        )
        columns.update(
            _lok=ExpressionWrapper(Q(lead_id__in=in_team), output_field=BooleanField()),
            _tt=F("to_owner__team_id"),
            _ft=F("from_owner__team_id"),
        )
    inner_sql, inner_params = qs.values(**columns).query.sql_with_params()

    def team(column: str) -> tuple[str, list]:
        if teamed and column == "_lt":
            return " AND x._lok", []
        sql, params = "", []
        if teamed and not scope.is_all:
            sql += f" AND x.{column} IN ({', '.join(['%s'] * len(scope.team_ids))})"
            params += list(scope.team_ids)
        if teamed and filters.team_id:
            sql += f" AND x.{column} = %s"
            params.append(filters.team_id)
        return sql, params

    def kinds(values) -> tuple[str, list]:
        return "(" + ", ".join(["%s"] * len(values)) + ")", list(values)

    route_in, route_p = kinds(ROUTE_EVENT_KINDS)
    take_in, take_p = kinds(TAKEBACK_EVENT_KINDS)
    n_counts = 7
    branches: list[tuple[str, list]] = []

    def branch(
        part: str, keys: tuple[str, str, str, str], counts: list[tuple[str, list]], where: str, wparams: list
    ):
        # keys: (int key, week key, text key, text key 2) as SQL, NULL when unused.
        counts = counts + [("NULL::bigint", [])] * (n_counts - len(counts))
        sql = (
            f"SELECT %s, {keys[0]}, {keys[1]}, {keys[2]}, {keys[3]}, "
            + ", ".join(c for c, _p in counts)
            + f" FROM x WHERE TRUE{where} GROUP BY 2, 3, 4, 5"
        )
        params = [part] + [p for _c, ps in counts for p in ps] + wparams
        branches.append((sql, params))

    def count_if(cond: str = "TRUE", params: list | None = None) -> tuple[str, list]:
        # x holds one row per distinct combination of the columns, with its number of events.
        return f"COALESCE(SUM(x._n) FILTER (WHERE {cond}), 0)::bigint", params or []

    no_ts, no_txt, no_int = "NULL::timestamp", "NULL::text", "NULL::bigint"
    # received_by_rep
    t_sql, t_p = team("_tt")
    branch(
        "received",
        ("x._to", no_ts, no_txt, no_txt),
        [
            count_if(),
            count_if(f"x._kind IN {route_in}", route_p),
            count_if("x._kind = %s", [EVENT_CLAIM]),
            count_if("x._kind = %s", [EVENT_TRANSFER]),
            count_if("x._kind = %s", [EVENT_REACTIVATE]),
        ],
        " AND x._ts = %s AND x._to IS NOT NULL AND (x._fo IS NULL OR x._fo <> x._to)" + t_sql,
        [Lead.Status.ASSIGNED, *t_p],
    )
    # takebacks_by_rep
    f_sql, f_p = team("_ft")
    take_counts = [count_if("x._kind = %s", [k]) for k in TAKEBACK_EVENT_KINDS if k != EVENT_RELEASE]
    take_counts += [
        count_if("x._kind = %s AND NOT x._fs = %s", [EVENT_RELEASE, Lead.Status.SILENT]),
        count_if("x._kind = %s AND x._fs = %s", [EVENT_RELEASE, Lead.Status.SILENT]),
    ]
    branch(
        "takeback",
        ("x._fo", no_ts, no_txt, no_txt),
        take_counts,
        f" AND x._kind IN {take_in} AND x._fo IS NOT NULL AND (x._to IS NULL OR x._to <> x._fo)" + f_sql,
        [*take_p, *f_p],
    )
    # rule_hits (the NULL rule row is the "without a rule" count)
    l_sql, l_p = team("_lt")
    branch(
        "rule",
        ("x._rule", no_ts, no_txt, no_txt),
        [count_if()],
        f" AND x._kind IN {route_in}" + l_sql,
        [*route_p, *l_p],
    )
    # lifecycle_weekly's flows
    branch(
        "week",
        (no_int, "x._w", no_txt, no_txt),
        [count_if("x._ts = %s AND NOT x._fs = %s", [s, s]) for s in FLOW_STATUSES.values()]
        + [
            count_if("x._kind = %s AND x._fs = %s", [EVENT_RELEASE, Lead.Status.SILENT]),
            count_if("x._kind = %s", [EVENT_REACTIVATE]),
        ],
        l_sql,
        l_p,
    )
    # takeback_reasons: ranked in the database, so ties sort by its collation as the selector's do
    branch(
        "reason",
        (no_int, no_ts, "x._kind", "x._reason"),
        [count_if(), ("ROW_NUMBER() OVER (ORDER BY SUM(x._n) DESC, x._kind, x._reason)", [])],
        f" AND x._kind IN {take_in} AND x._fo IS NOT NULL" + f_sql,
        [*take_p, *f_p],
    )
    # Events that agree on every column are counted together first (most of the range is routing
    # events of a few reps and rules per week), so each figure aggregates far fewer rows.
    keys = ", ".join(f"e.{c}" for c in columns)
    grouped = f"SELECT {keys}, COUNT(*) AS _n FROM ({inner_sql}) e GROUP BY {keys}"
    sql = f"WITH x AS MATERIALIZED ({grouped}) " + " UNION ALL ".join(f"({b})" for b, _p in branches)
    params = [*inner_params, *(p for _b, ps in branches for p in ps)]

    received: dict[int, dict[str, int]] = {}
    takebacks: dict[int, dict[str, int]] = {}
    hits: dict[int, int] = {}
    no_rule = 0
    flows: dict[date, dict[str, int]] = {}
    reasons: list[tuple[int, dict[str, Any]]] = []
    flow_keys = (*FLOW_STATUSES, "released", "reactivated")
    take_keys = [k for k in TAKEBACK_EVENT_KINDS if k != EVENT_RELEASE] + [
        EVENT_RELEASE,
        "released_after_silence",
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for part, k_int, k_week, k_txt, k_txt2, *c in cursor.fetchall():
            if part == "received":
                received[k_int] = dict(zip(RECEIVED_KEYS, c[: len(RECEIVED_KEYS)], strict=True))
            elif part == "takeback":
                takebacks[k_int] = dict(zip(take_keys, c, strict=True))
            elif part == "rule" and k_int is None:
                no_rule = c[0]
            elif part == "rule":
                hits[k_int] = c[0]
            elif part == "week":
                flows[_week_day(k_week)] = dict(zip(flow_keys, c, strict=True))
            elif part == "reason":
                reasons.append((c[1], {"kind": k_txt, "reason": k_txt2, "events": c[0]}))
    return {
        "received": received,
        "takebacks": takebacks,
        "hits": hits,
        "no_rule": no_rule,
        "flows": flows,
        "reasons": [row for _rank, row in sorted(reasons, key=lambda r: r[0])[:reasons_limit]],
    }


# ---------------------------------------------------------------------------------------------
# The whole dashboard


@dataclass
class DashboardLabels:
    """Display names for ids in the aggregates; one query per kind, whatever the data size."""

    reps: dict[int, str] = field(default_factory=dict)
    rep_teams: dict[int, str] = field(default_factory=dict)
    teams: dict[int, str] = field(default_factory=dict)
    sources: dict[int, str] = field(default_factory=dict)


def dashboard_labels(*, scope: DashboardScope) -> DashboardLabels:
    labels = DashboardLabels()
    for rep in Rep.objects.select_related("user", "team").filter(
        Q() if scope.is_all else Q(team_id__in=scope.team_ids)
    ):
        labels.reps[rep.pk] = rep.display_name
        labels.rep_teams[rep.pk] = rep.team.name if rep.team_id else ""
    labels.teams = dict(dashboard_teams_visible(scope=scope).values_list("pk", "name"))
    labels.sources = {
        pk: f"{name} ({code})" for pk, name, code in Source.objects.values_list("pk", "name", "code")
    }
    return labels


def dashboard_filter_choices(*, scope: DashboardScope) -> dict[str, list[tuple[int, str]]]:
    return {
        "teams": list(dashboard_teams_visible(scope=scope).values_list("pk", "name")),
        "sources": list(Source.objects.order_by("name").values_list("pk", "name")),
        "lead_types": list(LeadType.objects.order_by("name").values_list("pk", "name")),
    }


def dashboard_metrics(*, scope: DashboardScope, filters: DashboardFilters, now: datetime) -> dict[str, Any]:
    """Every panel's numbers as plain data (rows of dicts), for the page, CSV, JSON and e-mail.

    On PostgreSQL the queries run in one transaction with JIT compilation off (these aggregates
    are estimated expensive enough to trigger JIT, which then costs about a second of compilation
    per query at a million leads and never pays for itself) and enough work_mem to sort and hash
    a 90-day range in memory. When no outer transaction is open (a request, a task), the two
    heaviest figures run at the same time on a second connection that reads the same snapshot
    (pg_export_snapshot, as pg_dump -j does), so a cold render uses two cores and every figure
    still describes one instant.
    """
    postgres = connection.vendor == "postgresql"
    side = postgres and not connection.in_atomic_block  # inside a caller's transaction: one connection
    with transaction.atomic():
        snapshot = None
        if postgres:
            with connection.cursor() as cursor:
                if side:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                _pg_settings(cursor)
                if side:
                    cursor.execute("SELECT pg_export_snapshot()")
                    snapshot = cursor.fetchone()[0]
        return _dashboard_metrics(scope=scope, filters=filters, now=now, snapshot=snapshot)


def _pg_settings(cursor) -> None:
    cursor.execute("SET LOCAL jit = off")
    cursor.execute("SET LOCAL work_mem = '64MB'")
    # The render already splits over two connections, and its grouping-set / percentile
    # aggregates cannot run in parallel workers: extra workers only compete for the same cores
    # (measured: about 0.1 s slower per cold render on the 2-core box).
    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")


SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f-]+$")


def _side_figures(
    *, scope: DashboardScope, filters: DashboardFilters, now: datetime
) -> tuple[dict, dict | None]:
    """The two heaviest figures, about half of a cold render's database time."""
    return speed_levels(scope=scope, filters=filters, now=now), event_pass(scope=scope, filters=filters)


def _side_figures_on_snapshot(
    snapshot: str, *, scope: DashboardScope, filters: DashboardFilters, now: datetime
) -> tuple[dict, dict | None]:
    """_side_figures on this thread's own connection, inside the exporting transaction's
    snapshot; the connection is closed afterwards (the thread ends)."""
    if not SNAPSHOT_ID.match(snapshot):
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            _pg_settings(cursor)
            return _side_figures(scope=scope, filters=filters, now=now)
    finally:
        connection.close()


def _dashboard_metrics(
    *, scope: DashboardScope, filters: DashboardFilters, now: datetime, snapshot: str | None = None
) -> dict[str, Any]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        side = (
            pool.submit(_side_figures_on_snapshot, snapshot, scope=scope, filters=filters, now=now)
            if snapshot
            else None
        )
        labels = dashboard_labels(scope=scope)
        overdue = overdue_now_by_owner(scope=scope, filters=filters, now=now)
        cube = lead_cube(scope=scope, filters=filters)
        cycle = sales_cycle_by_team(scope=scope, filters=filters)
        funnel = stage_funnel(scope=scope, filters=filters, now=now, current=cube["current_stage"])
        load = open_load_by_rep(scope=scope, filters=filters)
        speed, events = side.result() if side else _side_figures(scope=scope, filters=filters, now=now)
    events = events or {}
    speed_rep, speed_team, speed_all = speed["rep"], speed["team"], speed["all"]
    conversions = cube["conversion"]
    distribution = distribution_by_rep(
        scope=scope,
        filters=filters,
        now=now,
        received=events.get("received"),
        takebacks=events.get("takebacks"),
        load=load,
    )
    rules = rule_hits(scope=scope, filters=filters, hits=events.get("hits"), no_rule=events.get("no_rule"))
    lifecycle = lifecycle_weekly(
        scope=scope, filters=filters, created=cube["created_weekly"], flows=events.get("flows")
    )
    total_leads = sum(r["leads"] for r in conversions["team"])
    total_converted = sum(r["converted"] for r in conversions["team"])
    fairness = fairness_summary(rows=distribution)
    return {
        "generated_at": now,
        "filters": filters.as_dict(),
        "labels": labels,
        "headline": {
            "leads": total_leads,
            "assigned": speed_all["assigned"],
            "median_response_hours": speed_all["median_hours"],
            "p90_response_hours": speed_all["p90_hours"],
            "within_sla_rate": speed_all["within_sla_rate"],
            "overdue_now": sum(overdue.values()),
            "converted": total_converted,
            "conversion_rate": _rate(total_converted, total_leads),
            "median_cycle_days": cycle["all"]["median_days"],
            "default_rule_share": rules["default_share"],
            "gini": fairness["gini"],
            "silent_now": sum(r["now_silent"] for r in lifecycle),
            "released": sum(r["released"] for r in lifecycle),
            "reactivated": sum(r["reactivated"] for r in lifecycle),
        },
        "speed_rep": speed_rep,
        "speed_team": speed_team,
        "speed_all": speed_all,
        "overdue": overdue,
        "conversion": conversions,
        "cycle": cycle,
        "funnel": funnel,
        "distribution": distribution,
        "fairness": fairness,
        "rules": rules,
        "takeback_reasons": takeback_reasons(scope=scope, filters=filters, rows=events.get("reasons")),
        "deciles": cube["deciles"],
        "lifecycle": lifecycle,
    }


# ---------------------------------------------------------------------------------------------
# Cache

CACHE_SECONDS = 60
CACHE_VERSION = "v1"


def dashboard_cache_key(*, scope: DashboardScope, filters: DashboardFilters) -> str:
    return f"dashboard:{CACHE_VERSION}:{scope.cache_part()}:{filters.cache_part()}"


def dashboard_metrics_cached(
    *,
    scope: DashboardScope,
    filters: DashboardFilters,
    now: datetime,
    refresh: bool = False,
    timeout: int = CACHE_SECONDS,
) -> dict[str, Any]:
    """A minute's cache per visible-teams × filters: a manager clicking around, or several
    managers on the same view, cost the database once. `refresh` recomputes (the warm task)."""
    key = dashboard_cache_key(scope=scope, filters=filters)
    metrics = None if refresh else cache.get(key)
    if metrics is None:
        metrics = dashboard_metrics(scope=scope, filters=filters, now=now)
        cache.set(key, metrics, timeout)
    return metrics


def dashboard_scopes_in_use() -> list[DashboardScope]:
    """The scopes somebody can open: everything (managers) and each team lead's set of teams."""
    led: dict[int, list[int]] = {}
    for team_id, user_id in Team.objects.filter(lead__isnull=False, lead__is_active=True).values_list(
        "pk", "lead_id"
    ):
        led.setdefault(user_id, []).append(team_id)
    scopes = {DashboardScope(team_ids=None)} | {
        DashboardScope(team_ids=tuple(sorted(t))) for t in led.values()
    }
    return sorted(scopes, key=lambda s: s.cache_part())
