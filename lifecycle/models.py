"""What happens over time: stages per lead type and the policies that set every clock."""

from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.Model):
    lead_type = models.ForeignKey("leads.LeadType", on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveIntegerField(default=0, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    validity_extension = models.DurationField(_("validity extension"), default=timedelta(0))
    is_won = models.BooleanField(_("counts as converted"), default=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [models.UniqueConstraint(fields=["lead_type", "name"], name="stage_unique_name")]

    def __str__(self) -> str:
        return self.name


class Policy(models.Model):
    """The most specific match of lead type × rep level × heat wins; an empty field matches any."""

    class Breach(models.TextChoices):
        POOL = "pool", _("back to the pool")
        REROUTE = "reroute", _("re-route by the rules")
        TOP_PERFORMER = "top_performer", _("to the best-converting rep")
        NEXT_TIER = "next_tier", _("to the next tier's pool")

    name = models.CharField(_("name"), max_length=100)
    lead_type = models.ForeignKey("leads.LeadType", null=True, blank=True, on_delete=models.CASCADE)
    rep_level = models.CharField(_("rep level"), max_length=10, blank=True)
    heat = models.CharField(_("heat"), max_length=10, blank=True)
    first_contact_sla = models.DurationField(_("first contact within"), null=True, blank=True)
    progress_window = models.DurationField(_("progress at least every"), null=True, blank=True)
    validity = models.DurationField(_("validity"), null=True, blank=True)
    silence_window = models.DurationField(_("silence window"), null=True, blank=True)
    on_breach = models.CharField(_("on breach"), max_length=15, choices=Breach.choices, default=Breach.POOL)
    reactivation_window = models.DurationField(_("directed reactivation window"), null=True, blank=True)
    reactivation_kinds = models.JSONField(_("directed reactivation events"), default=list, blank=True)
    warning_lead_time = models.DurationField(_("warn before deadline"), null=True, blank=True)
    claim_follow_up = models.DurationField(_("follow up a claimed lead within"), null=True, blank=True)
    cascade_window = models.DurationField(_("cascade step window"), null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        constraints = [
            models.UniqueConstraint(fields=["lead_type", "rep_level", "heat"], name="policy_unique_scope"),
        ]

    def __str__(self) -> str:
        return self.name
