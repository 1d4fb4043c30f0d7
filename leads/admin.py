from django.contrib import admin

from leads.models import Activity, IdempotencyKey, ImportJob, Lead, LeadEvent, LeadType, ScoreBand, ScoringRule, Source


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "channel", "heat", "active", "token_prefix"]
    list_filter = ["channel", "heat", "active"]
    search_fields = ["code", "name"]


@admin.register(LeadType)
class LeadTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class ActivityInline(admin.TabularInline):
    model = Activity
    extra = 0
    fields = ["occurred_at", "kind", "actor", "rep", "outcome", "note"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "company", "status", "owner", "tier", "score", "source", "created_at"]
    list_filter = ["status", "tier", "source", "region"]
    search_fields = ["name", "company", "phone_normalized", "email_normalized"]
    list_select_related = ["owner__user", "source"]
    show_full_result_count = False
    raw_id_fields = ["owner", "previous_owner"]
    readonly_fields = ["status", "owner", "previous_owner", "score", "tier"]
    inlines = [ActivityInline]


@admin.register(LeadEvent)
class LeadEventAdmin(admin.ModelAdmin):
    """The audit log: readable, never editable or deletable."""

    list_display = ["at", "lead", "kind", "from_status", "to_status", "from_owner", "to_owner", "actor", "reason"]
    list_filter = ["kind", "to_status"]
    list_select_related = ["lead", "from_owner__user", "to_owner__user", "actor"]
    show_full_result_count = False
    raw_id_fields = ["lead"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "lead", "kind", "actor", "rep"]
    list_filter = ["kind", "actor"]
    raw_id_fields = ["lead", "rep"]
    show_full_result_count = False


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "field", "operator", "value", "activity_kind", "points", "cap", "active"]
    list_filter = ["kind", "active"]
    list_editable = ["points", "active"]


@admin.register(ScoreBand)
class ScoreBandAdmin(admin.ModelAdmin):
    list_display = ["tier", "min_score", "action"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["created_at", "file_name", "source", "status", "processed_rows", "imported", "merged", "rejected"]


admin.site.register(IdempotencyKey)
