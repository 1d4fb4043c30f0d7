"""The shared cast of every permission test: rep_a and rep_b (same team), outsider (another
team), team_lead (of rep_a's team) and manager (staff with all model permissions)."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission

from tests.factories import RepFactory, SourceFactory, TeamFactory, UserFactory

requires_postgres = pytest.mark.skipif(
    not settings.IS_POSTGRES,
    reason="SKIPPED ON SQLITE: needs PostgreSQL row locks (runs in the PostgreSQL pass)",
)


@pytest.fixture
def team(db):
    return TeamFactory(name="East", tier=1)


@pytest.fixture
def other_team(db):
    return TeamFactory(name="West", tier=2)


@pytest.fixture
def rep_a(team):
    return RepFactory(user=UserFactory(username="rep_a", first_name="Wei", last_name="Li"), team=team)


@pytest.fixture
def rep_b(team):
    return RepFactory(user=UserFactory(username="rep_b", first_name="Min", last_name="Zhang"), team=team)


@pytest.fixture
def outsider(other_team):
    return RepFactory(user=UserFactory(username="outsider"), team=other_team)


@pytest.fixture
def team_lead(team):
    user = UserFactory(username="team_lead", is_staff=True)
    team.lead = user
    team.save(update_fields=["lead"])
    RepFactory(user=user, team=team, level="senior")
    return user


@pytest.fixture
def manager(db):
    user = UserFactory(username="manager", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["crm", "leads", "assignment", "lifecycle"])
    )
    return user


@pytest.fixture
def source(db):
    return SourceFactory(code="web", name="Website form", channel="form", heat="hot")


@pytest.fixture
def english():
    """Sentences asserted word for word are checked in English (the demo's default is zh-hans)."""
    from django.utils import translation

    with translation.override("en"):
        yield
