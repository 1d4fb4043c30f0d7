"""factory_boy factories shared by every test module."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from assignment.models import AssignmentRule, RuleSet, RuleTarget
from crm.models import Rep, Team
from leads.models import Activity, Lead, LeadType, Source
from lifecycle.models import Policy, Stage


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests-only")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")
    tier = 1


class RepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rep

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    level = Rep.Level.JUNIOR
    status = Rep.Status.ACTIVE


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"src{n}")
    name = factory.LazyAttribute(lambda s: s.code.upper())
    channel = "form"
    heat = "hot"


class LeadTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadType
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"type{n}")
    name = factory.LazyAttribute(lambda t: t.code)


class LeadFactory(factory.django.DjangoModelFactory):
    """A raw row; put it into a real state through the services (or pass status='pooled')."""

    class Meta:
        model = Lead

    name = factory.Faker("name", locale="zh_CN")
    company = factory.Faker("company", locale="zh_CN")
    phone = factory.Sequence(lambda n: f"+86138{n:08d}")
    phone_normalized = factory.LazyAttribute(lambda lead: lead.phone)
    email = factory.Sequence(lambda n: f"lead{n}@example.cn")
    email_normalized = factory.LazyAttribute(lambda lead: lead.email)
    source = factory.SubFactory(SourceFactory)
    status = Lead.Status.POOLED
    created_at = factory.LazyFunction(timezone.now)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    lead = factory.SubFactory(LeadFactory)
    kind = Activity.Kind.CALL
    actor = Activity.Actor.REP
    occurred_at = factory.LazyFunction(timezone.now)


class RuleSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleSet

    name = factory.Sequence(lambda n: f"Rules {n}")
    trigger = "new"
    is_active = True


class AssignmentRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssignmentRule

    rule_set = factory.SubFactory(RuleSetFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    position = factory.Sequence(lambda n: n + 1)
    strategy = "round_robin"


class RuleTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleTarget

    rule = factory.SubFactory(AssignmentRuleFactory)
    rep = factory.SubFactory(RepFactory)
    weight = 1


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    lead_type = factory.SubFactory(LeadTypeFactory)
    name = factory.Sequence(lambda n: f"stage {n}")
    position = factory.Sequence(lambda n: n + 1)
    validity_extension = timedelta(0)


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy

    name = factory.Sequence(lambda n: f"Policy {n}")
