"""The rep workspace (mounted at the site root by crm/urls.py)."""

from django.urls import path

from lifecycle import views

app_name = "workspace"

urlpatterns = [
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/new/", views.lead_add, name="lead_add"),
    path("leads/<int:pk>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/activity/", views.lead_activity, name="lead_activity"),
    path("leads/<int:pk>/stage/", views.lead_stage, name="lead_stage"),
    path("leads/<int:pk>/release/", views.lead_release, name="lead_release"),
    path("pool/", views.pool, name="pool"),
    path("pool/<int:pk>/claim/", views.pool_claim, name="pool_claim"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("team/", views.team, name="team"),
    path("team/transfer/", views.team_transfer, name="team_transfer"),
]
