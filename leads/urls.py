from django.urls import path

from leads import api

app_name = "api"

urlpatterns = [
    path("leads", api.leads_create, name="leads"),
    path("activities", api.activities_create, name="activities"),
    path("openapi.json", api.openapi_json, name="openapi"),
]
