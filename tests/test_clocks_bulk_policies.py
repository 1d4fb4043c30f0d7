"""One bulk routing call computes the clocks of leads that share everything a policy looks at
only once — and leads that differ in heat, lead type, stage or the new holder's level still get
their own policy's windows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead
from leads.services import TransitionRequest, leads_transition_bulk
from tests.factories import LeadFactory, LeadTypeFactory, PolicyFactory, RepFactory, SourceFactory


@pytest.mark.django_db
def test_each_lead_in_one_bulk_call_gets_its_own_policys_first_contact_window(team):
    hot, cold = SourceFactory(code="hot", heat="hot"), SourceFactory(code="cold", heat="cold")
    fund = LeadTypeFactory(code="fund")
    junior = RepFactory(team=team, level="junior")
    senior = RepFactory(team=team, level="senior")
    PolicyFactory(name="base", first_contact_sla=timedelta(hours=24))
    PolicyFactory(name="hot", heat="hot", first_contact_sla=timedelta(hours=1))
    PolicyFactory(name="senior", rep_level="senior", first_contact_sla=timedelta(hours=8))
    PolicyFactory(name="fund", lead_type=fund, first_contact_sla=timedelta(hours=2))
    cases = [  # (source, lead type, holder, expected window)
        (cold, None, junior, 24),
        (hot, None, junior, 1),
        (cold, None, senior, 8),
        (cold, fund, junior, 2),
        (cold, None, junior, 24),
        (hot, None, junior, 1),
    ]
    leads = [LeadFactory(status="pooled", source=source, lead_type=kind) for source, kind, _, _ in cases]
    now = timezone.now()

    leads_transition_bulk(
        [
            TransitionRequest(lead=lead, status="assigned", owner=holder, kind="route", reason="r")
            for lead, (_, _, holder, _) in zip(leads, cases, strict=True)
        ],
        now=now,
    )

    for lead, (_, _, _, hours) in zip(leads, cases, strict=True):
        assert Lead.objects.get(pk=lead.pk).first_contact_due == now + timedelta(hours=hours)
