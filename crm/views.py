from datetime import timedelta

from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from crm.models import Heartbeat


@require_GET
def healthz(request):
    """200 when the database answers; reports the scheduler's last heartbeat and its age."""
    body = {
        "status": "ok",
        "database": "ok",
        "scheduler": {"last_heartbeat": None, "age_seconds": None, "alive": False},
    }
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        beat = Heartbeat.objects.filter(name="scheduler").first()
    except Exception as exc:  # any database failure is reported, not raised
        body.update(status="error", database=f"error: {exc.__class__.__name__}")
        return JsonResponse(body, status=503)
    if beat:
        age = (timezone.now() - beat.at).total_seconds()
        body["scheduler"] = {
            "last_heartbeat": beat.at.isoformat(),
            "age_seconds": round(age, 1),
            "alive": age < timedelta(minutes=3).total_seconds(),
        }
    return JsonResponse(body)
