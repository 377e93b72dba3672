"""What every service shares: the refusals, the request fingerprint, and `_transition`, the one way a service
changes an order (lock the row, check the transition table, change it, record one event)."""

import hashlib
import json
from typing import Callable, Optional

from django.db import transaction
from django.utils import timezone

from orders import events, limits
from orders.models import Order, OrderEvent
from orders.rules import money
from workflows.names import Roles

Status = Order.Status
Event = OrderEvent.Type


class ServiceError(Exception):
    """A business refusal. Activities turn these into non-retryable errors."""


class InvalidTransition(ServiceError):
    pass


class OrderRejected(ServiceError):
    pass


class IdempotencyConflict(ServiceError):
    pass


class PaymentIdInUse(IdempotencyConflict):
    pass


def order_fingerprint(*, customer_name, customer_email, items, currency, shipping_address, payment_id) -> str:
    """A stable hash of what the client asked for: the same request twice gives the same fingerprint."""
    canonical = {
        "customer_name": customer_name,
        "customer_email": customer_email.lower(),
        "items": [
            {"sku": i["sku"], "quantity": int(i["quantity"]), "unit_price": str(money(i["unit_price"]))} for i in items
        ],
        "currency": currency.upper(),
        "shipping_address": {k: v for k, v in sorted(shipping_address.items()) if v},
        "payment_id": payment_id,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _locked(order_id: str) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def _transition(
    *,
    order_id: str,
    to_status: Optional[str],
    event_type: str,
    key_parts: tuple = (),
    key: str = "",
    actor: str = OrderEvent.SYSTEM_ACTOR,
    change: Optional[Callable[[Order], None]] = None,
    details: Optional[Callable[[Order], dict]] = None,
    **payload,
) -> Order:
    """One transition, one event. Its idempotency key is the order, the event's type and `key_parts` (the attempt,
    the sequence); `key` only for the few events keyed otherwise. `details` adds to the event what the changed
    row says (the risk score a decision was taken at)."""
    key = key or events.event_key(order_id, event_type, *key_parts)
    with transaction.atomic():
        order = _locked(order_id)
        if events.already_recorded(key):
            return order
        if to_status is not None:
            if not order.can_transition(to_status):
                raise InvalidTransition(f"order {order_id} is {order.status}; it can't become {to_status}")
            payload.setdefault("from", order.status)
            payload.setdefault("to", to_status)
            order.status = to_status
        if change:
            change(order)
        if details:
            payload.update(details(order))
        order.save()
        events.record(order=order, type=event_type, key=key, actor=actor, **payload)
        return order


def _record_reason(reason: str):
    def change(order):
        order.status_reason = limits.fit(limits.storable(reason), limits.STATUS_REASON)

    return change


_DECIDERS = {Roles.POLICY: Order.DecidedBy.POLICY, Roles.SYSTEM: Order.DecidedBy.SYSTEM, Roles.CLIENT: Order.DecidedBy.CLIENT}


def decided_by(role: str) -> str:
    """Who takes a decision: the risk policy, the system (a review that timed out), the customer withdrawing, or a
    reviewer ("" is the role of messages sent before roles existed)."""
    return _DECIDERS.get(role, Order.DecidedBy.PERSON)


def decision_details(role: str):
    """What a decision's event keeps: the score at the time, and who took this decision."""
    return lambda order: {"risk_score": order.risk_score, "decided_by": decided_by(role)}


def _decide(
    actor: str,
    reason: str = "",
    approvers: Optional[list[str]] = None,
    by_reviewer: bool = True,
    role: str = "",
    decision: str = Order.Decision.APPROVED,
):
    """A decision ends the review. Only a reviewer's names the reviewer and its time; a client's or the system's
    cancel after a reviewer decided leaves that decision as it was. The policy decides as itself, not a reviewer.
    The first decision is the review's (`decided_by`, `decision`): a later cancel does not change it."""

    def change(order):
        if order.decided_at is None:
            order.decided_by, order.decision = decided_by(role), decision
        if by_reviewer and actor != OrderEvent.SYSTEM_ACTOR and role != Roles.POLICY:
            order.reviewer = actor
        if by_reviewer or order.decided_at is None:
            order.decided_at = timezone.now()
        order.claimed_by, order.claimed_until = "", None  # decided: the claim has done its work
        if approvers:
            order.approvals = list(approvers)
        if reason:
            _record_reason(reason)(order)

    return change
