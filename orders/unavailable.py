"""A database that can't be reached answers 503 with Retry-After, never a 500 or Django's debug page: the JSON
error shape for the API, a plain page for the admin.

The API's own exception handler already maps database errors raised in its views. This covers the rest: the
admin's views and anything raised in middleware (a session read, say), which Django turns into a 500 before
an outer middleware could catch it. The got_request_exception signal marks the request, and the outermost
middleware swaps that 500 for the 503.
"""

import sys
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import DatabaseError, DataError, IntegrityError, ProgrammingError
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse

DETAIL = "The database is unavailable; retry later."
# Answered whatever the database does: the process is alive.
LIVENESS = {"/healthz"}
PAGE = "<!doctype html><title>Service unavailable</title><h1>Service unavailable</h1><p>{detail}</p>"


def is_database_down(exc) -> bool:
    # A bad query or a broken constraint is a bug or a conflict, not an outage.
    return isinstance(exc, DatabaseError) and not isinstance(exc, (DataError, IntegrityError, ProgrammingError))


class Outage:
    """When a request of this process last found the database down. For OUTAGE_HOLD seconds after, requests are
    answered 503 at once: each would otherwise hold a thread for DB_POOL_TIMEOUT waiting for a connection that will
    not come, and the requests behind it (the admin, the probes) would wait for those threads."""

    HOLD = 1.0
    _until = 0.0

    @classmethod
    def seen(cls, exc) -> bool:
        if is_database_down(exc):
            cls._until = time.monotonic() + cls.HOLD
            return True
        return False

    @classmethod
    def ongoing(cls) -> bool:
        return time.monotonic() < cls._until


def unavailable(request) -> HttpResponse:
    if request.path.startswith("/admin"):
        response = HttpResponse(PAGE.format(detail=DETAIL), status=503, content_type="text/html; charset=utf-8")
    else:
        response = JsonResponse({"error": "unavailable", "detail": DETAIL}, status=503)
    response["Retry-After"] = str(settings.API_RETRY_AFTER_SECONDS)
    return response


@receiver(got_request_exception)
def _remember(sender, request=None, **kwargs):
    if Outage.seen(sys.exc_info()[1]) and request is not None:
        request.database_down = True


class DatabaseUnavailableMiddleware:
    # Both, so that an asynchronous view below it (the API's waits) is not run from a thread under ASGI.
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.async_mode:
            return self._acall(request)
        if Outage.ongoing() and request.path not in LIVENESS:
            return unavailable(request)
        return self._answer(request, self.get_response(request))

    async def _acall(self, request):
        if Outage.ongoing() and request.path not in LIVENESS:
            return unavailable(request)
        return self._answer(request, await self.get_response(request))

    def _answer(self, request, response):
        if getattr(request, "database_down", False) and response.status_code >= 500:
            return unavailable(request)
        return response

    def process_exception(self, request, exception):
        return unavailable(request) if Outage.seen(exception) else None
