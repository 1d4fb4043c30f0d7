"""The admin's app config: ModelAdmins load with the URLconf, not with every process.

Django's default AdminConfig imports every app's admin module at start-up, and ours pull in
django-import-export's formats (which import openpyxl to ask whether XLSX is available),
sortable2, the simulation and the forms: ~0.2 s that every management command paid before its
first query (import_leads, sweep, the django-q2 cluster). crm/urls.py discovers them instead,
so every request, and every test client, sees the full admin; the admin's system checks
discover them first, so `manage.py check` still checks every registered ModelAdmin.
"""

from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig
from django.contrib.admin.checks import check_admin_app, check_dependencies
from django.core import checks


def admin_app_checked(app_configs, **kwargs) -> list:
    admin.autodiscover()
    return check_admin_app(app_configs, **kwargs)


class AdminOnDemandConfig(SimpleAdminConfig):
    def ready(self) -> None:
        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(admin_app_checked, checks.Tags.admin)
