"""The names of the order process: task queues, workflow ids, statuses, activity and error type names, roles.
No Django here: workflows import this module inside the sandbox."""

import hashlib
from enum import Enum

MAIN_TASK_QUEUE = "main-tq"
SHIPPING_TASK_QUEUE = "shipping-tq"


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


# The payments.payment_id column (tests/unit/test_limits.py checks it).
PAYMENT_ID_MAX_LENGTH = 64


def default_payment_id(order_id: str) -> str:
    """`pay-<order id>`; for an order id too long for that, `pay-` and a digest of it, so that it still fits."""
    payment_id = f"pay-{order_id}"
    if len(payment_id) <= PAYMENT_ID_MAX_LENGTH:
        return payment_id
    return "pay-" + hashlib.sha256(order_id.encode()).hexdigest()[: PAYMENT_ID_MAX_LENGTH - 4]


def shipping_workflow_id(order_id: str, attempt: int) -> str:
    return f"shipping-{order_id}-{attempt}"


def reauthorization_key(payment_id: str, number: int) -> str:
    """A re-authorization's own idempotency key, derived from the payment id: the first key still names the lapsed
    hold."""
    return f"{payment_id}:reauth:{number}"


class OrderStatus(str, Enum):
    RECEIVED = "received"
    AWAITING_REVIEW = "awaiting_review"
    APPROVED = "approved"
    PAID = "paid"
    SHIPPING = "shipping"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    PAYMENT_FAILED = "payment_failed"
    FAILED = "failed"


TERMINAL_STATUSES = frozenset(
    {
        OrderStatus.COMPLETED,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
        OrderStatus.PAYMENT_FAILED,
        OrderStatus.FAILED,
    }
)


class Messages:
    """The wire names of the workflows' signals, updates and queries: never change one (running orders and
    scripts use them)."""

    # OrderWorkflow: updates (answered by their validators), the signals kept for scripts, its query.
    AWAIT_CREATION = "await_creation"
    APPROVE = "approve"
    CANCEL = "cancel"
    CLAIM = "claim"
    RELEASE = "release"
    CHANGE_ADDRESS = "change_address"
    APPROVE_SIGNAL = "approve_order"
    CANCEL_SIGNAL = "cancel_order"
    UPDATE_ADDRESS_SIGNAL = "update_address"
    DISPATCH_FAILED = "dispatch_failed"  # from the shipping child
    SHIPPING_ADDRESS_RESULT = "shipping_address_result"  # from the shipping child
    GET_STATUS = "get_status"
    # ShippingWorkflow's signals (and GET_STATUS).
    CANCEL_SHIPPING = "cancel_shipping"
    SHIPPING_CHANGE_ADDRESS = "change_address"
    SHIPPING_UPDATE_ADDRESS = "update_address"  # orders started before serialized address changes


class Activities:
    """Activity names. Workflows call activities by name so that they never import the Django code
    behind them; test doubles register under the same names."""

    RECEIVE = "receive_order"
    VALIDATE = "validate_order"
    SCREEN = "screen_order"  # validate, then assess the order's risk
    ESCALATE = "escalate_review"
    APPROVE = "approve_order"
    CANCEL = "cancel_order"
    UPDATE_ADDRESS = "update_order_address"
    CHARGE = "charge_payment"  # orders started before AUTHORIZE_FIRST: authorize and capture at once
    AUTHORIZE = "authorize_payment"
    RECORD_AUTHORIZATION = "record_authorization"
    SETTLE_AUTHORIZATION = "settle_authorization"
    CAPTURE = "capture_payment"
    VOID_HOLD = "void_hold"
    RECORD_RELEASE = "record_hold_released"
    RECORD_EXPIRY = "record_authorization_expired"
    RECORD_PAYMENT = "record_payment"
    RECORD_DECLINE = "record_payment_declined"
    SETTLE_PAYMENT = "settle_payment"
    RECORD_VOID = "record_payment_voided"
    REFUND = "refund_payment"
    START_SHIPPING = "start_shipping"
    PREPARE_PACKAGE = "prepare_package"
    DISPATCH_CARRIER = "dispatch_carrier"
    RECORD_APPROVAL = "record_approval"
    RECORD_CLAIM = "record_claim"
    RECORD_SHIPPING_STEP = "record_shipping_step"
    SETTLE_SHIPMENT = "settle_shipment"
    COMPLETE = "complete_order"
    FAIL = "fail_order"


class ErrorTypes:
    """`ApplicationError.type` values of business failures; all are non-retryable."""

    REJECTED = "OrderRejected"
    DECLINED = "PaymentDeclined"
    AUTHORIZATION_EXPIRED = "AuthorizationExpired"
    INVALID_TRANSITION = "InvalidTransition"
    CONFLICT = "IdempotencyConflict"
    PAYMENT_ID_IN_USE = "PaymentIdInUse"
    DISPATCH_FAILED = "DispatchFailed"
    UNWRITABLE = "Unwritable"  # our own write refused for its data: it would fail the same way again


class Roles:
    """Who sends a decision: claims bind reviewers; a customer cancelling its own order or the system do not."""

    REVIEWER = "reviewer"
    CLIENT = "client"
    SYSTEM = "system"
    POLICY = "policy"  # the risk policy: approves or cancels by the order's score (workflows/risk.py)


# The actor the risk policy decides as, in events, the API and the admin.
POLICY_ACTOR = "policy"
