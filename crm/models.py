"""The sales organisation: teams, reps, in-app notifications and the scheduler heartbeat."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.validators import time_zone_validate, weekdays_validate


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    tier = models.PositiveSmallIntegerField(
        _("tier"), default=1, help_text=_("1 = offered first in a delayed-assignment cascade.")
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
        verbose_name=_("team lead"),
    )

    class Meta:
        ordering = ["tier", "name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Rep(models.Model):
    class Level(models.TextChoices):
        JUNIOR = "junior", _("junior")
        SENIOR = "senior", _("senior")
        EXPERT = "expert", _("expert")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        BUSY = "busy", _("busy")
        AWAY = "away", _("away")
        DEPARTED = "departed", _("departed")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rep")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="reps")
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, default=Level.JUNIOR)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    max_open_leads = models.PositiveIntegerField(_("max open leads"), default=50)
    daily_claim_cap = models.PositiveIntegerField(_("daily claim cap"), default=10)
    daily_assign_quota = models.PositiveIntegerField(
        _("assignment quota per 24 h"),
        null=True,
        blank=True,
        help_text=_("Rolling window; empty = no quota."),
    )
    # Skills, matched against the lead's profile by the profile_match strategy.
    regions = models.JSONField(_("regions"), default=list, blank=True)
    industries = models.JSONField(_("industries"), default=list, blank=True)
    products = models.JSONField(_("products"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    # Working hours in the rep's time zone; empty = always available.
    work_start = models.TimeField(_("work starts"), null=True, blank=True)
    work_end = models.TimeField(_("work ends"), null=True, blank=True)
    work_days = models.JSONField(
        _("work days"),
        default=list,
        blank=True,
        help_text=_("ISO weekdays, 1 = Monday."),
        validators=[weekdays_validate],
    )
    timezone = models.CharField(_("time zone"), max_length=64, blank=True, validators=[time_zone_validate])
    # Risk control (降权): a lowered cap or a claiming block, both expiring.
    penalty_until = models.DateTimeField(_("penalty until"), null=True, blank=True, db_index=True)
    penalty_factor = models.FloatField(_("penalty cap factor"), null=True, blank=True)
    penalty_blocks_claims = models.BooleanField(_("penalty blocks claiming"), default=False)
    penalty_reason = models.CharField(_("penalty reason"), max_length=300, blank=True)
    departed_at = models.DateTimeField(_("departed at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]
        verbose_name = _("rep")
        verbose_name_plural = _("reps")
        constraints = [
            models.CheckConstraint(condition=Q(weight__gte=0), name="rep_weight_non_negative"),
            models.CheckConstraint(condition=Q(max_open_leads__gte=0), name="rep_max_open_non_negative"),
            models.CheckConstraint(condition=Q(daily_claim_cap__gte=0), name="rep_claim_cap_non_negative"),
            models.CheckConstraint(
                condition=Q(penalty_factor__isnull=True) | Q(penalty_factor__gte=0, penalty_factor__lte=1),
                name="rep_penalty_factor_between_0_and_1",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        full = self.user.get_full_name() if self.user_id else ""
        return full or (self.user.username if self.user_id else f"rep #{self.pk}")


class Notification(models.Model):
    """An in-app message; lead_id is a plain integer because crm sits below the leads layer."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    lead_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.message


class Heartbeat(models.Model):
    """Last time a named background process proved it was alive (shown by /healthz)."""

    name = models.CharField(max_length=50, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.at:%Y-%m-%d %H:%M:%S}"


class CatalogVersion(models.Model):
    """A token per configuration catalogue (sources, scoring, policies, rules, ...) that database
    triggers replace on every write to the catalogue's tables, whoever writes them (the admin, a
    queryset update, raw SQL, another process). Processes keep the catalogue in memory and
    reload it when the token moved (crm.catalogs). Tokens are never reused (a sequence on
    PostgreSQL, random() on SQLite): an edit rolled back cannot leave behind a cached copy that
    a later version would match."""

    name = models.CharField(max_length=30, primary_key=True)
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} @ {self.version}"
