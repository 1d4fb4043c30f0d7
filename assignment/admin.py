from adminsortable2.admin import SortableAdminBase, SortableTabularInline
from django.contrib import admin

from assignment.models import AssignmentRule, ClaimPolicy, RotationCursor, RuleSet, RuleTarget


class AssignmentRuleInline(SortableTabularInline):
    model = AssignmentRule
    extra = 0
    fields = ["position", "name", "active", "is_default", "strategy", "target_team", "on_no_eligible", "hit_count"]
    readonly_fields = ["hit_count"]
    show_change_link = True


@admin.register(RuleSet)
class RuleSetAdmin(SortableAdminBase, admin.ModelAdmin):
    list_display = ["name", "trigger", "is_active", "updated_at"]
    list_filter = ["trigger", "is_active"]
    inlines = [AssignmentRuleInline]


class RuleTargetInline(admin.TabularInline):
    model = RuleTarget
    extra = 0
    raw_id_fields = ["rep"]


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "rule_set", "position", "strategy", "active", "is_default", "hit_count", "last_matched_at"]
    list_filter = ["rule_set", "strategy"]
    inlines = [RuleTargetInline]


admin.site.register(ClaimPolicy)
admin.site.register(RotationCursor)
