"""Who is who in the sales organisation, as `rules` predicates every app's permissions build on.

`rules` checks one object and cannot filter querysets: leads.selectors.leads_visible_to mirrors
these predicates for lists. Predicates take obj=None for model-level checks (the admin asks
has_perm("leads.view_lead") without an object) and must answer those sensibly too.
"""

from __future__ import annotations

import rules
from django.contrib.auth.backends import ModelBackend

from crm.models import Rep, Team

_model_backend = ModelBackend()


def user_rep(user) -> Rep | None:
    """The user's Rep, or None; Django caches the reverse one-to-one (also a miss) on the user."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.rep
    except Rep.DoesNotExist:
        return None


def led_team_ids(user) -> frozenset[int]:
    """Teams this user leads; cached on the user object for the rest of the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_leadflow_led_team_ids", None)
    if cached is None:
        cached = frozenset(Team.objects.filter(lead=user).values_list("pk", flat=True))
        user._leadflow_led_team_ids = cached
    return cached


def user_is_manager(user) -> bool:
    """Managers are superusers or staff holding the model permission leads.view_lead.

    Asked of ModelBackend directly: calling user.has_perm here would recurse into these rules.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return bool(user.is_staff and "leads.view_lead" in _model_backend.get_all_permissions(user))


@rules.predicate
def is_manager(user) -> bool:
    return user_is_manager(user)


@rules.predicate
def is_rep(user) -> bool:
    """An active user with a rep account that has not departed."""
    rep = user_rep(user)
    return bool(rep is not None and user.is_active and rep.status != Rep.Status.DEPARTED)


@rules.predicate
def is_team_lead(user) -> bool:
    return bool(led_team_ids(user))


@rules.predicate
def no_object(user, obj) -> bool:
    """True for a model-level check (obj None), so `no_object | object_rule` reads "any, or this one"."""
    return obj is None


@rules.predicate
def rep_in_led_team(user, rep) -> bool:
    return rep is not None and rep.team_id is not None and rep.team_id in led_team_ids(user)


@rules.predicate
def is_self(user, rep) -> bool:
    return rep is not None and rep.user_id == user.pk


# Handing a departing rep's leads over: managers, or the rep's own team lead (not for themselves).
rules.add_perm("crm.depart_rep", is_manager | (is_team_lead & (no_object | (rep_in_led_team & ~is_self))))

# App-label rules: has_module_perms goes through them, so the apps appear on the admin index.
rules.add_perm("crm", is_manager)
