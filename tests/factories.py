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


def lead_assigned_to(rep: Rep, *, now=None, **fields) -> Lead:
    """A lead held by `rep`, put there through the waist so clocks and the audit trail are real."""
    from leads.services import lead_transition

    lead = LeadFactory(status=Lead.Status.POOLED, **fields)
    lead_transition(
        lead=lead, status=Lead.Status.ASSIGNED, owner=rep, kind="assign", reason="test setup", now=now
    )
    lead.refresh_from_db()
    return lead


def fund_lead_type() -> LeadType:
    """The worked example: 基金商品留资用户, valid 5 days, +1 day at 待支付, +7 days at 已成交."""
    fund = LeadTypeFactory(code="fund", name="基金商品留资用户")
    for position, (name, days, won) in enumerate(
        [
            ("开场白", 0, False),
            ("介绍产品", 0, False),
            ("待支付", 1, False),
            ("已成交", 7, True),
            ("复购其他产品", 0, False),
        ],
        start=1,
    ):
        Stage.objects.get_or_create(
            lead_type=fund,
            name=name,
            defaults={"position": position, "validity_extension": timedelta(days=days), "is_won": won},
        )
    Policy.objects.get_or_create(
        lead_type=fund,
        rep_level="",
        heat="",
        defaults={
            "name": "基金商品留资用户",
            "validity": timedelta(days=5),
            "silence_window": timedelta(days=2),
            "first_contact_sla": timedelta(hours=24),
        },
    )
    return fund


# --- life cycle ([E]) ---------------------------------------------------------------------


def lead_hold(*, lead, rep, now, kind="route", reason="given in a test"):
    """Put a lead into a rep's hands through the waist (no routing rules involved)."""
    from leads.services import lead_transition

    lead_transition(lead=lead, status=Lead.Status.ASSIGNED, owner=rep, kind=kind, reason=reason, now=now)
    lead.refresh_from_db()
    return lead


# --- dashboard ([G]) ----------------------------------------------------------------------


class LeadEventFactory(factory.django.DjangoModelFactory):
    """A raw audit row with an explicit time, for hand-computed metric fixtures."""

    class Meta:
        model = "leads.LeadEvent"

    lead = factory.SubFactory(LeadFactory)
    kind = "route"
    at = factory.LazyFunction(timezone.now)
