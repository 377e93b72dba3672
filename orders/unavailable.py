"""A database that can't be reached answers 503 with Retry-After, never a 500 or Django's debug page: the JSON
error shape for the API, a plain page for the admin.

The API's own exception handler already maps database errors raised in its views. This covers the rest: the
admin's views and anything raised in middleware (a session read, say), which Django turns into a 500 before
an outer middleware could catch it. The got_request_exception signal marks the request, and the outermost
middleware swaps that 500 for the 503.
"""

import sys
import threading
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
    """A circuit breaker on the database, per process. Once a request finds the database down, the requests after it
    are answered 503 at once, and then one request at a time goes through to find out whether it is back: each would
    otherwise hold a thread for DB_POOL_TIMEOUT waiting for a connection that will not come, and the requests behind
    it (the admin, the probes) would wait for those threads."""

    HOLD = 1.0  # seconds after a failure before one request tries again
    _until = 0.0  # 0: closed (no outage seen since the database last answered)
    _probing = False
    _lock = threading.Lock()

    @classmethod
    def seen(cls, exc) -> bool:
        if is_database_down(exc):
            cls._until = time.monotonic() + cls.HOLD
            return True
        return False

    @classmethod
    def open(cls) -> bool:
        """Whether an outage was seen and no request has found the database back since."""
        return bool(cls._until)

    @classmethod
    def admit(cls) -> str:
        """"pass" when no outage was seen, "probe" for the one request that finds out, "" to answer 503 at once."""
        if not cls._until:
            return "pass"
        with cls._lock:
            if cls._probing or time.monotonic() < cls._until:
                return ""
            cls._probing = True
            return "probe"

    @classmethod
    def probed(cls) -> None:
        """The probe has its answer: closed again unless it found the database down."""
        with cls._lock:
            cls._probing = False
            if time.monotonic() >= cls._until:
                cls._until = 0.0


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
        admitted = self._admit(request)
        if not admitted:
            return unavailable(request)
        try:
            return self._answer(request, self.get_response(request))
        finally:
            if admitted == "probe":
                Outage.probed()

    async def _acall(self, request):
        admitted = self._admit(request)
        if not admitted:
            return unavailable(request)
        try:
            return self._answer(request, await self.get_response(request))
        finally:
            if admitted == "probe":
                Outage.probed()

    @staticmethod
    def _admit(request) -> str:
        return "pass" if request.path in LIVENESS else Outage.admit()

    def _answer(self, request, response):
        if getattr(request, "database_down", False) and response.status_code >= 500:
            return unavailable(request)
        return response

    def process_exception(self, request, exception):
        return unavailable(request) if Outage.seen(exception) else None
