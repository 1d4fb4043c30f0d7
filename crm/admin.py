from django.contrib import admin

from crm.models import Heartbeat, Notification, Rep, Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "tier", "parent", "lead"]
    list_filter = ["tier"]
    search_fields = ["name"]


@admin.register(Rep)
class RepAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "team",
        "level",
        "status",
        "weight",
        "max_open_leads",
        "daily_claim_cap",
        "penalty_until",
    ]
    list_filter = ["team", "level", "status"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "message", "read_at"]
    list_filter = ["kind"]
    list_select_related = ["user"]
    show_full_result_count = False


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "at"]
