"""JSON intake API for other systems: POST /api/v1/leads and POST /api/v1/activities.

Thin entry points: authenticate the source by its Bearer token, rate-limit, check the body,
replay an Idempotency-Key, then call one service (lifecycle.intake.lead_intake or
lifecycle.services.activity_log).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from crm.catalogs import catalogs_pinned
from leads.forms import ActivityIntakeForm, form_errors
from leads.models import IdempotencyKey, Lead, LeadEvent, Source
from leads.openapi import openapi_document
from leads.services import source_by_token

IDEMPOTENCY_KEY_MAX_LENGTH = 100


def _error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _rate_limited(source: Source) -> int:
    """Seconds to wait when the source has used its requests for this minute, else 0.

    A fixed one-minute window in the shared cache: cheap, and good enough to stop a runaway
    client; every web process counts in the same cache key.
    """
    limit = source.rate_limit_per_minute
    if not limit:
        return 0
    now = timezone.now().timestamp()
    window = int(now // 60)
    key = f"api-rate:{source.pk}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=120)
        count = 1
    if count > limit:
        return max(1, int((window + 1) * 60 - now))
    return 0


def source_api(view: Callable) -> Callable:
    """Auth, rate limit, content type, size and JSON parsing shared by the POST endpoints."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapper(request: HttpRequest) -> JsonResponse:
        # One check of the configuration (sources, scoring, rules...) for the whole request.
        with catalogs_pinned():
            return _source_call(request, view)

    return wrapper


def _source_call(request: HttpRequest, view: Callable) -> JsonResponse:
    source = source_by_token(token=_bearer_token(request))
    if source is None:
        response = _error(401, "A valid source token is required: Authorization: Bearer <token>.")
        response["WWW-Authenticate"] = 'Bearer realm="leadflow"'
        return response
    wait = _rate_limited(source)
    if wait:
        response = _error(429, f"Too many requests for source {source.code}; retry in {wait} s.")
        response["Retry-After"] = str(wait)
        return response
    if request.content_type != "application/json":
        return _error(415, "Send the body as application/json.")
    limit = settings.API_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _error(413, f"The body is larger than {limit} bytes.")
    try:
        body = request.body
    except RequestDataTooBig:
        return _error(413, f"The body is larger than {limit} bytes.")
    if len(body) > limit:
        return _error(413, f"The body is larger than {limit} bytes.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"errors": {"body": ["The body is not valid JSON."]}}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"errors": {"body": ["The body must be a JSON object."]}}, status=400)
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        return JsonResponse(
            {"errors": {"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters."]}},
            status=400,
        )
    if not key:
        status, data = view(request, source=source, payload=payload)
        return JsonResponse(data, status=status)
    return _idempotent(
        request,
        source=source,
        key=key,
        body=body,
        call=lambda: view(request, source=source, payload=payload),
    )


def _idempotent(request: HttpRequest, *, source: Source, key: str, body: bytes, call) -> JsonResponse:
    """A retried request with the same key gets the first (successful) response and creates
    nothing. The key row is written in the same transaction as the work, so a crash leaves
    neither; two concurrent first attempts collide on the unique key and the loser replays."""
    request_hash = hashlib.sha256(request.path.encode() + b"\n" + body).hexdigest()

    def replay(stored: IdempotencyKey) -> JsonResponse:
        if stored.request_hash != request_hash:
            return _error(422, "This Idempotency-Key was already used with a different request.")
        response = JsonResponse(stored.body, status=stored.status_code)
        response["Idempotent-Replayed"] = "true"
        return response

    stored = IdempotencyKey.objects.filter(source=source, key=key).first()
    if stored is not None:
        return replay(stored)
    try:
        with transaction.atomic():
            status, data = call()
            if 200 <= status < 300:
                IdempotencyKey.objects.create(
                    source=source,
                    key=key,
                    request_hash=request_hash,
                    status_code=status,
                    body=data,
                    created_at=timezone.now(),
                )
    except IntegrityError:
        stored = IdempotencyKey.objects.filter(source=source, key=key).first()
        if stored is None:
            raise
        return replay(stored)
    return JsonResponse(data, status=status)


def lead_body(lead: Lead, *, decision=None, created: bool = False) -> dict:
    """What callers learn about a lead: where it stands and who decided. For a lead intake has
    just created, its decision (a routing decision, a nurture action or none) is all the
    history it has, so the rule that decided needs no read of the events."""
    if created:
        rule = getattr(decision, "rule", None) if getattr(decision, "event", None) is not None else None
        rule_name = rule.name if rule is not None and rule.pk else None
    else:
        event = (
            LeadEvent.objects.filter(lead=lead, rule__isnull=False)
            .select_related("rule")
            .order_by("-id")
            .first()
        )
        rule_name = event.rule.name if event else None
    owner = lead.owner.user.username if lead.owner_id else None
    return {
        "id": lead.pk,
        "status": lead.status,
        "tier": lead.tier,
        "score": lead.score,
        "score_breakdown": lead.score_breakdown,
        "owner": owner,
        "rule": rule_name,
    }


@source_api
def leads_create(request: HttpRequest, *, source: Source, payload: dict) -> tuple[int, dict]:
    from lifecycle.intake import lead_intake

    if not isinstance(payload.get("extra", {}), dict):
        return 400, {"errors": {"extra": ["extra must be a JSON object of names and values."]}}
    if "source" in payload:
        # A token speaks for one source: a "source" field is kept as information, not obeyed.
        label = payload.pop("source")
        extra = payload.get("extra") if isinstance(payload.get("extra"), dict) else {}
        payload["extra"] = {**extra, "source_label": label}
    result = lead_intake(data=payload, source=source)
    if result.errors:
        return 400, {"errors": result.errors}
    return (201 if result.created else 200), {
        **lead_body(result.lead, decision=result.decision, created=result.created),
        "created": result.created,
        "merged": result.merged,
    }


@source_api
def activities_create(request: HttpRequest, *, source: Source, payload: dict) -> tuple[int, dict]:
    from lifecycle.intake import lead_intake
    from lifecycle.services import activity_log

    form = ActivityIntakeForm(payload)
    if not form.is_valid():
        return 400, {"errors": form_errors(form)}
    data = form.cleaned_data
    lead = None
    if data["lead_id"]:
        lead = Lead.objects.filter(pk=data["lead_id"]).first()
    elif data["phone"]:
        lead = Lead.objects.filter(phone_normalized=data["phone"]).order_by("pk").first()
    if lead is None and data["email"] and not data["lead_id"]:
        lead = Lead.objects.filter(email_normalized=data["email"]).order_by("pk").first()
    lead_created = False
    if lead is None:
        if data["lead_id"] or not source.creates_leads_from_activities:
            return 404, {"error": "No lead matches this lead_id, phone or email."}
        result = lead_intake(
            data={**data["lead"], "phone": data["phone"] or "", "email": data["email"] or ""}, source=source
        )
        if result.errors:
            return 400, {"errors": {f"lead.{k}": v for k, v in result.errors.items()}}
        lead, lead_created = result.lead, result.created
    activity = activity_log(
        lead=lead,
        kind=data["kind"],
        actor=data["actor"],
        source=source,
        occurred_at=data["occurred_at"],
        note=data["note"],
        outcome=data["outcome"],
        data=data["data"],
    )
    lead.refresh_from_db()
    tier_change = getattr(activity, "tier_change", None)
    return 201, {
        "activity_id": activity.pk,
        "lead_created": lead_created,
        "tier_change": list(tier_change) if tier_change else None,
        "lead": lead_body(lead),
    }


@require_GET
def openapi_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(), json_dumps_params={"ensure_ascii": False})
