from adminsortable2.admin import SortableAdminMixin
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from assignment.explain import events_explained
from leads.admin import LeadEventAdmin
from leads.models import LeadEvent
from lifecycle.models import Policy, Stage
from lifecycle.policies import policy_previews
from lifecycle.services import RecomputeOutcome, policy_saved, stage_saved


@admin.register(Stage)
class StageAdmin(SortableAdminMixin, admin.ModelAdmin):
    list_display = ["name", "lead_type", "validity_extension", "is_won"]
    list_filter = ["lead_type"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _recompute_message(self, request, stage_saved(stage=obj, actor=request.user))


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "lead_type",
        "rep_level",
        "heat",
        "first_contact_sla",
        "validity",
        "silence_window",
        "on_breach",
        "active",
    ]
    list_filter = ["lead_type", "rep_level", "heat", "active"]
    search_fields = ["name"]
    readonly_fields = ["preview"]
    fieldsets = [
        (None, {"fields": ["name", "active", "preview"]}),
        (
            _("Applies to (empty = any; the most specific policy wins, window by window)"),
            {"fields": ["lead_type", "rep_level", "heat"]},
        ),
        (
            _("Clocks"),
            {
                "fields": [
                    "first_contact_sla",
                    "progress_window",
                    "on_breach",
                    "claim_follow_up",
                    "validity",
                    "silence_window",
                    "warning_lead_time",
                    "cascade_window",
                ]
            },
        ),
        (_("Directed reactivation after release"), {"fields": ["reactivation_window", "reactivation_kinds"]}),
    ]

    @admin.display(description=_("what happens"))
    def preview(self, obj: Policy) -> str:
        """The plain-language summary, merged with the less specific policies it falls back to."""
        if obj is None or obj.pk is None:
            return _("Save to see what happens to a lead under this policy.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{}</li>", ((line,) for line in policy_previews(policy=obj))),
        )

    def save_model(self, request, obj, form, change):
        old = Policy.objects.filter(pk=obj.pk).values_list("lead_type_id", "heat").first() if obj.pk else None
        super().save_model(request, obj, form, change)
        _recompute_message(self, request, policy_saved(policy=obj, old_scope=old, actor=request.user))

    def delete_model(self, request, obj):
        scope = (obj.lead_type_id, obj.heat)
        super().delete_model(request, obj)
        policy = Policy(lead_type_id=scope[0], heat=scope[1])
        _recompute_message(self, request, policy_saved(policy=policy, actor=request.user))


def _recompute_message(model_admin, request, outcome: RecomputeOutcome) -> None:
    if outcome.queued:
        model_admin.message_user(
            request,
            _(
                "Clocks of %(n)d leads are being recomputed in the background; "
                "you will be notified when it is done."
            )
            % {"n": outcome.queued},
            messages.INFO,
        )
    elif outcome.changed:
        model_admin.message_user(
            request, _("Clocks of %(n)d leads recomputed.") % {"n": outcome.changed}, messages.INFO
        )


class LeadEventExplainedAdmin(LeadEventAdmin):
    """The audit log with each routing decision's explanation in plain sentences (the same
    text the lead page shows; rule names are user input, so everything is escaped)."""

    readonly_fields = ["routing_explanation"]

    @admin.display(description=_("routing explanation"))
    def routing_explanation(self, obj: LeadEvent) -> str:
        sentences = events_explained([obj]).get(obj.pk)
        if not sentences:
            return "—"
        return format_html("<ol>{}</ol>", format_html_join("", "<li>{}</li>", ((s,) for s in sentences)))


admin.site.unregister(LeadEvent)
admin.site.register(LeadEvent, LeadEventExplainedAdmin)
