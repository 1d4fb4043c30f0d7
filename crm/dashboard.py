"""The manager dashboard's entry points: the HTML page, one CSV per figure, and a read-only JSON
feed for BI tools. All three render the same figures, built from crm.selectors.dashboard_metrics
and cached per (visible teams, filters) for a minute."""

from __future__ import annotations

import csv
import inspect
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from crm import charts, selectors
from crm.selectors import DashboardFilters, DashboardScope
from crm.spreadsheets import cell_escape

CACHE_SECONDS = selectors.CACHE_SECONDS
MAX_RANGE_DAYS = 731


# ---------------------------------------------------------------------------------------------
# Filters


class DashboardFilterForm(forms.Form):
    start = forms.DateField(label=_("from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.TypedChoiceField(label=_("team"), required=False, coerce=int, empty_value=None)
    source = forms.TypedChoiceField(label=_("source"), required=False, coerce=int, empty_value=None)
    lead_type = forms.TypedChoiceField(label=_("lead type"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, choices: dict[str, list[tuple[int, str]]], default: DashboardFilters, **kwargs):
        super().__init__(*args, **kwargs)
        self.default = default
        self.fields["start"].widget.attrs["placeholder"] = default.start.isoformat()
        self.fields["end"].widget.attrs["placeholder"] = default.end.isoformat()
        for name, key in (("team", "teams"), ("source", "sources"), ("lead_type", "lead_types")):
            self.fields[name].choices = [("", _("all"))] + [(str(pk), label) for pk, label in choices[key]]

    def clean(self):
        data = super().clean()
        start = data.get("start") or self.default.start
        end = data.get("end") or self.default.end
        if start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        if (end - start).days > MAX_RANGE_DAYS:
            raise forms.ValidationError(_("Pick at most two years."))
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> DashboardFilters:
        """The validated filters, or the defaults when the query string is invalid."""
        if not self.is_valid():
            return self.default
        d = self.cleaned_data
        return DashboardFilters(
            start=d["start"],
            end=d["end"],
            team_id=d["team"],
            source_id=d["source"],
            lead_type_id=d["lead_type"],
        )


def _scope_or_403(request: HttpRequest) -> DashboardScope:
    scope = selectors.dashboard_scope_for(user=request.user)
    if scope is None:
        raise PermissionDenied("The dashboard is for managers and team leads.")
    return scope


def _parse(
    request: HttpRequest, scope: DashboardScope, now: datetime
) -> tuple[DashboardFilterForm, DashboardFilters]:
    form = DashboardFilterForm(
        request.GET or None,
        choices=selectors.dashboard_filter_choices(scope=scope),
        default=selectors.dashboard_filters_default(now=now),
    )
    return form, form.filters() if request.GET else form.default


# ---------------------------------------------------------------------------------------------
# Figures: one table (+ chart) per figure, in the page, the CSV and the JSON


@dataclass
class Figure:
    key: str
    panel: str
    title: str
    definition: str
    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    chart: Callable[[], str] | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def chart_svg(self) -> str:
        return self.chart() if self.chart else ""

    def header(self) -> list[str]:
        return [str(label) for _key, label in self.columns]

    def cells(self) -> list[list[str]]:
        return [[_display(row.get(key)) for key, _label in self.columns] for row in self.rows]


def _display(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else ""
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def _doc(func: Callable) -> str:
    """The selector's docstring is the metric's definition: written once, shown in the '?'."""
    return " ".join((inspect.getdoc(func) or "").split())


def _bars(
    title: str, rows: list[dict], label: str, series: list[tuple[str, str]], unit: str = ""
) -> Callable:
    return lambda: charts.bar_chart(
        title=title,
        labels=[str(r[label]) for r in rows],
        series=[(name, [r.get(col) for r in rows]) for name, col in series],
        unit=unit,
    )


def _too_few_note(rows: list[dict]) -> str:
    if any(r.get("too_few") and r.get("leads") for r in rows):
        return str(
            _("Cells marked “too few” have fewer than %(n)d leads: their rate is too noisy to judge.")
            % {"n": selectors.MIN_LEADS_TO_JUDGE}
        )
    return ""


def figures_build(metrics: dict[str, Any]) -> list[Figure]:
    """Turn the metrics into labelled tables with their charts and definitions."""
    lab = metrics["labels"]
    figs: list[Figure] = []

    def rep_name(pk):
        return lab.reps.get(pk, f"rep #{pk}") if pk else str(_("(no owner)"))

    def team_name(pk):
        return lab.teams.get(pk, f"team #{pk}") if pk else str(_("(no team)"))

    speed_cols = [
        ("assigned", _("assigned")),
        ("contacted", _("contacted")),
        ("not_contacted", _("not contacted yet")),
        ("median_hours", _("median h")),
        ("p90_hours", _("p90 h")),
        ("within_sla", _("within SLA")),
        ("sla_judged", _("SLA judged")),
        ("within_sla_rate", _("within SLA %")),
    ]
    speed_def = " ".join(
        _doc(f)
        for f in (selectors.speed_by, selectors.first_contact_at_expression, selectors.overdue_now_by_owner)
    )
    overdue = metrics["overdue"]
    rep_rows = [
        {"rep": rep_name(pk), "team": lab.rep_teams.get(pk, ""), **row, "overdue_now": overdue.get(pk, 0)}
        for pk, row in metrics["speed_rep"].items()
    ]
    for pk, n in overdue.items():  # overdue leads of reps with nothing assigned in the range
        if pk not in metrics["speed_rep"]:
            rep_rows.append({"rep": rep_name(pk), "team": lab.rep_teams.get(pk, ""), "overdue_now": n})
    rep_rows.sort(key=lambda r: (r["team"], r["rep"]))
    figs.append(
        Figure(
            "speed_rep",
            "speed",
            str(_("Time to first contact per rep")),
            speed_def,
            [("rep", _("rep")), ("team", _("team")), *speed_cols, ("overdue_now", _("overdue now"))],
            rep_rows,
            _bars(
                "median / p90 hours per rep",
                rep_rows,
                "rep",
                [("median", "median_hours"), ("p90", "p90_hours")],
                " h",
            ),
        )
    )
    team_rows = sorted(
        ({"team": team_name(pk), **row} for pk, row in metrics["speed_team"].items()), key=lambda r: r["team"]
    )
    team_rows.append({"team": str(_("all")), **metrics["speed_all"]})
    figs.append(
        Figure(
            "speed_team",
            "speed",
            str(_("Time to first contact per team")),
            speed_def,
            [("team", _("team")), *speed_cols],
            team_rows,
            _bars(
                "median / p90 hours per team",
                team_rows,
                "team",
                [("median", "median_hours"), ("p90", "p90_hours")],
                " h",
            ),
        )
    )

    conv_cols = [
        ("leads", _("leads")),
        ("converted", _("converted")),
        ("lost", _("lost")),
        ("open", _("open")),
        ("rate", _("conversion %")),
        ("too_few", _("too few")),
    ]
    namers = {
        "rep": rep_name,
        "team": team_name,
        "source": lambda pk: lab.sources.get(pk, f"source #{pk}"),
        "channel": str,
        "tier": str,
        "band": str,
    }
    titles = {
        "rep": _("Conversion per rep"),
        "team": _("Conversion per team"),
        "source": _("Conversion per source"),
        "channel": _("Conversion per channel"),
        "tier": _("Conversion per tier (as stamped at scoring)"),
        "band": _("Conversion per score band (current thresholds)"),
    }
    for dim, rows in metrics["conversion"].items():
        named = sorted(
            ({"name": namers[dim](r["key"]), **{k: v for k, v in r.items() if k != "key"}} for r in rows),
            key=lambda r: (-r["leads"], r["name"]),
        )
        definition = _doc(selectors.conversion_by)
        if dim == "band":
            definition += " " + _doc(selectors.score_band_expression)
        figs.append(
            Figure(
                f"conversion_{dim}",
                "calibration" if dim in ("tier", "band") else "outcomes",
                str(titles[dim]),
                definition + " " + _doc(selectors.converted_q),
                [("name", _(dim)), *conv_cols],
                named,
                _bars(str(titles[dim]), named, "name", [("conversion %", "rate")], "%"),
                note=_too_few_note(named),
            )
        )

    cycle_rows = [
        {"team": str(_("all")) if pk == "all" else team_name(pk), **row}
        for pk, row in metrics["cycle"].items()
    ]
    figs.append(
        Figure(
            "sales_cycle",
            "outcomes",
            str(_("Sales cycle length")),
            _doc(selectors.sales_cycle_by_team),
            [
                ("team", _("team")),
                ("converted", _("converted")),
                ("avg_days", _("average days")),
                ("median_days", _("median days")),
                ("p90_days", _("p90 days")),
            ],
            cycle_rows,
            _bars(
                "sales cycle days", cycle_rows, "team", [("median", "median_days"), ("p90", "p90_days")], " d"
            ),
        )
    )
    funnel = [{**r, "label": f"{r['lead_type']} · {r['stage']}"} for r in metrics["funnel"]]
    figs.append(
        Figure(
            "stage_funnel",
            "outcomes",
            str(_("Stage funnel and dwell time")),
            _doc(selectors.stage_funnel),
            [
                ("lead_type", _("lead type")),
                ("stage", _("stage")),
                ("entered", _("entered")),
                ("now_in_stage", _("now in stage")),
                ("still_there", _("still there")),
                ("dwell_median_days", _("dwell median days")),
                ("dwell_p90_days", _("dwell p90 days")),
            ],
            funnel,
            _bars(
                "stage funnel", funnel, "label", [("entered", "entered"), ("now in stage", "now_in_stage")]
            ),
        )
    )

    dist = metrics["distribution"]
    figs.append(
        Figure(
            "distribution",
            "fairness",
            str(_("Leads received per rep vs weight and capacity")),
            " ".join(
                _doc(f)
                for f in (
                    selectors.distribution_by_rep,
                    selectors.received_by_rep,
                    selectors.open_load_by_rep,
                )
            ),
            [
                ("rep", _("rep")),
                ("team", _("team")),
                ("status", _("status")),
                ("weight", _("weight")),
                ("weight_share", _("weight share %")),
                ("routed", _("routed")),
                ("routed_share", _("routed share %")),
                ("share_vs_weight", _("routed share ÷ weight share")),
                ("received", _("received (all ways)")),
                ("claimed", _("claimed")),
                ("transferred_in", _("transferred in")),
                ("reactivated", _("reactivated")),
                ("open_load", _("open now")),
                ("capacity", _("capacity")),
                ("load_pct", _("load %")),
                ("penalised", _("penalised")),
                ("penalty_until", _("penalty until")),
                ("penalty_reason", _("penalty reason")),
            ],
            dist,
            _bars(
                "routed share vs weight share",
                dist,
                "rep",
                [
                    ("routed share %", "routed_share"),
                    ("weight share %", "weight_share"),
                    ("load %", "load_pct"),
                ],
                "%",
            ),
        )
    )
    figs.append(
        Figure(
            "takebacks",
            "fairness",
            str(_("Recalls and releases per rep, by why")),
            _doc(selectors.takebacks_by_rep),
            [
                ("rep", _("rep")),
                ("team", _("team")),
                ("recall", _("manual recall")),
                ("sla_recall", _("first-contact SLA")),
                ("progress_recall", _("no progress")),
                ("claim_lapsed", _("claim not followed up")),
                ("transferred_out", _("transferred out")),
                ("released", _("released by rep")),
                ("released_after_silence", _("released after silence")),
            ],
            dist,
            _bars(
                "recalls per rep",
                dist,
                "rep",
                [
                    ("manual", "recall"),
                    ("SLA", "sla_recall"),
                    ("no progress", "progress_recall"),
                    ("claim lapsed", "claim_lapsed"),
                    ("released", "released"),
                ],
            ),
        )
    )
    fair = metrics["fairness"]
    figs.append(
        Figure(
            "fairness",
            "fairness",
            str(_("Round-robin fairness")),
            _doc(selectors.fairness_summary) + " " + _doc(selectors.gini),
            [("measure", _("measure")), ("value", _("value"))],
            [
                {"measure": "eligible reps", "value": fair["reps"]},
                {"measure": "Gini of routed ÷ weight", "value": fair["gini"]},
                {"measure": "max routed ÷ weight", "value": fair["max_per_weight"]},
                {"measure": "min routed ÷ weight", "value": fair["min_per_weight"]},
                {"measure": "max ÷ min", "value": fair["spread"]},
            ],
        )
    )

    rules = metrics["rules"]
    figs.append(
        Figure(
            "rule_hits",
            "rules",
            str(_("Hits per assignment rule")),
            _doc(selectors.rule_hits),
            [
                ("rule_set", _("rule set")),
                ("position", _("position")),
                ("rule", _("rule")),
                ("strategy", _("strategy")),
                ("is_default", _("default")),
                ("hits", _("hits in range")),
                ("share", _("share %")),
                ("hit_count_all_time", _("hits all time")),
                ("last_matched_at", _("last matched")),
            ],
            rules["rows"],
            _bars("hits per rule", rules["rows"], "rule", [("hits", "hits")]),
            note=str(
                _(
                    "Default rule share: %(share)s%% of %(total)d routed leads; %(none)d routing events had no rule."
                )
                % {
                    "share": "—" if rules["default_share"] is None else rules["default_share"],
                    "total": rules["routed_with_rule"],
                    "none": rules["routed_without_rule"],
                }
            ),
        )
    )
    reasons = metrics["takeback_reasons"]
    figs.append(
        Figure(
            "takeback_reasons",
            "rules",
            str(_("Recall and release reasons")),
            _doc(selectors.takeback_reasons),
            [("kind", _("kind")), ("reason", _("reason")), ("events", _("events"))],
            reasons,
            _bars(
                "recall reasons",
                [{**r, "label": f"{r['kind']}: {r['reason']}"} for r in reasons],
                "label",
                [("events", "events")],
            ),
        )
    )
    deciles = [
        {**r, "range": "—" if r["min_score"] is None else f"{r['min_score']}–{r['max_score']}"}
        for r in metrics["deciles"]
    ]
    figs.append(
        Figure(
            "score_deciles",
            "calibration",
            str(_("Conversion per score decile")),
            _doc(selectors.score_deciles),
            [
                ("decile", _("decile")),
                ("range", _("scores")),
                ("leads", _("leads")),
                ("converted", _("converted")),
                ("rate", _("conversion %")),
                ("too_few", _("too few")),
            ],
            deciles,
            _bars(
                "conversion per decile",
                [{**r, "d": f"D{r['decile']}"} for r in deciles],
                "d",
                [("%", "rate")],
                "%",
            ),
            note=_too_few_note(deciles),
        )
    )

    weekly = [{**r, "week_label": f"{r['week']:%m-%d}"} for r in metrics["lifecycle"]]
    flow_cols = ["created", "assigned", "pooled", "silenced", "released", "reactivated", "converted", "lost"]
    figs.append(
        Figure(
            "lifecycle_flows",
            "lifecycle",
            str(_("Life-cycle flows per week")),
            _doc(selectors.lifecycle_weekly),
            [("week", _("week of")), *[(c, _(c)) for c in flow_cols]],
            weekly,
            lambda: charts.line_chart(
                title="flows per week",
                x_labels=[r["week_label"] for r in weekly],
                series=[(c, [r[c] for r in weekly]) for c in flow_cols],
            ),
        )
    )
    statuses = ["new", "nurturing", "pooled", "assigned", "silent", "converted", "lost"]
    figs.append(
        Figure(
            "status_by_week",
            "lifecycle",
            str(_("Current status of the leads created each week")),
            _doc(selectors.lifecycle_weekly),
            [("week", _("week of")), ("created", _("created")), *[(f"now_{s}", _(s)) for s in statuses]],
            weekly,
            lambda: charts.line_chart(
                title="status by creation week",
                x_labels=[r["week_label"] for r in weekly],
                series=[(s, [r[f"now_{s}"] for r in weekly]) for s in statuses],
            ),
        )
    )
    return figs


PANELS = [
    ("speed", _("Speed")),
    ("outcomes", _("Outcomes")),
    ("fairness", _("Distribution and fairness")),
    ("rules", _("Rules")),
    ("calibration", _("Score calibration")),
    ("lifecycle", _("Life cycle")),
]


# ---------------------------------------------------------------------------------------------
# CSV


def csv_cell(value: Any) -> str | int | float:
    """A cell safe for spreadsheets: text starting with = + - @ tab or CR gets a leading
    apostrophe so it is shown, never run, as a formula. Numbers are kept as numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, date):
        value = value.isoformat()
    return cell_escape(str(value))


def figure_csv(figure: Figure) -> str:
    """UTF-8 with a BOM so Excel opens Chinese text correctly."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow([csv_cell(str(label)) for _key, label in figure.columns])
    for row in figure.rows:
        writer.writerow([csv_cell(row.get(key)) for key, _label in figure.columns])
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Views


@require_GET
@login_required
def dashboard_index(request: HttpRequest) -> HttpResponse:
    scope = _scope_or_403(request)
    now = timezone.now()
    form, filters = _parse(request, scope, now)
    metrics = selectors.dashboard_metrics_cached(scope=scope, filters=filters, now=now)
    figures = figures_build(metrics)
    panels = [(key, label, [f for f in figures if f.panel == key]) for key, label in PANELS]
    return render(
        request,
        "dashboard/index.html",
        {
            "form": form,
            "filters": filters,
            "scope": scope,
            "metrics": metrics,
            "headline": metrics["headline"],
            "panels": panels,
            "query": request.GET.urlencode(),
            "definitions": {
                "first_contact": _doc(selectors.first_contact_at_expression),
                "converted": _doc(selectors.converted_q),
            },
        },
    )


@require_GET
@login_required
def dashboard_csv(request: HttpRequest, figure: str) -> HttpResponse:
    scope = _scope_or_403(request)
    now = timezone.now()
    _form, filters = _parse(request, scope, now)
    metrics = selectors.dashboard_metrics_cached(scope=scope, filters=filters, now=now)
    chosen = next((f for f in figures_build(metrics) if f.key == figure), None)
    if chosen is None:
        raise Http404("No such figure.")
    response = HttpResponse(figure_csv(chosen), content_type="text/csv; charset=utf-8")
    name = f"leadflow-{chosen.key}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _json_ready(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


@require_GET
@login_required
def dashboard_json(request: HttpRequest) -> JsonResponse:
    """Read-only: the same figures, with their definitions, for BI tools (session login)."""
    scope = _scope_or_403(request)
    now = timezone.now()
    form, filters = _parse(request, scope, now)
    metrics = selectors.dashboard_metrics_cached(scope=scope, filters=filters, now=now)
    body = {
        "generated_at": metrics["generated_at"],
        "filters": metrics["filters"],
        "filter_errors": form.errors.get_json_data() if request.GET and not form.is_valid() else {},
        "visible_teams": "all" if scope.is_all else list(scope.team_ids),
        "headline": metrics["headline"],
        "figures": {
            f.key: {
                "panel": f.panel,
                "title": f.title,
                "definition": f.definition,
                "note": f.note,
                "columns": [{"key": k, "label": str(label)} for k, label in f.columns],
                "rows": [{k: _json_ready(r.get(k)) for k, _label in f.columns} for r in f.rows],
            }
            for f in figures_build(metrics)
        },
    }
    response = JsonResponse(body, encoder=DjangoJSONEncoder, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = f"private, max-age={CACHE_SECONDS}"
    return response
