"""Who gets a lead: ordered rule sets, their targets and the locked rotation cursors."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.validators import time_zone_validate, weekdays_validate


class Trigger(models.TextChoices):
    NEW = "new", _("new lead")
    RECYCLED = "recycled", _("recycled lead")
    REACTIVATED = "reactivated", _("reactivated lead")


class RuleSet(models.Model):
    name = models.CharField(_("name"), max_length=100)
    trigger = models.CharField(_("trigger"), max_length=12, choices=Trigger.choices, default=Trigger.NEW)
    is_active = models.BooleanField(_("active"), default=False)
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["trigger", "name"]
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")
        constraints = [
            models.UniqueConstraint(
                fields=["trigger"], condition=Q(is_active=True), name="one_active_rule_set_per_trigger"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_trigger_display()})"


class Strategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("round robin")
    WEIGHTED = "weighted", _("weighted round robin")
    LEAST_LOADED = "least_loaded", _("least loaded")
    DIRECT = "direct", _("direct (priority lane)")
    TOP_PERFORMER = "top_performer", _("top performer")
    PROFILE_MATCH = "profile_match", _("profile match")
    POOL = "pool", _("pool (claim mode)")
    CASCADE = "cascade", _("cascade through team tiers")
    NURTURE = "nurture", _("nurture")


class AssignmentRule(models.Model):
    class OnNoEligible(models.TextChoices):
        FALL_THROUGH = "fall_through", _("try the next rule")
        POOL = "pool", _("send to the pool")

    rule_set = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(_("default rule"), default=False)
    # [{"field": "region", "op": "in", "value": ["华东", "上海"]}, ...] — all must hold.
    conditions = models.JSONField(_("conditions (all)"), default=list, blank=True)
    # Optional "any of" group: at least one must hold when non-empty.
    any_conditions = models.JSONField(_("conditions (any of)"), default=list, blank=True)
    # Optional schedule: ISO weekdays and a local time window.
    schedule_days = models.JSONField(
        _("applies on days"), default=list, blank=True, validators=[weekdays_validate]
    )
    schedule_start = models.TimeField(_("applies from"), null=True, blank=True)
    schedule_end = models.TimeField(_("applies until"), null=True, blank=True)
    schedule_timezone = models.CharField(
        _("schedule time zone"), max_length=64, blank=True, validators=[time_zone_validate]
    )
    strategy = models.CharField(
        _("strategy"), max_length=20, choices=Strategy.choices, default=Strategy.ROUND_ROBIN
    )
    # PROTECT: a deleted team would otherwise silently widen the rule to every rep.
    target_team = models.ForeignKey(
        "crm.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    target_level = models.CharField(_("target rep level"), max_length=10, blank=True)
    target_reps = models.ManyToManyField("crm.Rep", through="RuleTarget", blank=True, related_name="+")
    on_no_eligible = models.CharField(
        max_length=15, choices=OnNoEligible.choices, default=OnNoEligible.FALL_THROUGH
    )
    default_owner = models.ForeignKey(
        "crm.Rep", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pool_team = models.ForeignKey(
        "crm.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    options = models.JSONField(default=dict, blank=True)
    hit_count = models.PositiveIntegerField(default=0, editable=False)
    last_matched_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        constraints = [
            models.UniqueConstraint(
                fields=["rule_set"], condition=Q(is_default=True), name="one_default_rule_per_set"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RuleTarget(models.Model):
    rule = models.ForeignKey(AssignmentRule, on_delete=models.CASCADE, related_name="targets")
    rep = models.ForeignKey("crm.Rep", on_delete=models.CASCADE, related_name="+")
    weight = models.PositiveSmallIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "rep"], name="rule_target_unique")]

    def __str__(self) -> str:
        return f"{self.rep} × {self.weight}"


class RotationCursor(models.Model):
    """Locked during a pick so concurrent intakes never take the same turn."""

    key = models.CharField(max_length=100, unique=True)
    state = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


class ClaimPolicy(models.Model):
    """Risk control per rep level (抢占上限与降权)."""

    class PenaltyMode(models.TextChoices):
        REDUCE = "reduce", _("reduce the cap")
        BLOCK = "block", _("block claiming")

    level = models.CharField(max_length=10, unique=True)
    daily_claim_cap = models.PositiveIntegerField(default=10)
    max_untouched = models.PositiveIntegerField(default=5)
    follow_up_hours = models.PositiveIntegerField(default=24)
    penalty_mode = models.CharField(max_length=10, choices=PenaltyMode.choices, default=PenaltyMode.REDUCE)
    penalty_factor = models.FloatField(default=0.5)
    penalty_hours = models.PositiveIntegerField(default=72)
    adaptive = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("claim policy")
        verbose_name_plural = _("claim policies")

    def __str__(self) -> str:
        return f"claim policy · {self.level}"


class RuleSnapshot(models.Model):
    """What a rule list looked like when it routed a lead: names, strategies and conditions, stored
    once per distinct version and referenced by every explanation written with it. Explanations
    then keep only, per rule passed over, which condition failed and the lead's value (a few
    bytes instead of the whole rule), and still read correctly after the rules are edited."""

    digest = models.CharField(max_length=64, unique=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rule snapshot")
        verbose_name_plural = _("rule snapshots")

    def __str__(self) -> str:
        return f"rule snapshot {self.digest[:12]}"
