"""The order's own life: received, validated (or rejected), escalated, re-addressed, shipped, completed or failed."""

from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal
from typing import Callable, Optional

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders import events, limits
from orders.models import Order
from orders.risk.keys import order_keys
from orders.rules import address_problems, amount_fits, money, order_total, rejection_reasons
from orders.services._base import (
    Event,
    IdempotencyConflict,
    InvalidTransition,
    OrderRejected,
    PaymentIdInUse,
    Status,
    _locked,
    _record_reason,
    _transition,
)
from workflows.types import OrderInput

UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE; SQLite gives none, and its integrity errors here are all races


def order_receive(*, data: OrderInput) -> Order:
    """Create the order row. Called by the workflow's first step, so a row never exists without its workflow."""
    key = events.event_key(data.order_id, Event.RECEIVED)
    items = [asdict(i) for i in data.items]
    problems = _unstorable_fields(data, items)
    if problems:
        # The entry points refuse such input; a message sent past them ends here, not in a write that always fails.
        raise OrderRejected(f"order {data.order_id} cannot be stored: {'; '.join(problems)}")
    if not amount_fits(order_total(items)):
        # Nothing to store: the API and CLI refuse such orders before they start.
        raise OrderRejected(f"order {data.order_id}: the total does not fit in an amount of money")
    with transaction.atomic():
        existing = Order.objects.select_for_update().filter(pk=data.order_id).first()
        if existing:
            if existing.fingerprint != data.fingerprint:
                raise IdempotencyConflict(f"order {data.order_id} exists with different data")
            return existing
        _check_payment_id_free(data.payment_id)
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    id=data.order_id,
                    customer_name=data.customer_name,
                    customer_email=data.customer_email,
                    items=items,
                    amount=order_total(items),
                    currency=data.currency.upper(),
                    shipping_address=asdict(data.shipping_address),
                    payment_id=data.payment_id,
                    **order_keys(
                        customer_name=data.customer_name,
                        customer_email=data.customer_email,
                        shipping_address=asdict(data.shipping_address),
                    ),
                    fingerprint=data.fingerprint,
                    created_by_id=data.created_by_id,
                    status=Status.RECEIVED,
                    approvals_required=approvals_required(order_total(items), data.settings.four_eyes_amount),
                    review_escalate_after=timedelta(seconds=data.settings.review_escalate_after_seconds),
                    review_timeout=timedelta(seconds=data.settings.review_timeout_seconds),
                )
        except IntegrityError as exc:  # a concurrent start won the race for the id or the payment id
            if getattr(exc.__cause__, "sqlstate", UNIQUE_VIOLATION) != UNIQUE_VIOLATION:
                raise  # another constraint refused the row: not a race
            _check_payment_id_free(data.payment_id)
            raise IdempotencyConflict(f"order {data.order_id} already exists with different data") from exc
        events.record(order=order, type=Event.RECEIVED, key=key, amount=str(order.amount), currency=order.currency)
        return order


def _unstorable_fields(data: OrderInput, items: list[dict]) -> list[str]:
    columns = {
        "order_id": (data.order_id, limits.ORDER_ID),
        "customer_name": (data.customer_name, limits.CUSTOMER_NAME),
        "customer_email": (data.customer_email, limits.CUSTOMER_EMAIL),
        "currency": (data.currency, limits.CURRENCY),
        "payment_id": (data.payment_id, limits.PAYMENT_ID),
    }
    problems = [f"{name} is longer than {limit} characters" for name, (value, limit) in columns.items() if len(value) > limit]
    values = {**{name: value for name, (value, _) in columns.items()}, "items": items, "shipping_address": asdict(data.shipping_address)}
    return problems + [f"{name} {problem}" for name, value in values.items() if (problem := limits.unstorable(value))]


def approvals_required(amount: Decimal, four_eyes_amount: str) -> int:
    """Four-eyes: orders of at least the order's snapshotted FOUR_EYES_AMOUNT need two reviewers (the workflow
    decides the same way)."""
    return 2 if four_eyes_amount and amount >= money(four_eyes_amount) else 1


def _check_payment_id_free(payment_id: str) -> None:
    if Order.objects.filter(payment_id=payment_id).exists():
        raise PaymentIdInUse(f"payment id {payment_id} is already used by another order")


def order_validate(*, order_id: str, assess: Optional[Callable[[Order], dict]] = None, hold_first: bool = False) -> Order:
    """Apply the validation rules: the order waits for review, or is rejected (and OrderRejected is raised).
    `assess` scores an order that passes, in the same transaction (services/risk.py). With `hold_first`, a valid
    order stays received: it waits for review once its payment is authorized (services/holds.py)."""
    with transaction.atomic():
        order = _locked(order_id)
        reasons = rejection_reasons(
            items=order.items, address=order.shipping_address, amount_limit=money(settings.ORDER_AMOUNT_LIMIT)
        )
    if not reasons:
        return _transition(
            order_id=order_id,
            to_status=None if hold_first else Status.AWAITING_REVIEW,
            event_type=Event.VALIDATED,
            change=None if hold_first else start_review,
            details=assess,
        )
    reason = "; ".join(reasons)
    _transition(
        order_id=order_id,
        to_status=Status.REJECTED,
        event_type=Event.REJECTED,
        change=_record_reason(reason),
        reason=reason,
    )
    raise OrderRejected(reason)


def start_review(order: Order) -> None:
    """The review's clock: escalation and auto-cancel deadlines from the order's snapshotted settings."""
    order.review_started_at = timezone.now()
    if order.review_escalate_after is not None:
        order.escalates_at = order.review_started_at + order.review_escalate_after
    if order.review_timeout is not None:
        order.auto_cancels_at = order.review_started_at + order.review_timeout


def order_escalate(*, order_id: str) -> Order:
    def flag(order):
        if order.status != Status.AWAITING_REVIEW:
            raise InvalidTransition(f"order {order_id} is {order.status}; only orders awaiting review escalate")
        order.escalated = True

    return _transition(
        order_id=order_id, to_status=None, event_type=Event.ESCALATED, change=flag
    )


def order_update_address(*, order_id: str, address: dict, actor: str, sequence: int) -> Order:
    problems = address_problems(address)
    if limits.unstorable(address):
        problems.append(f"the address {limits.unstorable(address)}")
    if problems:
        raise InvalidTransition("; ".join(problems))

    def change(order):
        if order.is_terminal:
            raise InvalidTransition(f"order {order_id} is {order.status}; its address can no longer change")
        order.shipping_address = address

    with transaction.atomic():
        order = _locked(order_id)
        # The event payload holds the old address, so read it before the change.
        return _transition(
            order_id=order_id,
            to_status=None,
            event_type=Event.ADDRESS_UPDATED,
            key_parts=(sequence,),
            actor=actor,
            change=change,
            old=dict(order.shipping_address),
            new=address,
        )


def order_start_shipping(*, order_id: str, attempt: int) -> Order:
    def count(order):
        order.shipping_attempts = max(order.shipping_attempts, attempt)

    return _transition(
        order_id=order_id,
        to_status=Status.SHIPPING,
        event_type=Event.SHIPPING_STARTED,
        key_parts=(attempt,),
        change=count,
        attempt=attempt,
    )


SHIPPING_STEP_EVENTS = {
    "package_prepared": Event.PACKAGE_PREPARED,
    "dispatched": Event.DISPATCHED,
    "attempt_failed": Event.SHIPPING_ATTEMPT_FAILED,
}


def order_record_shipping_step(*, order_id: str, attempt: int, step: str, detail: str = "") -> Order:
    """Record progress inside a shipping attempt (package prepared, carrier dispatched, attempt failed)."""
    event_type = SHIPPING_STEP_EVENTS[step]

    def check(order):
        if order.status != Status.SHIPPING:
            raise InvalidTransition(f"order {order_id} is {order.status}, not shipping")
        if step == "dispatched":
            order.tracking_number = detail

    return _transition(
        order_id=order_id,
        to_status=None,
        event_type=event_type,
        key_parts=(attempt,),
        change=check,
        attempt=attempt,
        detail=detail,
    )


def order_complete(*, order_id: str) -> Order:
    return _transition(
        order_id=order_id, to_status=Status.COMPLETED, event_type=Event.COMPLETED
    )


def order_fail(*, order_id: str, reason: str) -> Order:
    """Any open order can fail (a step that could not succeed); a claim on it ends with it."""

    def change(order: Order) -> None:
        _record_reason(reason)(order)
        order.claimed_by, order.claimed_until = "", None

    return _transition(
        order_id=order_id,
        to_status=Status.FAILED,
        event_type=Event.FAILED,
        change=change,
        reason=limits.fit(limits.storable(reason), limits.STATUS_REASON),
    )
