"""The admin modules load with the URLconf and with the admin's checks, not with every process."""

import os
import subprocess
import sys


def _run(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG", "SECRET_KEY"}}
    env.update(LEADFLOW_DEV="1", DATABASE_URL="sqlite:///:memory:", DJANGO_SETTINGS_MODULE="crm.settings")
    setup = "import django, sys; django.setup(); from django.contrib import admin; "
    out = subprocess.run([sys.executable, "-c", setup + code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_management_process_starts_without_the_admin_modules_or_openpyxl():
    loaded = _run(
        "print(sorted(m for m in ('leads.admin', 'assignment.admin', 'openpyxl') if m in sys.modules))"
    )
    assert loaded == "[]"


def test_loading_the_urlconf_registers_every_apps_admin():
    out = _run(
        "from django.urls import get_resolver; get_resolver().url_patterns;"
        "print(sorted(f'{m._meta.app_label}.{m.__name__}' for m in admin.site._registry))"
    )
    for model in ("leads.Lead", "assignment.RuleSet", "lifecycle.Policy", "crm.Rep", "django_q.Schedule"):
        assert model in out
    # assignment's LeadAdmin replaces the one leads registers, whichever loads first
    assert (
        _run(
            "from django.urls import get_resolver; get_resolver().url_patterns;"
            "from leads.models import Lead; print(type(admin.site._registry[Lead]).__module__)"
        )
        == "assignment.admin"
    )


def test_the_admin_checks_discover_the_model_admins_they_check():
    out = _run(
        "from django.core import checks; errors = checks.run_checks(tags=[checks.Tags.admin]);"
        "print(len(admin.site._registry) > 20, errors)"
    )
    assert out == "True []"


def test_a_web_process_loads_the_admin_as_it_starts_not_on_its_first_request():
    assert _run("import crm.wsgi; print('assignment.admin' in sys.modules)") == "True"
