from adminsortable2.admin import SortableAdminMixin
from django.contrib import admin

from lifecycle.models import Policy, Stage


@admin.register(Stage)
class StageAdmin(SortableAdminMixin, admin.ModelAdmin):
    list_display = ["name", "lead_type", "validity_extension", "is_won"]
    list_filter = ["lead_type"]


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "lead_type", "rep_level", "heat", "first_contact_sla", "validity", "silence_window", "on_breach"]
    list_filter = ["lead_type", "rep_level", "heat"]
