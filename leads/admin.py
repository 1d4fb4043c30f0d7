from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportActionMixin, ImportMixin
from import_export.forms import ConfirmImportForm, ImportForm

from crm.paginators import BoundedCountPaginator
from leads.dedup import dedup_conflict_find
from leads.forms import LeadIntakeForm, form_errors
from leads.importing import ImportFileError
from leads.models import (
    Activity,
    IdempotencyKey,
    ImportJob,
    Lead,
    LeadEvent,
    LeadType,
    ScoreBand,
    ScoringRule,
    Source,
)
from leads.resources import LeadResource, SpreadsheetCSV, SpreadsheetXLSX
from leads.scoring import scoring_rule_problems
from leads.services import source_token_rotate

# Uploads larger than this are imported by a django-q2 task (ImportJob) instead of in the request.
ADMIN_IMPORT_SYNC_MAX_BYTES = getattr(settings, "ADMIN_IMPORT_SYNC_MAX_BYTES", 2 * 1024 * 1024)


def _token_page(request, *, sources_tokens, opts):
    """The only place a plaintext token is ever shown (it is stored hashed)."""
    return TemplateResponse(
        request,
        "leads/admin/token_shown.html",
        {**admin.site.each_context(request), "opts": opts, "title": _("API token"), "tokens": sources_tokens},
    )


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "channel", "heat", "active", "token_prefix"]
    list_filter = ["channel", "heat", "active"]
    search_fields = ["code", "name"]
    readonly_fields = ["token_prefix"]
    actions = ["token_rotate"]

    @admin.action(description=_("Issue a new API token (the old one stops working)"))
    def token_rotate(self, request, queryset):
        tokens = [(source, source_token_rotate(source=source)) for source in queryset]
        return _token_page(request, sources_tokens=tokens, opts=self.model._meta)

    def response_add(self, request, obj, post_url_continue=None):
        """A new source gets its token right away, shown this once."""
        return _token_page(
            request, sources_tokens=[(obj, source_token_rotate(source=obj))], opts=self.model._meta
        )


@admin.register(LeadType)
class LeadTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class ActivityInline(admin.TabularInline):
    model = Activity
    extra = 0
    fields = ["occurred_at", "kind", "actor", "rep", "outcome", "note"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


def _intake_data(cleaned: dict) -> dict:
    """Admin form values as the intake row dict (model instances as their codes)."""
    data: dict = {}
    for name in LeadIntakeForm.base_fields:
        if name == "source" or name not in cleaned:
            continue
        value = cleaned[name]
        if name == "lead_type":
            value = value.code if value else ""
        data[name] = "" if value is None else value
    if cleaned.get("extra"):
        data["extra"] = cleaned["extra"]
    return data


def _extra_check(form, cleaned: dict) -> None:
    """Everything reads a lead's extra as names and values; a list or a number there would
    break the lead's scoring and its page."""
    extra = cleaned.get("extra")
    if extra not in (None, "") and not isinstance(extra, dict):
        form.add_error("extra", _('Enter a JSON object of names and values, such as {"campaign": "618"}.'))


def _contact_taken_message(field_name: str, other: Lead) -> str:
    return _("This %(field)s already belongs to lead #%(id)s (%(lead)s): one contact, one lead.") % {
        "field": Lead._meta.get_field(field_name).verbose_name,
        "id": other.pk,
        "lead": other,
    }


class LeadImportForm(ImportForm):
    source = forms.ModelChoiceField(queryset=Source.objects.filter(active=True), label=_("Source"))


class LeadConfirmImportForm(ConfirmImportForm):
    source = forms.ModelChoiceField(queryset=Source.objects.filter(active=True), widget=forms.HiddenInput)


@admin.register(Lead)
class LeadAdmin(ImportMixin, ExportActionMixin, admin.ModelAdmin):
    list_display = ["id", "name", "company", "status", "owner", "tier", "score", "source", "created_at"]
    list_filter = ["status", "tier", "source", "region"]
    search_fields = ["name", "company", "phone_normalized", "email_normalized"]
    list_select_related = ["owner__user", "source"]
    show_full_result_count = False
    paginator = BoundedCountPaginator
    raw_id_fields = ["owner", "previous_owner"]
    readonly_fields = ["status", "owner", "previous_owner", "score", "tier", "score_breakdown_display"]
    inlines = [ActivityInline]
    # Import and export (django-import-export): the import runs the intake pipeline.
    resource_classes = [LeadResource]
    import_form_class = LeadImportForm
    confirm_form_class = LeadConfirmImportForm
    import_formats = [SpreadsheetCSV, SpreadsheetXLSX]
    export_formats = [SpreadsheetCSV, SpreadsheetXLSX]

    def get_valid_export_item_pks(self, request):
        """The keys an "export selected" may name: the posted ones this user's list holds.
        django-import-export's default offers every lead's key as a choice (a million-entry form
        field at a million leads, on every export of a selection) and warns that it is going."""
        posted = [pk for pk in request.POST.getlist("export_items") if pk.isdigit()]
        return self.get_queryset(request).filter(pk__in=posted).values_list("pk", flat=True)

    @admin.display(description=_("score breakdown"))
    def score_breakdown_display(self, obj):
        """Which rule gave how many points (escaped: rule names are user input)."""
        items = obj.score_breakdown or []
        if not items:
            return _("no rule gave points")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td style='text-align:right'>{}</td></tr>",
            ((item.get("rule", "?"), f"{int(item.get('points', 0)):+d}") for item in items),
        )
        return format_html(
            "<table>{}<tr><th>{}</th><th style='text-align:right'>{}</th></tr></table>",
            rows,
            _("total"),
            obj.score,
        )

    add_fields = [
        "source",
        "name",
        "company",
        "phone",
        "email",
        "region",
        "industry",
        "product",
        "role",
        "company_size",
        "budget",
        "lead_type",
        "is_referral",
        "referrer",
        "language",
        "external_id",
        "extra",
    ]

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # The source and the lead type are where the lead came from and which policy, stages and
        # clocks it runs on: changing them is not a correction of its details.
        editable = set(self.add_fields) - {"source", "lead_type"}
        shown = super().get_readonly_fields(request, obj)
        # Owner, status, team, stage and the clocks move only through the waist and the
        # policies (with their audit events); here they are shown, not typed over.
        return [
            *shown,
            *(
                f.name
                for f in Lead._meta.fields
                if f.editable and f.name not in editable and f.name not in shown and f.name != "id"
            ),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class LeadIntakeAdminForm(form):
            """Adding a lead by hand is one more intake channel, and a correction follows the
            same rules: intake's validation, and (on change) a phone, e-mail or external id that
            is another lead's refused by name (see lead_details_update)."""

            def clean(self):
                cleaned = super().clean()
                _extra_check(self, cleaned)
                intake = LeadIntakeForm(_intake_data(cleaned), sources={})
                for name, errors in form_errors(intake).items():
                    self.add_error(name if name in self.fields else None, errors)
                if obj is None or not intake.is_valid() or "extra" in self.errors:
                    return cleaned
                self.intake_values = intake.cleaned_data
                taken = dedup_conflict_find(
                    lead=self.instance,
                    phone=intake.cleaned_data.get("phone_normalized", ""),
                    email=intake.cleaned_data.get("email", ""),
                    external_id=intake.cleaned_data.get("external_id", ""),
                )
                if taken is not None:
                    self.add_error(taken[0], _contact_taken_message(*taken))
                return cleaned

        return LeadIntakeAdminForm

    def save_model(self, request, obj, form, change):
        """A new lead goes through the intake pipeline (dedup, score, route), never a bare save;
        a correction through lead_details_update (normalized keys, re-score, audit event)."""
        from lifecycle.intake import LeadContactTaken, lead_details_update, lead_intake

        if change:
            try:
                lead_details_update(
                    lead=obj,
                    values=form.intake_values,
                    extra=form.cleaned_data.get("extra"),
                    actor=request.user,
                )
            except LeadContactTaken as exc:  # taken between the form's check and the save
                messages.error(request, _contact_taken_message(exc.field_name, exc.other))
            return

        result = lead_intake(data=_intake_data(form.cleaned_data), source=obj.source, actor=request.user)
        obj.pk = result.lead.pk
        obj.refresh_from_db()
        if result.merged:
            messages.warning(
                request, _("This contact already existed: the new data was merged into lead #%d.") % obj.pk
            )

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["source"] = import_form.cleaned_data["source"].pk
        return initial

    def get_import_data_kwargs(self, **kwargs):
        form = kwargs.get("form")
        kwargs = super().get_import_data_kwargs(**kwargs)
        if form is not None and "source" in getattr(form, "cleaned_data", {}):
            kwargs["source"] = form.cleaned_data["source"]
        return kwargs

    def add_data_read_fail_error_to_form(self, form, e):
        """Our reader's own reason ("No header row: row 1 (…)", "This is an old Excel .xls
        workbook …") instead of import-export's "'ValueError' encountered while trying to read
        file", which names neither the problem nor the fix."""
        if isinstance(e, ImportFileError):
            form.add_error("import_file", str(e))
            return
        super().add_data_read_fail_error_to_form(form, e)

    def import_action(self, request, **kwargs):
        """Big uploads become a background ImportJob instead of holding the request."""
        upload = request.FILES.get("import_file") if request.method == "POST" else None
        if (
            upload is not None
            and upload.size > ADMIN_IMPORT_SYNC_MAX_BYTES
            and self.has_import_permission(request)
        ):
            source_id = request.POST.get("source", "")
            source = Source.objects.filter(pk=source_id, active=True).first() if source_id.isdigit() else None
            if source is not None:
                job = import_job_queue(source=source, upload=upload, user=request.user)
                messages.info(request, _("The file is large: it is being imported in the background."))
                return HttpResponseRedirect(reverse("admin:leads_importjob_change", args=[job.pk]))
        return super().import_action(request, **kwargs)


@admin.register(LeadEvent)
class LeadEventAdmin(admin.ModelAdmin):
    """The audit log: readable, never editable or deletable."""

    list_display = [
        "at",
        "lead",
        "kind",
        "from_status",
        "to_status",
        "from_owner",
        "to_owner",
        "actor",
        "reason",
    ]
    list_filter = ["kind", "to_status"]
    list_select_related = ["lead", "from_owner__user", "to_owner__user", "actor"]
    show_full_result_count = False
    raw_id_fields = ["lead"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "lead", "kind", "actor", "rep"]
    list_filter = ["kind", "actor"]
    raw_id_fields = ["lead", "rep"]
    show_full_result_count = False


class ScoringRuleForm(forms.ModelForm):
    class Meta:
        model = ScoringRule
        fields = "__all__"  # noqa: DJ007 - the admin's own field list decides what is shown

    def clean(self):
        cleaned = super().clean()
        rule = ScoringRule(**{k: v for k, v in cleaned.items() if k in _SCORING_RULE_COLUMNS})
        for field_name, message in scoring_rule_problems(rule).items():
            if field_name in self.fields and field_name not in self.errors:
                self.add_error(field_name, message)
        return cleaned


_SCORING_RULE_COLUMNS = {f.name for f in ScoringRule._meta.concrete_fields}


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    form = ScoringRuleForm
    list_display = ["name", "kind", "field", "operator", "value", "activity_kind", "points", "cap", "active"]
    list_filter = ["kind", "active"]
    list_editable = ["points", "active"]


@admin.register(ScoreBand)
class ScoreBandAdmin(admin.ModelAdmin):
    list_display = ["tier", "min_score", "action"]


def import_job_queue(*, source, upload, user) -> ImportJob:
    """Save the upload as an ImportJob and queue its task once the row is committed."""
    from django_q.tasks import async_task

    job = ImportJob.objects.create(source=source, file=upload, file_name=upload.name[:255], created_by=user)
    transaction.on_commit(
        lambda: async_task("leads.tasks.import_job_run", job.pk, task_name=f"import-job-{job.pk}")
    )
    return job


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Background imports: upload here (or a large file on the lead import page) and watch the
    progress; the rejects report (original rows + reason) is downloadable when done."""

    list_display = [
        "created_at",
        "file_name",
        "source",
        "status",
        "progress",
        "imported",
        "merged",
        "rejected",
        "report_link",
    ]
    fields = [
        "source",
        "file",
        "status",
        "progress",
        "imported",
        "merged",
        "rejected",
        "report_link",
        "error",
        "finished_at",
    ]
    readonly_fields = [
        "status",
        "progress",
        "imported",
        "merged",
        "rejected",
        "report_link",
        "error",
        "finished_at",
    ]

    @admin.display(description=_("rejects report"))
    def report_link(self, obj):
        if not obj.report:
            days = settings.IMPORT_FILE_RETENTION_DAYS
            if obj.rejected and obj.finished_at and obj.finished_at < timezone.now() - timedelta(days=days):
                return _("deleted %(days)s days after the import") % {"days": days}
            return "-"
        url = reverse("admin:leads_importjob_report", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("download"))

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "<int:pk>/report/",
                self.admin_site.admin_view(self.report_download),
                name="leads_importjob_report",
            ),
            *super().get_urls(),
        ]

    def report_download(self, request, pk):
        """The rejected rows (original cells + reason) as CSV; media files are not served
        publicly, so the admin hands them out after its own permission check."""
        from django.http import FileResponse, Http404

        job = ImportJob.objects.filter(pk=pk).first()
        if job is None or not job.report or not self.has_view_permission(request, job):
            raise Http404
        return FileResponse(job.report.open("rb"), as_attachment=True, filename=f"rejects-{job.pk}.csv")

    @admin.display(description=_("progress"))
    def progress(self, obj):
        if obj.total_rows:
            return f"{obj.processed_rows:,} / ~{obj.total_rows:,}"
        return f"{obj.processed_rows:,}"

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "source", "file"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        obj.created_by = request.user
        obj.file_name = (obj.file.name or "")[:255]
        super().save_model(request, obj, form, change)
        from django_q.tasks import async_task

        transaction.on_commit(
            lambda: async_task("leads.tasks.import_job_run", obj.pk, task_name=f"import-job-{obj.pk}")
        )


admin.site.register(IdempotencyKey)
