"""What comes in: sources, leads, their activities and the append-only event log.

Lead.owner and Lead.status are written only by leads.services.lead_transition (the narrow waist).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EventDataField(models.JSONField):
    """Django 5.2 bulk-inserts PostgreSQL rows through UNNEST(arrays), and psycopg escapes each
    JSON document inside the array literal with a regex: ~1.5 ms per routing explanation. Having
    a placeholder method opts the column out of UNNEST (plain multi-row VALUES instead)."""

    def get_placeholder(self, value, compiler, connection) -> str:
        return "%s"


class Channel(models.TextChoices):
    FORM = "form", _("web form")
    EVENT = "event", _("event / expo")
    SOCIAL = "social", _("social media")
    PARTNER = "partner", _("partner")
    CARD = "card", _("business card")
    IMPORT = "import", _("import")
    API = "api", _("API")
    REFERRAL = "referral", _("referral")


class Heat(models.TextChoices):
    HOT = "hot", _("hot")
    WARM = "warm", _("warm")
    COLD = "cold", _("cold")


class Tier(models.TextChoices):
    HIGH = "high", _("high")
    MEDIUM = "medium", _("medium")
    LOW = "low", _("low")


class Source(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.FORM)
    heat = models.CharField(_("heat"), max_length=10, choices=Heat.choices, default=Heat.WARM)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    token_prefix = models.CharField(max_length=12, blank=True, editable=False)
    active = models.BooleanField(_("active"), default=True)
    creates_leads_from_activities = models.BooleanField(
        _("activities may create leads"),
        default=False,
        help_text=_("An activity for an unknown contact creates the lead."),
    )
    rate_limit_per_minute = models.PositiveIntegerField(_("API requests per minute"), default=600)

    class Meta:
        ordering = ["code"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class LeadType(models.Model):
    """A kind of lead with its own sales stages and policies, e.g. 基金商品留资用户."""

    code = models.SlugField(max_length=50, unique=True, allow_unicode=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        verbose_name = _("lead type")
        verbose_name_plural = _("lead types")

    def __str__(self) -> str:
        return self.name


class Lead(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("new")
        NURTURING = "nurturing", _("nurturing")
        POOLED = "pooled", _("pooled")
        ASSIGNED = "assigned", _("assigned")
        SILENT = "silent", _("silent")
        CONVERTED = "converted", _("converted")
        LOST = "lost", _("lost")

    OWNED_STATUSES = (Status.ASSIGNED, Status.SILENT)
    UNOWNED_STATUSES = (Status.POOLED, Status.NURTURING)
    TERMINAL_STATUSES = (Status.CONVERTED, Status.LOST)

    # Contact
    name = models.CharField(_("name"), max_length=100, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone_normalized = models.CharField(max_length=20, blank=True, editable=False)
    email_normalized = models.CharField(max_length=254, blank=True, editable=False)
    # Profile
    region = models.CharField(_("region"), max_length=50, blank=True)
    industry = models.CharField(_("industry"), max_length=50, blank=True)
    product = models.CharField(_("product"), max_length=100, blank=True)
    company_size = models.PositiveIntegerField(_("company size"), null=True, blank=True)
    budget = models.DecimalField(_("budget"), max_digits=14, decimal_places=2, null=True, blank=True)
    role = models.CharField(_("role / title"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=20, blank=True)
    lead_type = models.ForeignKey(
        LeadType, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("lead type")
    )
    is_referral = models.BooleanField(_("referral"), default=False)
    referrer = models.CharField(_("referred by"), max_length=100, blank=True)
    extra = models.JSONField(_("extra"), default=dict, blank=True)
    # db_index=False on a foreign key below: a composite index in Meta starts with the same column
    # and serves its lookups; every extra index is written on each of the thousands of rows an
    # import, a recall or a sweep touches.
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="leads", verbose_name=_("source"), db_index=False
    )
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    # Scoring
    score = models.IntegerField(_("score"), default=0)
    score_breakdown = models.JSONField(default=list, blank=True, editable=False)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices, default=Tier.LOW)
    # Ownership (written only through leads.services.lead_transition)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.NEW)
    owner = models.ForeignKey(
        "crm.Rep",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_leads",
        verbose_name=_("owner"),
        db_index=False,
    )
    team = models.ForeignKey("crm.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    pool_team = models.ForeignKey(
        "crm.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pooled_leads",
        help_text=_("Pooled in this team's pool; empty = the public pool."),
        db_index=False,
    )
    previous_owner = models.ForeignKey(
        "crm.Rep",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="previously_owned_leads",
        db_index=False,
    )
    pool_reason = models.CharField(_("why in the pool"), max_length=20, blank=True)
    stage = models.ForeignKey(
        "lifecycle.Stage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # Clock columns: the sweep reads only these (each indexed).
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_contact_due = models.DateTimeField(null=True, blank=True)
    first_contacted_at = models.DateTimeField(null=True, blank=True)
    progress_due = models.DateTimeField(null=True, blank=True)
    claim_due = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    silent_until = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    reactivation_until = models.DateTimeField(null=True, blank=True)
    cascade_due = models.DateTimeField(null=True, blank=True)
    cascade_step = models.PositiveSmallIntegerField(default=0)
    warn_at = models.DateTimeField(null=True, blank=True)
    pooled_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    last_rep_activity_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["status", "owner"], name="lead_status_owner"),
            models.Index(fields=["status", "pool_team"], name="lead_status_pool_team"),
            models.Index(fields=["owner", "status", "-id"], name="lead_owner_status_id"),
            models.Index(fields=["phone_normalized"], name="lead_phone_norm"),
            models.Index(fields=["email_normalized"], name="lead_email_norm"),
            # Only leads that carry a source's own id: most have none, and an index full of
            # empty ids made SQLite's planner (from its statistics) scan the table instead.
            models.Index(
                fields=["source", "external_id"],
                name="lead_source_external",
                condition=~models.Q(external_id=""),
            ),
            # Clock and history columns: partial, so a row whose column is empty (a new lead
            # has none of these, an owned lead three or four) writes no entry. Every query on
            # them compares (`<= now`, `= rep`), which only a non-null value satisfies: both
            # databases then use the partial index. released_at and reactivation_until have
            # none: nothing looks leads up by them (they are read off the lead itself).
            models.Index(
                fields=["first_contact_due"],
                name="lead_first_contact_due",
                condition=Q(first_contact_due__isnull=False),
            ),
            models.Index(
                fields=["progress_due"], name="lead_progress_due", condition=Q(progress_due__isnull=False)
            ),
            models.Index(fields=["claim_due"], name="lead_claim_due", condition=Q(claim_due__isnull=False)),
            models.Index(
                fields=["valid_until"], name="lead_valid_until", condition=Q(valid_until__isnull=False)
            ),
            models.Index(
                fields=["silent_until"], name="lead_silent_until", condition=Q(silent_until__isnull=False)
            ),
            models.Index(
                fields=["cascade_due"], name="lead_cascade_due", condition=Q(cascade_due__isnull=False)
            ),
            models.Index(fields=["warn_at"], name="lead_warn_at", condition=Q(warn_at__isnull=False)),
            models.Index(
                fields=["previous_owner", "status"],
                name="lead_previous_owner",
                condition=Q(previous_owner__isnull=False),
            ),
            models.Index(fields=["pool_team"], name="lead_pool_team", condition=Q(pool_team__isnull=False)),
            models.Index(fields=["stage"], name="lead_stage", condition=Q(stage__isnull=False)),
            # The pool page: walks one of these backwards and stops after a page.
            models.Index(fields=["-id"], condition=Q(status="pooled"), name="lead_pooled_newest"),
            models.Index(fields=["-score", "-id"], condition=Q(status="pooled"), name="lead_pooled_score"),
            models.Index(fields=["pooled_at", "id"], condition=Q(status="pooled"), name="lead_pooled_age"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["new", "nurturing", "pooled", "assigned", "silent", "converted", "lost"]
                ),
                name="lead_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["assigned", "silent"]) | Q(owner__isnull=False),
                name="lead_owned_status_has_owner",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["pooled", "nurturing"]) | Q(owner__isnull=True),
                name="lead_unowned_status_has_no_owner",
            ),
            models.CheckConstraint(condition=Q(tier__in=["high", "medium", "low"]), name="lead_tier_valid"),
        ]

    def __str__(self) -> str:
        return self.name or self.company or self.email or self.phone or f"lead #{self.pk}"


class Activity(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", _("call")
        VISIT = "visit", _("visit")
        EMAIL = "email", _("e-mail")
        WECOM = "wecom", _("WeCom message")
        DEMO_REQUEST = "demo_request", _("demo request")
        WEBINAR = "webinar", _("webinar")
        WHITEPAPER = "whitepaper", _("whitepaper download")
        EMAIL_OPEN = "email_open", _("e-mail opened")
        FORM = "form", _("form submitted")
        APP_VISIT = "app_visit", _("app / site visit")
        AD_CLICK = "ad_click", _("ad click")
        REPLY = "reply", _("customer reply")
        PURCHASE = "purchase", _("purchase")
        RENEWAL_LAPSED = "renewal_lapsed", _("renewal lapsed")
        WECOM_REFERRAL = "wecom_referral", _("new lead from a WeCom contact")
        CAME_AGAIN = "came_again", _("came in again")
        NOTE = "note", _("note")

    class Actor(models.TextChoices):
        REP = "rep", _("rep")
        CUSTOMER = "customer", _("customer")
        SYSTEM = "system", _("system")

    # Kinds that count as the rep reaching the customer ("first contact").
    CONTACT_KINDS = (Kind.CALL, Kind.VISIT, Kind.EMAIL, Kind.WECOM)

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities", db_index=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.CharField(_("actor"), max_length=10, choices=Actor.choices, default=Actor.CUSTOMER)
    rep = models.ForeignKey(
        "crm.Rep", null=True, blank=True, on_delete=models.SET_NULL, related_name="activities", db_index=False
    )
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    caused_by_rep = models.BooleanField(
        _("caused by the rep"), default=False, help_text=_("A customer reply to the rep's own outreach.")
    )
    outcome = models.CharField(_("outcome"), max_length=100, blank=True)
    note = models.TextField(_("note"), blank=True, max_length=5000)
    data = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["lead", "-occurred_at"], name="activity_lead_time"),
            models.Index(fields=["rep", "-occurred_at"], name="activity_rep_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.occurred_at:%Y-%m-%d %H:%M}"


class LeadEvent(models.Model):
    """Append-only audit. Transition events (written by the waist) have to_status set."""

    # lead and to_owner: served by event_lead_latest / event_owner_kind_at (see Lead).
    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="events", db_index=False)
    kind = models.CharField(max_length=30, db_index=True)
    from_owner = models.ForeignKey(
        "crm.Rep", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    to_owner = models.ForeignKey(
        "crm.Rep", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    rule = models.ForeignKey(
        "assignment.AssignmentRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    reason = models.CharField(max_length=500, blank=True)
    data = EventDataField(default=dict, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("lead event")
        verbose_name_plural = _("lead events")
        indexes = [
            models.Index(fields=["lead", "-id"], name="event_lead_latest"),
            models.Index(fields=["to_owner", "kind", "at"], name="event_owner_kind_at"),
            # Only for deleting a rep or a user (PROTECT / SET_NULL look events up by them): an
            # event from nobody (every new lead's routing) or by no user (the engine) has none.
            models.Index(
                fields=["from_owner"], name="event_from_owner", condition=Q(from_owner__isnull=False)
            ),
            models.Index(fields=["actor"], name="event_actor", condition=Q(actor__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} · lead {self.lead_id} · {self.at:%Y-%m-%d %H:%M}"


class ScoringRule(models.Model):
    class Kind(models.TextChoices):
        EXPLICIT = "explicit", _("explicit (lead field)")
        BEHAVIOURAL = "behavioural", _("behavioural (activity)")

    class Operator(models.TextChoices):
        EQUALS = "eq", _("equals")
        IN = "in", _("in")
        NOT_IN = "not_in", _("not in")
        CONTAINS = "contains", _("contains")
        GTE = "gte", "≥"
        LTE = "lte", "≤"
        IS_EMPTY = "empty", _("is empty")
        NOT_EMPTY = "not_empty", _("is not empty")

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.EXPLICIT)
    field = models.CharField(max_length=50, blank=True, help_text=_("Lead field, or extra.<key>."))
    operator = models.CharField(max_length=10, choices=Operator.choices, blank=True)
    value = models.JSONField(default=str, blank=True)
    activity_kind = models.CharField(max_length=20, choices=Activity.Kind.choices, blank=True)
    points = models.IntegerField()
    cap = models.IntegerField(null=True, blank=True, help_text=_("Most points this rule may give in total."))
    decay_days = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Behaviour older than this is ignored.")
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"


class ScoreBand(models.Model):
    class Action(models.TextChoices):
        ROUTE = "route", _("route to sales")
        NURTURE = "nurture", _("nurture")
        LONG_NURTURE = "long_nurture", _("long-term nurture")

    tier = models.CharField(max_length=10, choices=Tier.choices, unique=True)
    min_score = models.IntegerField()
    action = models.CharField(max_length=15, choices=Action.choices, default=Action.ROUTE)

    class Meta:
        ordering = ["-min_score"]
        verbose_name = _("score band")
        verbose_name_plural = _("score bands")

    def __str__(self) -> str:
        return f"{self.get_tier_display()} ≥ {self.min_score}"


class IdempotencyKey(models.Model):
    """A retried API request with the same key gets the first response back."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE)
    key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64, blank=True)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="idempotency_unique_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]  # the expiry

    def __str__(self) -> str:
        return f"{self.source_id}:{self.key}"


class ImportJob(models.Model):
    """A CSV/XLSX import run in the background, with progress the uploader can watch."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    source = models.ForeignKey(Source, on_delete=models.PROTECT)
    file = models.FileField(upload_to="imports/")
    file_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    merged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    report = models.FileField(upload_to="import-reports/", blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"


class RepLoad(models.Model):
    """Each rep's open leads (status "assigned"), kept by database triggers on the lead table
    so that routing reads a rep's load in one indexed row instead of counting their leads (which
    grows with the lead table: tens of milliseconds per routing at a million leads).

    SQLite's triggers update the count in place (its writers take turns anyway). PostgreSQL's
    append to RepLoadDelta instead, because a counter row updated in every transaction that
    moves a lead would be a lock that claims (rep, then lead) and sweeps (lead, then rep) take in
    opposite orders; leads.loads folds the deltas in. The load of a rep is always
    open_leads + the sum of its deltas, read in one statement. Plain integers, no foreign keys:
    nothing here locks or cascades."""

    rep_id = models.BigIntegerField(primary_key=True)
    open_leads = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"rep {self.rep_id}: {self.open_leads}"


class RepLoadDelta(models.Model):
    """A change of open leads per rep by one statement on the lead table (PostgreSQL)."""

    rep_id = models.BigIntegerField()
    delta = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["rep_id", "delta"], name="rep_load_delta_rep")]

    def __str__(self) -> str:
        return f"rep {self.rep_id}: {self.delta:+d}"
