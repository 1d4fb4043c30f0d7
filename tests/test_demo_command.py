"""`manage.py demo` builds one believable organisation, however often it runs."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from assignment.models import AssignmentRule, RuleSet
from crm.models import Rep, Team
from leads.models import Lead, LeadType, Source
from lifecycle.models import Policy, Stage


@pytest.mark.django_db
def test_demo_twice_leaves_one_organisation(capsys):
    call_command("demo", "--leads", "0", "--reps", "8")
    first = capsys.readouterr().out
    counts = [
        m.objects.count() for m in (Team, Rep, Source, LeadType, Stage, Policy, RuleSet, AssignmentRule)
    ]
    call_command("demo", "--leads", "0", "--reps", "8")
    second = capsys.readouterr().out
    assert [
        m.objects.count() for m in (Team, Rep, Source, LeadType, Stage, Policy, RuleSet, AssignmentRule)
    ] == counts
    assert "Logins" in first and "already present" in second
    assert get_user_model().objects.filter(username="manager").count() == 1


@pytest.mark.django_db
def test_demo_organisation_has_the_fund_lead_type_stages_and_a_default_rule_per_set(capsys):
    call_command("demo", "--leads", "0")
    fund = LeadType.objects.get(name="基金商品留资用户")
    assert list(fund.stages.values_list("name", flat=True)) == [
        "开场白",
        "介绍产品",
        "待支付",
        "已成交",
        "复购其他产品",
    ]
    for rule_set in RuleSet.objects.all():
        assert rule_set.rules.filter(is_default=True).count() == 1
    assert set(Rep.objects.values_list("level", flat=True)) == {"junior", "senior", "expert"}


@pytest.mark.django_db
def test_demo_passwords_are_generated_not_fixed(capsys):
    call_command("demo", "--leads", "0")
    out = capsys.readouterr().out
    manager_line = next(line for line in out.splitlines() if line.strip().startswith("manager"))
    password = manager_line.split()[-1]
    assert len(password) >= 10
    assert get_user_model().objects.get(username="manager").check_password(password)


@pytest.mark.django_db
def test_demo_leads_go_through_intake_and_keep_invariants(capsys):
    call_command("demo", "--leads", "300")
    assert Lead.objects.count() == 300
    assert not Lead.objects.filter(status="new").exists()
    call_command("check_invariants")
    assert capsys.readouterr().out.strip().endswith("invariants: 0 violations")


@pytest.mark.django_db
@pytest.mark.parametrize("option", ["--leads", "--reps"])
def test_demo_refuses_a_negative_count_with_its_reason(option):
    with pytest.raises(CommandError, match=option.lstrip("-")):
        call_command("demo", option, "-5")
    assert not Lead.objects.exists()
