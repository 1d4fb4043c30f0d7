"""The database itself refuses leads in impossible states."""

import pytest
from django.db import IntegrityError, transaction

from tests.factories import LeadFactory, RepFactory


@pytest.mark.django_db
def test_assigned_lead_without_owner_is_rejected_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadFactory(status="assigned", owner=None)


@pytest.mark.django_db
def test_silent_lead_without_owner_is_rejected_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadFactory(status="silent", owner=None)


@pytest.mark.django_db
def test_pooled_lead_with_owner_is_rejected_by_the_database():
    rep = RepFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadFactory(status="pooled", owner=rep)


@pytest.mark.django_db
def test_nurturing_lead_with_owner_is_rejected_by_the_database():
    rep = RepFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadFactory(status="nurturing", owner=rep)


@pytest.mark.django_db
def test_unknown_status_is_rejected_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadFactory(status="stolen")


@pytest.mark.django_db
def test_negative_caps_are_rejected_by_the_database():
    rep = RepFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(rep).objects.filter(pk=rep.pk).update(penalty_factor=-0.5)
