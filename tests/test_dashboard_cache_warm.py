"""The cache-warming task: fills the default view of every scope in use, only for a shared cache."""

from django.core.cache import cache
from django.utils import timezone

from crm.selectors import (
    DashboardScope,
    dashboard_cache_key,
    dashboard_filters_default,
    dashboard_scopes_in_use,
)
from crm.tasks import dashboard_cache_warm


def test_scopes_in_use_are_everything_and_each_team_leads_teams(team_lead, team, other_team):
    assert dashboard_scopes_in_use() == [DashboardScope(team_ids=None), DashboardScope(team_ids=(team.pk,))]


def test_a_process_local_cache_is_not_warmed(team_lead):
    assert dashboard_cache_warm() == 0


def test_a_shared_cache_gets_every_default_view(settings, tmp_path, team_lead, team):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        }
    }
    now = timezone.now()
    assert dashboard_cache_warm(now=now) == 2
    filters = dashboard_filters_default(now=now)
    for scope in (DashboardScope(team_ids=None), DashboardScope(team_ids=(team.pk,))):
        assert cache.get(dashboard_cache_key(scope=scope, filters=filters))["filters"] == filters.as_dict()
