from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from crm import views

# The admin modules load here rather than at start-up (crm.admin_apps): with the URLconf, before
# the first request resolves a URL.
admin.autodiscover()

urlpatterns = [
    path("", RedirectView.as_view(url="/leads/", permanent=False)),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("leads.urls")),
    path("dashboard/", include("crm.dashboard_urls")),
    path("", include("lifecycle.urls")),
]
