"""The manager dashboard, mounted at /dashboard/ by crm.urls."""

from django.urls import path

from crm import dashboard

app_name = "dashboard"

urlpatterns = [
    path("", dashboard.dashboard_index, name="index"),
    path("csv/<slug:figure>.csv", dashboard.dashboard_csv, name="csv"),
    path("api/metrics.json", dashboard.dashboard_json, name="json"),
]
