"""Turn a lost database into a retryable 503 instead of a 500 page."""

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string


class DatabaseUnavailableMiddleware:
    """When the database goes away mid-request the transaction is rolled back by Django; the
    client only needs to know it may retry, so answer 503 with Retry-After."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError) and not _is_connection_error(
            exception
        ):
            return None
        body = {
            "error": "database_unavailable",
            "detail": "The database is unavailable; retry shortly.",
            "retryable": True,
        }
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            response = JsonResponse(body, status=503)
        else:
            # No request context: context processors would touch the missing database again.
            response = HttpResponse(render_to_string("503.html", body), status=503)
        response["Retry-After"] = "5"
        return response


def _is_connection_error(exception: Exception) -> bool:
    return isinstance(exception, DatabaseError) and "connection" in str(exception).lower()
