"""One active rule set per trigger and one default rule per set, enforced by the database."""

import pytest
from django.db import IntegrityError, transaction

from tests.factories import AssignmentRuleFactory, RuleSetFactory


@pytest.mark.django_db
def test_a_second_default_rule_in_one_set_is_rejected():
    rule_set = RuleSetFactory()
    AssignmentRuleFactory(rule_set=rule_set, is_default=True, strategy="pool")
    with pytest.raises(IntegrityError), transaction.atomic():
        AssignmentRuleFactory(rule_set=rule_set, is_default=True, strategy="pool")


@pytest.mark.django_db
def test_two_active_rule_sets_for_the_same_trigger_are_rejected():
    RuleSetFactory(trigger="new", is_active=True)
    RuleSetFactory(trigger="new", is_active=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        RuleSetFactory(trigger="new", is_active=True)
