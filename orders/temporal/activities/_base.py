"""What every activity shares: the registration that keeps Django's connections healthy and reports refusals.

Two kinds, with different retry policies chosen by the workflows:
- bookkeeping activities only write to our own database; they retry without limit, so a database outage of
  minutes delays an order but never loses it;
- business calls (gateway, warehouse, carrier) retry a few times with backoff, and a business refusal is
  non-retryable.
Either way, a failure that would come again the same way (write_errors.py) is non-retryable.
"""

import functools
import logging

from django.db import close_old_connections
from temporalio import activity
from temporalio.exceptions import ApplicationError

from orders import services
from orders.providers import base as providers
from orders.temporal import write_errors
from workflows.types import ErrorTypes

log = logging.getLogger("orders.temporal.activities")

# Business refusals, most specific first (a provider backend may raise its own subclasses): non-retryable.
_REFUSALS = [
    (services.OrderRejected, ErrorTypes.REJECTED),
    (services.InvalidTransition, ErrorTypes.INVALID_TRANSITION),
    (services.PaymentIdInUse, ErrorTypes.PAYMENT_ID_IN_USE),
    (services.IdempotencyConflict, ErrorTypes.CONFLICT),
    (providers.AuthorizationExpired, ErrorTypes.AUTHORIZATION_EXPIRED),
    (providers.KeyConflict, ErrorTypes.CONFLICT),
    (providers.Refused, ErrorTypes.DECLINED),
]


def refusal_type(exc: BaseException):
    """The ErrorTypes value of a business refusal, or None for anything that may succeed when tried again."""
    return next((error_type for cls, error_type in _REFUSALS if isinstance(exc, cls)), None)


def domain_activity(name: str):
    """Register a sync activity that keeps Django's connections healthy (as a request would) and reports
    business refusals as non-retryable errors, carrying their reason."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(arg):
            info = activity.info()
            context = {"order_id": getattr(arg, "order_id", ""), "workflow_id": info.workflow_id}
            log.info("%s (attempt %s)", name, info.attempt, extra=context)
            close_old_connections()
            try:
                return fn(arg)
            except Exception as exc:
                refused = refusal_type(exc)
                if refused:
                    log.warning("%s refused: %s", name, exc, extra=context)
                    raise ApplicationError(str(exc), type=refused, non_retryable=True) from exc
                # A provider's "try again" is retried, whatever caused it (a backend's parse error is no bad row).
                if isinstance(exc, providers.TryAgain) or not write_errors.deterministic(exc):
                    raise
                reason = write_errors.explain(exc)
                log.error("%s cannot succeed: %s", name, reason, extra=context)
                raise ApplicationError(reason, type=ErrorTypes.UNWRITABLE, non_retryable=True) from exc
            finally:
                close_old_connections()

        return activity.defn(name=name)(wrapper)

    return decorate


def call(key: str, faults=None) -> providers.Call:
    """The provider call of this activity attempt."""
    return providers.Call(key=key, attempt=activity.info().attempt, faults=faults)
