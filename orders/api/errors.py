"""One JSON error shape for the whole API: {"error": "<code>", "detail": "<message>"} (+ "fields" for 400s)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from orders.temporal.errors import (
    MessageRejected,
    NamespaceNotReady,
    OrderConflict,
    OrderNotFound,
    OrderRefused,
    StatusUnknown,
    TemporalBusy,
    TemporalUnavailable,
)
from orders.unavailable import Outage


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"
    default_detail = "A backing service is unavailable; retry later."


class Busy(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "busy"
    default_detail = "Temporal is busy; retry later."


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "not_created"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


def _translate(exc):
    if isinstance(exc, Http404):
        return exceptions.NotFound("No such order.")
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, NamespaceNotReady):
        return ServiceUnavailable(str(exc), code="temporal_not_set_up")
    if isinstance(exc, StatusUnknown):
        return ServiceUnavailable(str(exc), code="status_unknown")
    if isinstance(exc, TemporalBusy):
        return Busy()
    Outage.seen(exc)  # a database found down: the next requests are answered at once (orders/unavailable.py)
    if isinstance(exc, (TemporalUnavailable, DatabaseError)):
        return ServiceUnavailable()
    if isinstance(exc, (OrderConflict, MessageRejected)):
        return Conflict(str(exc), code=exc.code)
    if isinstance(exc, OrderRefused):
        return Unprocessable(str(exc))
    if isinstance(exc, OrderNotFound):
        return exceptions.NotFound(str(exc))
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    return exc


def exception_handler(exc, context):
    exc = _translate(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"error": "invalid", "detail": "The request is invalid.", "fields": exc.detail}
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = {"error": codes if isinstance(codes, str) else "error", "detail": str(exc.detail)}
    if response.status_code in (status.HTTP_503_SERVICE_UNAVAILABLE, status.HTTP_429_TOO_MANY_REQUESTS) and "Retry-After" not in response:
        response["Retry-After"] = str(settings.API_RETRY_AFTER_SECONDS)
    return response
