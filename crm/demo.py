"""A believable demo organisation and leads. Entry point code (it sits above every layer)."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from assignment.models import AssignmentRule, ClaimPolicy, RuleSet, RuleTarget
from crm.models import Rep, Team
from leads.models import LeadType, ScoringRule, Source
from lifecycle.models import Policy, Stage

DEMO_MARKER_TEAM = "华东一组"
REGIONS = ["上海", "江苏", "浙江", "北京", "广东", "四川", "湖北", "山东"]
INDUSTRIES = ["SaaS", "制造业", "金融", "教育", "零售", "医疗"]
PRODUCTS = ["CRM", "ERP", "基金", "数据分析"]
ROLES = ["CEO", "IT总监", "采购经理", "市场专员", "运营主管", "学生"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建林波宁"
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "158",
    "159",
    "186",
    "187",
    "188",
]
COMPANY_WORDS = ["恒通", "博睿", "众联", "华信", "天成", "远景", "新锐", "安泰", "嘉禾", "鼎盛"]
COMPANY_SUFFIX = ["科技有限公司", "信息技术有限公司", "教育科技", "医疗器械有限公司", "贸易有限公司"]


@dataclass
class DemoResult:
    created: bool
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, username, password)


def _password() -> str:
    return secrets.token_urlsafe(9)


def organisation_exists() -> bool:
    return Team.objects.filter(name=DEMO_MARKER_TEAM).exists()


@transaction.atomic
def demo_organisation_create(*, reps: int = 12, seed: int = 1) -> DemoResult:
    """Create teams, reps, sources, stages, policies, scoring and rule sets once; idempotent."""
    if organisation_exists():
        return DemoResult(created=False)
    rnd = random.Random(seed)
    User = get_user_model()
    result = DemoResult(created=True)

    admin_pw = _password()
    User.objects.create_superuser("admin", "admin@example.com", admin_pw)
    result.logins.append(("superuser", "admin", admin_pw))

    managers = Group.objects.get_or_create(name="managers")[0]
    managers.permissions.set(
        Permission.objects.filter(content_type__app_label__in=["crm", "leads", "assignment", "lifecycle"])
    )
    mgr_pw = _password()
    manager = User.objects.create_user(
        "manager", "manager@example.com", mgr_pw, first_name="经理", is_staff=True
    )
    manager.groups.add(managers)
    result.logins.append(("manager", "manager", mgr_pw))

    east1 = Team.objects.create(name=DEMO_MARKER_TEAM, tier=1)
    east2 = Team.objects.create(name="华东二组", tier=2, parent=east1)
    north = Team.objects.create(name="华北组", tier=1)
    key = Team.objects.create(name="大客户组", tier=1)
    teams = [east1, east2, north, key]
    levels = ["junior", "junior", "senior", "expert"]
    rep_objs: list[Rep] = []
    for i in range(reps):
        team = teams[i % len(teams)]
        level = levels[i % len(levels)] if team is not key else "senior"
        username = f"rep{i + 1}"
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[i % len(GIVEN)]
        pw = _password()
        user = User.objects.create_user(
            username, f"{username}@example.com", pw, first_name=name[1:], last_name=name[0]
        )
        rep = Rep.objects.create(
            user=user,
            team=team,
            level=level,
            weight=rnd.choice([1, 2, 3]),
            max_open_leads=rnd.choice([200, 400, 800]) * 10,
            daily_claim_cap=20 if level == "junior" else 40,
            regions=rnd.sample(REGIONS, 3),
            industries=rnd.sample(INDUSTRIES, 2),
            products=rnd.sample(PRODUCTS, 2),
            languages=["zh"] + (["en"] if i % 3 == 0 else []),
            work_start=time(9, 0) if i % 5 == 4 else None,
            work_end=time(18, 0) if i % 5 == 4 else None,
            work_days=[1, 2, 3, 4, 5] if i % 5 == 4 else [],
        )
        rep_objs.append(rep)
        if i < 4:
            result.logins.append((f"rep ({level}, {team.name})", username, pw))
    lead_pw = _password()
    lead_user = User.objects.create_user(
        "teamlead", "teamlead@example.com", lead_pw, first_name="组长", is_staff=True
    )
    Rep.objects.create(user=lead_user, team=east1, level="expert", max_open_leads=4000)
    east1.lead = lead_user
    east1.save(update_fields=["lead"])
    result.logins.append(("team lead (华东一组)", "teamlead", lead_pw))

    Source.objects.bulk_create(
        [
            Source(code="web", name="官网表单", channel="form", heat="hot"),
            Source(code="expo", name="展会名片", channel="event", heat="cold"),
            Source(code="wechat", name="公众号", channel="social", heat="warm"),
            Source(code="partner", name="渠道伙伴", channel="partner", heat="warm"),
            Source(code="import", name="批量导入", channel="import", heat="warm"),
            Source(code="ceo", name="CEO 推荐", channel="referral", heat="hot"),
        ]
    )

    fund = LeadType.objects.create(code="fund", name="基金商品留资用户")
    saas = LeadType.objects.create(code="saas_trial", name="SaaS 试用")
    for pos, (name, ext, won) in enumerate(
        [
            ("开场白", 0, False),
            ("介绍产品", 0, False),
            ("待支付", 1, False),
            ("已成交", 7, True),
            ("复购其他产品", 0, False),
        ],
        start=1,
    ):
        Stage.objects.create(
            lead_type=fund, position=pos, name=name, validity_extension=timedelta(days=ext), is_won=won
        )
    for pos, (name, ext, won) in enumerate(
        [
            ("初次沟通", 0, False),
            ("需求确认", 2, False),
            ("产品演示", 3, False),
            ("报价", 3, False),
            ("成交", 7, True),
        ],
        start=1,
    ):
        Stage.objects.create(
            lead_type=saas, position=pos, name=name, validity_extension=timedelta(days=ext), is_won=won
        )

    day = timedelta(days=1)
    Policy.objects.bulk_create(
        [
            Policy(
                name="默认",
                first_contact_sla=timedelta(hours=48),
                progress_window=7 * day,
                validity=14 * day,
                silence_window=2 * day,
                reactivation_window=30 * day,
                reactivation_kinds=["renewal_lapsed", "wecom_referral"],
                warning_lead_time=timedelta(hours=2),
                claim_follow_up=timedelta(hours=24),
                cascade_window=timedelta(hours=4),
            ),
            Policy(
                name="热线索 (表单)",
                heat="hot",
                first_contact_sla=timedelta(hours=24),
                progress_window=4 * day,
            ),
            Policy(
                name="冷线索 (展会名片)", heat="cold", first_contact_sla=7 * day, progress_window=14 * day
            ),
            Policy(
                name="基金商品留资用户",
                lead_type=fund,
                validity=5 * day,
                silence_window=2 * day,
                first_contact_sla=timedelta(hours=24),
            ),
            Policy(name="基金 · 资深", lead_type=fund, rep_level="senior", validity=7 * day),
        ]
    )

    ScoringRule.objects.bulk_create(
        [
            ScoringRule(
                name="目标行业", field="industry", operator="in", value=["SaaS", "金融", "制造业"], points=15
            ),
            ScoringRule(
                name="决策人", field="role", operator="in", value=["CEO", "IT总监", "采购经理"], points=10
            ),
            ScoringRule(name="规模 ≥ 200", field="company_size", operator="gte", value=200, points=5),
            ScoringRule(name="预算 ≥ 50", field="budget", operator="gte", value=50, points=20),
            ScoringRule(name="非目标地区", field="region", operator="in", value=["新疆", "西藏"], points=-10),
            ScoringRule(name="学生", field="role", operator="eq", value="学生", points=-20),
            ScoringRule(name="有公司", field="company", operator="not_empty", value="", points=30),
            ScoringRule(name="白皮书下载", kind="behavioural", activity_kind="whitepaper", points=10, cap=20),
            ScoringRule(
                name="参加网络研讨会", kind="behavioural", activity_kind="webinar", points=15, cap=30
            ),
            ScoringRule(name="预约演示", kind="behavioural", activity_kind="demo_request", points=25, cap=25),
            ScoringRule(
                name="打开邮件",
                kind="behavioural",
                activity_kind="email_open",
                points=2,
                cap=10,
                decay_days=30,
            ),
        ]
    )
    for level, cap, untouched in [("junior", 20, 5), ("senior", 40, 10), ("expert", 60, 15)]:
        ClaimPolicy.objects.create(level=level, daily_claim_cap=cap, max_untouched=untouched)

    _demo_rule_sets(teams=teams, reps=rep_objs)
    return result


def _demo_rule_sets(*, teams: list[Team], reps: list[Rep]) -> None:
    east1, east2, north, key = teams
    new = RuleSet.objects.create(name="新线索分配", trigger="new", is_active=True)
    seniors = [r for r in reps if r.level in ("senior", "expert")]
    rules = [
        dict(
            name="CEO 推荐 → 资深销售",
            strategy="direct",
            conditions=[{"field": "is_referral", "op": "eq", "value": True}],
            target_level="senior",
            target_team=key,
        ),
        dict(
            name="高价值 → 最佳销售",
            strategy="top_performer",
            conditions=[{"field": "tier", "op": "eq", "value": "high"}],
            target_team=key,
        ),
        dict(
            name="华东 SaaS",
            strategy="round_robin",
            conditions=[
                {"field": "region", "op": "in", "value": ["上海", "江苏", "浙江"]},
                {"field": "industry", "op": "eq", "value": "SaaS"},
            ],
            target_team=east1,
        ),
        dict(
            name="华东其他 → 加权",
            strategy="weighted",
            conditions=[{"field": "region", "op": "in", "value": ["上海", "江苏", "浙江"]}],
            target_team=east1,
        ),
        dict(
            name="华北 → 负载最低",
            strategy="least_loaded",
            conditions=[{"field": "region", "op": "in", "value": ["北京", "山东"]}],
            target_team=north,
        ),
        dict(
            name="画像匹配",
            strategy="profile_match",
            conditions=[{"field": "tier", "op": "eq", "value": "medium"}],
        ),
        dict(
            name="展会冷线索 → 分级公海",
            strategy="cascade",
            conditions=[{"field": "heat", "op": "eq", "value": "cold"}],
        ),
        dict(
            name="低价值 → 孵化",
            strategy="nurture",
            conditions=[{"field": "tier", "op": "eq", "value": "low"}],
        ),
    ]
    for pos, spec in enumerate(rules, start=1):
        AssignmentRule.objects.create(rule_set=new, position=pos, **spec)
    AssignmentRule.objects.create(
        rule_set=new, position=len(rules) + 1, name="默认 → 公海", strategy="pool", is_default=True
    )
    weighted = AssignmentRule.objects.get(rule_set=new, strategy="direct")
    RuleTarget.objects.bulk_create([RuleTarget(rule=weighted, rep=r, weight=1) for r in seniors[:2]])

    recycled = RuleSet.objects.create(name="回收线索再分配", trigger="recycled", is_active=True)
    AssignmentRule.objects.create(
        rule_set=recycled,
        position=1,
        name="回收 → 最佳销售",
        strategy="top_performer",
        target_team=east1,
        conditions=[{"field": "tier", "op": "eq", "value": "high"}],
    )
    AssignmentRule.objects.create(
        rule_set=recycled, position=2, name="默认 → 公海", strategy="pool", is_default=True
    )
    reactivated = RuleSet.objects.create(name="激活线索", trigger="reactivated", is_active=True)
    AssignmentRule.objects.create(
        rule_set=reactivated, position=1, name="激活 → 轮询", strategy="round_robin", target_team=east1
    )
    AssignmentRule.objects.create(
        rule_set=reactivated, position=2, name="默认 → 公海", strategy="pool", is_default=True
    )


def demo_rows(count: int, *, seed: int = 1):
    """Believable intake rows (dicts as an import or the API would give them)."""
    rnd = random.Random(seed)
    for i in range(count):
        region = rnd.choice(REGIONS)
        yield {
            "name": rnd.choice(SURNAMES)
            + rnd.choice(GIVEN)
            + (rnd.choice(GIVEN) if rnd.random() < 0.5 else ""),
            "phone": f"{rnd.choice(MOBILE_PREFIXES)}{rnd.randrange(10**8):08d}",
            "email": f"demo{seed}_{i}@example.cn" if rnd.random() < 0.7 else "",
            "company": rnd.choice(COMPANY_WORDS) + rnd.choice(COMPANY_SUFFIX) if rnd.random() < 0.8 else "",
            "region": region,
            "industry": rnd.choice(INDUSTRIES),
            "product": rnd.choice(PRODUCTS),
            "role": rnd.choice(ROLES),
            "company_size": str(rnd.choice([10, 50, 150, 300, 1200])),
            "budget": str(rnd.choice([5, 20, 60, 150])),
            "lead_type": "fund" if rnd.random() < 0.4 else "saas_trial",
        }
