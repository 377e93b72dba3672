"""Every write to the order domain. One function per transition; each one is atomic, locks the order row,
checks the transition table, changes the row and records exactly one event. A repeated call with the same
idempotency key (the event key) changes nothing and returns what the first call left."""

from orders.services._base import (
    IdempotencyConflict,
    InvalidTransition,
    OrderRejected,
    PaymentIdInUse,
    ServiceError,
    order_fingerprint,
)
from orders.services.holds import payment_authorize, payment_expire, payment_release
from orders.services.order import (
    SHIPPING_STEP_EVENTS,
    approvals_required,
    order_complete,
    order_escalate,
    order_fail,
    order_receive,
    order_record_shipping_step,
    order_start_shipping,
    order_update_address,
    order_validate,
)
from orders.services.payment import payment_capture, payment_decline, payment_refund, payment_void
from orders.services.review import CLAIM_EVENTS, order_approve, order_cancel, order_claim_change, order_record_approval
from orders.services.risk import order_mark_fraud, order_screen

__all__ = [
    "CLAIM_EVENTS",
    "SHIPPING_STEP_EVENTS",
    "IdempotencyConflict",
    "InvalidTransition",
    "OrderRejected",
    "PaymentIdInUse",
    "ServiceError",
    "approvals_required",
    "order_approve",
    "order_cancel",
    "order_claim_change",
    "order_complete",
    "order_escalate",
    "order_fail",
    "order_fingerprint",
    "order_receive",
    "order_mark_fraud",
    "order_record_approval",
    "order_record_shipping_step",
    "order_screen",
    "order_start_shipping",
    "order_update_address",
    "order_validate",
    "payment_authorize",
    "payment_capture",
    "payment_decline",
    "payment_expire",
    "payment_refund",
    "payment_release",
    "payment_void",
]
