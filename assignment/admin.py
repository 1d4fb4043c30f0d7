"""Admin for rule sets (drag to order, structured conditions, simulate), claim policies, and the
bulk lead actions / departure handover added to the lead and rep admins by subclassing."""

from __future__ import annotations

import uuid

from adminsortable2.admin import CustomInlineFormSet, SortableAdminBase, SortableTabularInline
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

import leads.admin as _leads_admin  # registers LeadAdmin before we replace it, whatever the app order
from assignment.conditions import condition_text
from assignment.explain import events_explained
from assignment.forms import (
    AssignmentRuleForm,
    DepartureForm,
    LeadActionForm,
    SimulationForm,
    TransferToRepForm,
    TransferToTeamForm,
)
from assignment.models import AssignmentRule, ClaimPolicy, RotationCursor, RuleSet, RuleTarget
from assignment.selectors import rule_set_warnings
from assignment.services import (
    ActionRefused,
    RuleSetError,
    leads_recall,
    leads_reroute,
    leads_transfer,
    rep_depart,
    rule_set_activate,
    rule_set_default_last,
)
from assignment.simulation import (
    decision_sentences,
    leads_from_sample,
    outcome_text,
    recent_leads,
    rule_set_simulate,
)
from assignment.tasks import LARGE_ACTION, action_progress_many, action_progress_set
from crm import admin as _crm_admin
from crm.models import Rep
from crm.rules import led_team_ids, user_is_manager
from leads.models import Lead
from leads.selectors import lead_regions


def conditions_summary(rule: AssignmentRule) -> str:
    parts = [condition_text(c) for c in rule.conditions or [] if isinstance(c, dict)]
    any_of = [condition_text(c) for c in rule.any_conditions or [] if isinstance(c, dict)]
    if any_of:
        parts.append("any of (" + "; ".join(any_of) + ")")
    if rule.is_default:
        return "(default: every remaining lead)"
    return " and ".join(parts) or "(every lead)"


class RuleInlineFormSet(CustomInlineFormSet):
    """Exactly one default rule per set; it can be neither deleted nor switched off."""

    def clean(self):
        super().clean()
        defaults = 0
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            data = form.cleaned_data
            is_default = data.get("is_default")
            if data.get("DELETE"):
                if form.instance.pk and form.instance.is_default:
                    raise ValidationError(
                        _("The default rule cannot be deleted; make another rule the default first.")
                    )
                continue
            if is_default:
                defaults += 1
                if data.get("active") is False:
                    raise ValidationError(_("The default rule cannot be switched off."))
        if defaults != 1:
            raise ValidationError(
                _("A rule set needs exactly one default rule (it catches every lead the others leave).")
            )


class AssignmentRuleInline(SortableTabularInline):
    model = AssignmentRule
    formset = RuleInlineFormSet
    extra = 0
    fields = [
        "position",
        "name",
        "active",
        "is_default",
        "strategy",
        "target_team",
        "target_level",
        "on_no_eligible",
        "conditions_text",
        "warnings",
        "hit_count",
        "last_matched_at",
    ]
    readonly_fields = ["conditions_text", "warnings", "hit_count", "last_matched_at"]
    show_change_link = True

    @admin.display(description=_("conditions"))
    def conditions_text(self, obj):
        return conditions_summary(obj) if obj.pk else "(save, then edit the conditions)"

    @admin.display(description=_("warnings"))
    def warnings(self, obj):
        if not obj.pk:
            return ""
        rule_set = obj.rule_set  # the formset's parent: worked out once for all its rules
        found = getattr(rule_set, "_rule_warnings", None)
        if found is None:
            found = rule_set._rule_warnings = rule_set_warnings(rule_set=rule_set)
        messages_ = found.get(obj.pk, [])
        if not messages_:
            return "-"
        return format_html_join(
            "", '<div style="color: var(--error-fg); min-width: 16em">⚠ {}</div>', ((m,) for m in messages_)
        )


@admin.register(RuleSet)
class RuleSetAdmin(SortableAdminBase, admin.ModelAdmin):
    """Rules are ordered by dragging in the inline (saved with the rule set). The sortable
    changelist `update_order` endpoint is deliberately not used: it checks model permissions
    only (see PITFALLS), and rule order is only changed through this change form."""

    list_display = ["name", "trigger", "is_active", "rule_count", "updated_at", "simulate_link"]
    list_filter = ["trigger", "is_active"]
    inlines = [AssignmentRuleInline]
    actions = ["activate"]
    readonly_fields = ["is_active"]
    change_form_template = "admin/assignment/ruleset/change_form.html"

    @admin.display(description=_("rules"))
    def rule_count(self, obj):
        return obj.rules.count()

    @admin.display(description=_("simulate"))
    def simulate_link(self, obj):
        return format_html_join(
            "",
            '<a href="{}">{}</a>',
            [(reverse("admin:assignment_ruleset_simulate", args=[obj.pk]), _("simulate"))],
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        rule_set_default_last(rule_set=form.instance)

    @admin.action(description=_("Make the selected rule set live for its trigger"), permissions=["change"])
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one rule set to make live."), messages.ERROR)
            return
        rule_set = queryset.get()
        try:
            rule_set_activate(rule_set=rule_set)
        except RuleSetError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, _("%(name)s is now live.") % {"name": rule_set.name}, messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "<int:pk>/simulate/",
                self.admin_site.admin_view(self.simulate_view),
                name="assignment_ruleset_simulate",
            ),
        ] + super().get_urls()

    def simulate_view(self, request, pk: int):
        """Read-only: runs the engine without locks or writes (assignment.simulation)."""
        rule_set = get_object_or_404(RuleSet, pk=pk)
        if not self.has_view_permission(request, rule_set):
            raise PermissionDenied
        rules = list(rule_set.rules.order_by("position", "id"))
        result = None
        form = SimulationForm(request.POST or None, request.FILES or None, rules=rules)
        if request.method == "POST" and form.is_valid():
            sample = form.sample_rows()
            leads = (
                leads_from_sample(sample)
                if sample is not None
                else recent_leads(count=form.cleaned_data["last_n"] or 200)
            )
            result = rule_set_simulate(rule_set=rule_set, leads=leads, order=form.draft_order())
        rows = []
        if result is not None:
            for row in result.rows:
                rows.append(
                    {
                        "lead": row.lead,
                        "live": outcome_text(row.live),
                        "draft": outcome_text(row.draft),
                        "changed": row.changed,
                        "why": " ".join(decision_sentences(row.draft)),
                    }
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": rule_set,
            "title": _("Simulate %(name)s") % {"name": rule_set.name},
            "form": form,
            "result": result,
            "rows": rows,
            "conditions": {rule.pk: conditions_summary(rule) for rule in rules},
        }
        return TemplateResponse(request, "admin/assignment/ruleset/simulate.html", context)


class RuleTargetInline(admin.TabularInline):
    model = RuleTarget
    extra = 0
    raw_id_fields = ["rep"]
    fields = ["rep", "weight"]


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    form = AssignmentRuleForm
    list_display = [
        "name",
        "rule_set",
        "position",
        "strategy",
        "active",
        "is_default",
        "hit_count",
        "last_matched_at",
    ]
    list_filter = ["rule_set", "strategy"]
    list_select_related = ["rule_set"]
    inlines = [RuleTargetInline]
    readonly_fields = ["hit_count", "last_matched_at"]
    fieldsets = [
        (None, {"fields": ["rule_set", "name", "active", "is_default", "position"]}),
        (_("When"), {"fields": ["conditions", "any_conditions"]}),
        (
            _("Schedule (optional)"),
            {
                "fields": ["schedule_days", "schedule_start", "schedule_end", "schedule_timezone"],
                "classes": ["collapse"],
            },
        ),
        (
            _("Then"),
            {
                "fields": [
                    "strategy",
                    "target_team",
                    "target_level",
                    "on_no_eligible",
                    "default_owner",
                    "pool_team",
                    "options",
                ]
            },
        ),
        (_("Statistics"), {"fields": ["hit_count", "last_matched_at"]}),
    ]
    raw_id_fields = ["default_owner"]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset.exclude(is_default=True))

    def response_change(self, request, obj):
        rule_set_default_last(rule_set=obj.rule_set)
        return super().response_change(request, obj)

    def response_add(self, request, obj, post_url_continue=None):
        rule_set_default_last(rule_set=obj.rule_set)
        return super().response_add(request, obj, post_url_continue)


@admin.register(ClaimPolicy)
class ClaimPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "level",
        "daily_claim_cap",
        "max_untouched",
        "follow_up_hours",
        "penalty_mode",
        "penalty_factor",
        "penalty_hours",
        "adaptive",
    ]


@admin.register(RotationCursor)
class RotationCursorAdmin(admin.ModelAdmin):
    """Read-only: cursors are written under lock by routing only."""

    list_display = ["key", "state", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- bulk lead actions and departure, added by subclassing the owners' admins ------------------------

LEAD_ACTIONS = {
    "recall_to_pool": (
        "recall",
        LeadActionForm,
        _("Recall to the pool"),
        _("They leave their owners and go to the public pool."),
    ),
    "transfer_to_rep": (
        "transfer_rep",
        TransferToRepForm,
        _("Transfer to a rep"),
        _("They all go to the rep you choose (within that rep's cap)."),
    ),
    "transfer_to_team": (
        "transfer_team",
        TransferToTeamForm,
        _("Transfer to a team"),
        _("They are routed inside the team by its rule; if nobody there is eligible they wait in its pool."),
    ),
    "reroute_by_rules": (
        "reroute",
        LeadActionForm,
        _("Re-route by the rules"),
        _("They go through the live rules again, away from their current owner."),
    ),
}


JOBS_SESSION_KEY = "lead_action_jobs"
JOB_LABELS = {
    "recall": _("recall"),
    "transfer_rep": _("transfer"),
    "transfer_team": _("transfer"),
    "reroute": _("re-route"),
}


class RegionListFilter(admin.AllValuesFieldListFilter):
    """The region filter with its choices read by leads.selectors.lead_regions (an index skip
    scan) when the changelist is unscoped (managers): Django's own SELECT DISTINCT over a
    million-row lead table is most of the changelist's time. Scoped (team-lead) changelists keep
    Django's query over their own leads."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        if field_path == "region" and not self.lookup_choices.query.where:
            self.lookup_choices = lead_regions()


class LeadActionsAdmin(_leads_admin.LeadAdmin):
    """The intake team's LeadAdmin plus recall / transfer / re-route. Every action asks for a
    confirmation with the count, the effect and a required reason before anything changes, and
    works on "all N matching" the filter, not just the visible page."""

    list_filter = [
        ("region", RegionListFilter) if f == "region" else f for f in _leads_admin.LeadAdmin.list_filter
    ]

    actions = [
        *(_leads_admin.LeadAdmin.actions or []),
        "recall_to_pool",
        "transfer_to_rep",
        "transfer_to_team",
        "reroute_by_rules",
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "routing_explanation"] if obj is not None else fields

    @admin.display(description=_("routing explanation"))
    def routing_explanation(self, obj):
        """Why the lead is where it is: the latest routing decision, as on the lead page."""
        from leads.models import LeadEvent

        latest = [
            e
            for e in LeadEvent.objects.filter(lead=obj).exclude(to_status="").order_by("-id")[:5]
            if isinstance(e.data, dict) and e.data.get("explanation")
        ][:1]
        sentences = next(iter(events_explained(latest).values()), None)
        if not sentences:
            return "—"
        return format_html("<ol>{}</ol>", format_html_join("", "<li>{}</li>", ((s,) for s in sentences)))

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if user_is_manager(request.user):
            return qs
        led = led_team_ids(request.user)
        return qs.filter(Q(team_id__in=led) | Q(pool_team_id__in=led)) if led else qs.none()

    def has_recall_permission(self, request):
        return request.user.has_perm("leads.recall_lead")

    def has_transfer_permission(self, request):
        return request.user.has_perm("leads.transfer_lead")

    def _lead_action(self, request, queryset, name: str):
        kind, form_class, title, effect = LEAD_ACTIONS[name]
        form = form_class(request.POST if "confirm" in request.POST else None)
        count = queryset.count()
        if "confirm" in request.POST and form.is_valid():
            data = form.cleaned_data
            try:
                if count > LARGE_ACTION:
                    from django_q.tasks import async_task

                    ids = list(queryset.values_list("pk", flat=True))
                    job = uuid.uuid4().hex
                    action_progress_set(job, action=kind, total=len(ids), done=0, state="queued")
                    async_task(
                        "assignment.tasks.lead_action_run",
                        action=kind,
                        ids=ids,
                        actor_id=request.user.pk,
                        reason=data["reason"],
                        to_rep_id=data["to_rep"].pk if data.get("to_rep") else None,
                        to_team_id=data["to_team"].pk if data.get("to_team") else None,
                        job=job,
                    )
                    request.session[JOBS_SESSION_KEY] = [*request.session.get(JOBS_SESSION_KEY, [])[-9:], job]
                    self.message_user(
                        request,
                        _(
                            "%(n)s leads queued as a background job; its progress is shown on this page"
                            " and you will be notified when it is done."
                        )
                        % {"n": count},
                    )
                    return None
                if kind == "recall":
                    result = leads_recall(leads_qs=queryset, actor=request.user, reason=data["reason"])
                elif kind == "transfer_rep":
                    result = leads_transfer(
                        leads_qs=queryset, actor=request.user, reason=data["reason"], to_rep=data["to_rep"]
                    )
                elif kind == "transfer_team":
                    result = leads_transfer(
                        leads_qs=queryset, actor=request.user, reason=data["reason"], to_team=data["to_team"]
                    )
                else:
                    result = leads_reroute(leads_qs=queryset, actor=request.user, reason=data["reason"])
            except ActionRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            note = f" {result.skipped} left as they were." if result.skipped else ""
            self.message_user(request, result.message + note, messages.SUCCESS)
            return None
        by_status = dict(queryset.order_by().values_list("status").annotate(n=Count("id")))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "effect": effect,
            "count": count,
            "by_status": sorted(by_status.items()),
            "form": form,
            "action": name,
            "select_across": request.POST.get("select_across", "0"),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "large": count > LARGE_ACTION,
        }
        return TemplateResponse(request, "admin/assignment/lead/action_confirm.html", context)

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            self._report_jobs(request)
        return super().changelist_view(request, extra_context)

    def _report_jobs(self, request) -> None:
        """Progress of the background jobs this session queued; finished ones are shown once."""
        jobs = request.session.get(JOBS_SESSION_KEY) or []
        if not jobs:
            return
        states = action_progress_many(jobs)
        running = []
        for job in jobs:
            state = states.get(job)
            if state is None:
                continue
            what = JOB_LABELS.get(state.get("action"), state.get("action"))
            if state.get("state") in ("queued", "running"):
                running.append(job)
                self.message_user(
                    request,
                    _("Background %(what)s: %(done)s of %(total)s leads done.")
                    % {
                        "what": what,
                        "done": f"{state.get('done', 0):,}",
                        "total": f"{state.get('total', 0):,}",
                    },
                    messages.INFO,
                )
            elif state.get("state") == "done":
                self.message_user(
                    request,
                    _("Background %(what)s finished: %(message)s")
                    % {"what": what, "message": state.get("message", "")},
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request,
                    _("Background %(what)s failed: %(message)s")
                    % {"what": what, "message": state.get("message", "")},
                    messages.ERROR,
                )
        request.session[JOBS_SESSION_KEY] = running

    @admin.action(description=_("Recall to the pool…"), permissions=["recall"])
    def recall_to_pool(self, request, queryset):
        return self._lead_action(request, queryset, "recall_to_pool")

    @admin.action(description=_("Transfer to a rep…"), permissions=["transfer"])
    def transfer_to_rep(self, request, queryset):
        return self._lead_action(request, queryset, "transfer_to_rep")

    @admin.action(description=_("Transfer to a team…"), permissions=["transfer"])
    def transfer_to_team(self, request, queryset):
        return self._lead_action(request, queryset, "transfer_to_team")

    @admin.action(description=_("Re-route by the rules…"), permissions=["transfer"])
    def reroute_by_rules(self, request, queryset):
        return self._lead_action(request, queryset, "reroute_by_rules")


class RepDepartureAdmin(_crm_admin.RepAdmin):
    """The org team's RepAdmin plus the departure handover."""

    actions = [*(_crm_admin.RepAdmin.actions or []), "depart"]
    list_display = [*_crm_admin.RepAdmin.list_display, "penalty_reason"]

    def has_depart_permission(self, request):
        return request.user.has_perm("crm.depart_rep")

    @admin.action(description=_("Mark departed and hand over their leads…"), permissions=["depart"])
    def depart(self, request, queryset):
        form = DepartureForm(request.POST if "confirm" in request.POST else None)
        reps = list(queryset.select_related("user", "team").exclude(status=Rep.Status.DEPARTED))
        if "confirm" in request.POST and form.is_valid():
            done = []
            for rep in reps:
                open_to = form.targets(form.cleaned_data["open_to"]) or "pool"
                silent_to = form.targets(form.cleaned_data["silent_to"]) or "pool"
                try:
                    moved = rep_depart(
                        rep=rep,
                        actor=request.user,
                        open_to=open_to,
                        silent_to=silent_to,
                        reason=form.cleaned_data["reason"],
                    )
                except (ActionRefused, PermissionDenied) as exc:
                    self.message_user(request, f"{rep.display_name}: {exc}", messages.ERROR)
                    continue
                done.append(
                    f"{rep.display_name} ({moved['open']} open, {moved['silent']} silent handed over)"
                )
            if done:
                self.message_user(request, _("Departed: ") + "; ".join(done), messages.SUCCESS)
            return None
        counts = {
            rep.pk: dict(
                Lead.objects.filter(owner=rep).values_list("status").annotate(n=Count("id")).order_by()
            )
            for rep in reps
        }
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Departure handover"),
            "reps": [
                (rep, counts[rep.pk].get("assigned", 0), counts[rep.pk].get("silent", 0)) for rep in reps
            ],
            "form": form,
            "action": "depart",
            "select_across": request.POST.get("select_across", "0"),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        }
        return TemplateResponse(request, "admin/assignment/rep_depart.html", context)


admin.site.unregister(Lead)
admin.site.register(Lead, LeadActionsAdmin)
admin.site.unregister(Rep)
admin.site.register(Rep, RepDepartureAdmin)
