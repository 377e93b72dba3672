"""What the workflow client raises: every answer of Temporal that is not a result becomes one of these, so that the
entry points map each to a response (orders/api/errors.py) instead of a 500."""

from django.conf import settings
from temporalio.service import RPCError, RPCStatusCode

SETUP_FIX = "run `manage.py temporal_setup`"
UNAVAILABLE_CODES = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}
NAMESPACE_NOT_FOUND = "temporal.api.errordetails.v1.NamespaceNotFoundFailure"


class OrderClientError(Exception):
    pass


class OrderNotFound(OrderClientError):
    pass


class OrderConflict(OrderClientError):
    """The order id is taken by an order with different data."""

    code = "order_already_exists"


class PaymentIdInUse(OrderConflict):
    """The payment id (the charge's idempotency key) belongs to another order."""

    code = "payment_id_in_use"


class OrderRefused(OrderClientError):
    """The order's first step refused to create it; the reason is given."""


class MessageRejected(OrderClientError):
    """The workflow refused the message (its validator said why)."""

    code = "not_allowed"


class IdempotencyKeyReused(OrderClientError):
    """The idempotency key was sent before with a different request (IETF Idempotency-Key draft: 422)."""


class UpdateRefused(MessageRejected):
    """The server refused the update before the workflow saw it (e.g. the run has taken its most updates)."""

    code = "update_refused"


class TemporalUnavailable(OrderClientError):
    pass


class NamespaceNotReady(TemporalUnavailable):
    """The namespace is missing, or lacks the orders' search attributes: the cluster was not set up."""


class TemporalBusy(TemporalUnavailable):
    """The server refused the call for a resource limit (RESOURCE_EXHAUSTED): retry later."""


class StatusUnknown(TemporalUnavailable):
    """The workflow could not answer its status query (e.g. no worker can replay it); the reason is given."""


def not_set_up(what: str) -> NamespaceNotReady:
    return NamespaceNotReady(f"Temporal namespace {settings.TEMPORAL_NAMESPACE} is not set up for the orders ({what}): {SETUP_FIX}")


def is_namespace_missing(exc: RPCError) -> bool:
    details = exc.grpc_status.details if exc.grpc_status else []
    return exc.status == RPCStatusCode.NOT_FOUND and any(d.type_url.endswith(NAMESPACE_NOT_FOUND) for d in details)


def workflow_missing(exc: RPCError) -> bool:
    """NOT_FOUND for the workflow itself, not for its namespace."""
    return exc.status == RPCStatusCode.NOT_FOUND and not is_namespace_missing(exc)


def translate(exc: RPCError, update: bool = False) -> Exception:
    """The client error for an RPC error (`update`: of an update's call). Any other answer is a failure of the
    call, not of the order: TemporalUnavailable with what Temporal said."""
    if exc.status in UNAVAILABLE_CODES:
        return TemporalUnavailable(f"Temporal is unavailable: {exc.message}")
    if is_namespace_missing(exc):
        return not_set_up("the namespace does not exist")
    if exc.status == RPCStatusCode.INVALID_ARGUMENT and "search attribute" in exc.message:
        return not_set_up(exc.message)
    if exc.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        return TemporalBusy(f"Temporal is busy: {exc.message}")
    if update and exc.status == RPCStatusCode.FAILED_PRECONDITION:
        return UpdateRefused(f"Temporal refused the message: {exc.message}")
    return TemporalUnavailable(f"Temporal answered {exc.status.name}: {exc.message}")

