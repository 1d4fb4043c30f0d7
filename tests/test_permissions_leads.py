"""Who may see and work a lead, and that the list selector agrees with the rule on every lead."""

import pytest

from leads.models import Lead
from leads.selectors import leads_visible_to
from leads.services import lead_transition
from tests.factories import LeadFactory, lead_assigned_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(rep_a, rep_b, outsider, team_lead, manager, team, other_team):
    """One lead of every kind a rep meets, named by what it is to rep_a."""
    own = lead_assigned_to(rep_a)
    teammates = lead_assigned_to(rep_b)
    outsiders = lead_assigned_to(outsider)
    public_pool = LeadFactory(status=Lead.Status.POOLED)
    team_pool = LeadFactory(status=Lead.Status.POOLED, pool_team=team)
    other_pool = LeadFactory(status=Lead.Status.POOLED, pool_team=other_team)
    handed_over = lead_assigned_to(rep_a)
    lead_transition(
        lead=handed_over, status=Lead.Status.ASSIGNED, owner=outsider, kind="transfer", reason="test"
    )
    silent = lead_assigned_to(rep_a)
    lead_transition(
        lead=silent, status=Lead.Status.SILENT, owner=rep_a, kind="silence", reason="validity ended"
    )
    return {
        "own": own,
        "teammates": teammates,
        "outsiders": outsiders,
        "public_pool": public_pool,
        "team_pool": team_pool,
        "other_pool": other_pool,
        "handed_over": handed_over,
        "silent": silent,
    }


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def test_a_rep_sees_own_pooled_open_to_them_and_handled_before_but_not_teammates_or_other_pools(rep_a, cast):
    user = fresh(rep_a.user)
    visible = {name for name, lead in cast.items() if user.has_perm("leads.view_lead", fresh(lead))}
    assert visible == {"own", "public_pool", "team_pool", "handed_over", "silent"}


def test_a_rep_works_only_an_assigned_lead_they_own_not_a_silent_or_handed_over_one(rep_a, cast):
    user = fresh(rep_a.user)
    workable = {name for name, lead in cast.items() if user.has_perm("leads.change_lead", fresh(lead))}
    assert workable == {"own"}
    assert user.has_perm("leads.release_lead", fresh(cast["own"]))
    assert not user.has_perm("leads.release_lead", fresh(cast["silent"]))


def test_a_rep_claims_only_from_the_public_pool_and_their_team_pool(rep_a, outsider, cast):
    user = fresh(rep_a.user)
    claimable = {name for name, lead in cast.items() if user.has_perm("leads.claim_lead", fresh(lead))}
    assert claimable == {"public_pool", "team_pool"}
    other = fresh(outsider.user)
    assert {n for n, lead in cast.items() if other.has_perm("leads.claim_lead", fresh(lead))} == {
        "public_pool",
        "other_pool",
    }


def test_a_rep_may_not_recall_or_transfer(rep_a, cast):
    user = fresh(rep_a.user)
    for lead in cast.values():
        assert not user.has_perm("leads.recall_lead", fresh(lead))
        assert not user.has_perm("leads.transfer_lead", fresh(lead))
    assert not user.has_perm("leads.recall_lead")


def test_a_team_lead_sees_recalls_and_transfers_their_team_only(team_lead, cast):
    user = fresh(team_lead)
    visible = {name for name, lead in cast.items() if user.has_perm("leads.view_lead", fresh(lead))}
    assert {"own", "teammates", "team_pool", "silent", "public_pool"} <= visible
    assert "outsiders" not in visible and "other_pool" not in visible
    assert user.has_perm("leads.transfer_lead", fresh(cast["teammates"]))
    assert not user.has_perm("leads.transfer_lead", fresh(cast["outsiders"]))
    assert user.has_perm("leads.recall_lead")  # "may recall at all": shows the action


def test_a_manager_sees_and_recalls_everything(manager, cast):
    user = fresh(manager)
    for lead in cast.values():
        assert user.has_perm("leads.view_lead", fresh(lead))
        assert user.has_perm("leads.recall_lead", fresh(lead))


def test_model_level_checks_grant_managers_and_never_ordinary_reps(rep_a, team_lead, manager):
    assert fresh(manager).has_perm("leads.view_lead")
    assert fresh(manager).has_module_perms("leads")
    rep_user = fresh(rep_a.user)
    assert not rep_user.is_staff
    assert not rep_user.has_perm("leads.view_lead")
    assert not rep_user.has_perm("leads.change_lead")
    assert not rep_user.has_module_perms("leads")
    assert not rep_user.has_module_perms("assignment")
    assert fresh(team_lead).has_perm("leads.view_lead")  # their admin changelist is team-scoped
    assert not fresh(team_lead).has_perm("leads.change_lead")


def test_depart_rep_is_for_managers_and_the_reps_own_team_lead(rep_a, outsider, team_lead, manager):
    assert fresh(manager).has_perm("crm.depart_rep", rep_a)
    assert fresh(team_lead).has_perm("crm.depart_rep", rep_a)
    assert not fresh(team_lead).has_perm("crm.depart_rep", outsider)
    assert not fresh(rep_a.user).has_perm("crm.depart_rep", outsider)


def test_the_list_selector_shows_exactly_what_the_rule_allows(
    rep_a, rep_b, outsider, team_lead, manager, cast
):
    for user in (rep_a.user, rep_b.user, outsider.user, team_lead, manager):
        user = fresh(user)
        listed = set(leads_visible_to(user=user).values_list("pk", flat=True))
        allowed = {lead.pk for lead in Lead.objects.all() if user.has_perm("leads.view_lead", lead)}
        assert listed == allowed, user.username


def test_a_departed_rep_sees_nothing(rep_a, cast):
    rep_a.status = "departed"
    rep_a.save(update_fields=["status"])
    user = fresh(rep_a.user)
    assert not leads_visible_to(user=user).exists()
    assert not user.has_perm("leads.view_lead", fresh(cast["own"]))
