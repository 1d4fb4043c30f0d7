"""check_invariants proves the waist held and names every violation."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from leads.models import Lead
from leads.services import lead_transition
from tests.factories import LeadFactory


@pytest.mark.django_db
def test_clean_database_reports_zero_violations(rep_a, capsys):
    lead = LeadFactory(status="pooled")
    lead_transition(lead=lead, status="assigned", owner=rep_a, kind="route", reason="r")
    call_command("check_invariants")
    assert capsys.readouterr().out.strip().endswith("invariants: 0 violations")


@pytest.mark.django_db
def test_owner_written_behind_the_waist_is_reported(rep_a, rep_b, capsys):
    lead = LeadFactory(status="pooled")
    lead_transition(lead=lead, status="assigned", owner=rep_a, kind="route", reason="r")
    Lead.objects.filter(pk=lead.pk).update(owner=rep_b)  # the planted violation
    with pytest.raises(CommandError):
        call_command("check_invariants")
    out = capsys.readouterr().out
    assert f"lead {lead.pk}: owner is rep {rep_b.pk}" in out
    assert out.strip().endswith("invariants: 1 violations")


@pytest.mark.django_db
def test_lead_left_new_is_reported_as_orphaned(capsys):
    lead = LeadFactory(status="new")
    with pytest.raises(CommandError):
        call_command("check_invariants")
    assert f"lead {lead.pk}: still new" in capsys.readouterr().out


@pytest.mark.django_db
def test_rep_over_hard_capacity_is_reported(rep_a, capsys):
    rep_a.max_open_leads = 1
    rep_a.save()
    for lead in LeadFactory.create_batch(2, status="pooled"):
        lead_transition(lead=lead, status="assigned", owner=rep_a, kind="transfer", reason="r")
    with pytest.raises(CommandError):
        call_command("check_invariants")
    assert f"rep {rep_a.pk}: 2 open leads over the hard cap of 1" in capsys.readouterr().out
