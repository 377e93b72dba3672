"""A database that can't be reached answers 503 with Retry-After, never a 500 or Django's debug page: the JSON
error shape for the API, a plain page for the admin.

The API's own exception handler already maps database errors raised in its views. This covers the rest: the
admin's views and anything raised in middleware (a session read, say), which Django turns into a 500 before
an outer middleware could catch it. The got_request_exception signal marks the request, and the outermost
middleware swaps that 500 for the 503.
"""

import sys

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import DatabaseError, DataError, IntegrityError, ProgrammingError
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse

DETAIL = "The database is unavailable; retry later."
PAGE = "<!doctype html><title>Service unavailable</title><h1>Service unavailable</h1><p>{detail}</p>"


def is_database_down(exc) -> bool:
    # A bad query or a broken constraint is a bug or a conflict, not an outage.
    return isinstance(exc, DatabaseError) and not isinstance(exc, (DataError, IntegrityError, ProgrammingError))


def unavailable(request) -> HttpResponse:
    if request.path.startswith("/admin"):
        response = HttpResponse(PAGE.format(detail=DETAIL), status=503, content_type="text/html; charset=utf-8")
    else:
        response = JsonResponse({"error": "unavailable", "detail": DETAIL}, status=503)
    response["Retry-After"] = str(settings.API_RETRY_AFTER_SECONDS)
    return response


@receiver(got_request_exception)
def _remember(sender, request=None, **kwargs):
    if request is not None and is_database_down(sys.exc_info()[1]):
        request.database_down = True


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "database_down", False) and response.status_code >= 500:
            return unavailable(request)
        return response

    def process_exception(self, request, exception):
        return unavailable(request) if is_database_down(exception) else None
