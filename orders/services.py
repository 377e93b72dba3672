"""Every write to the order domain. One function per transition; each one is atomic, locks the order row,
checks the transition table, changes the row and records exactly one event. A repeated call with the same
idempotency key (the event key) changes nothing and returns what the first call left."""

import hashlib
import json
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable, Optional

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders import events
from orders.models import Order, OrderEvent, Payment
from orders.rules import address_problems, amount_fits, money, order_total, rejection_reasons
from workflows.types import OrderInput

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
    key: str,
    actor: str = OrderEvent.SYSTEM_ACTOR,
    change: Optional[Callable[[Order], None]] = None,
    **payload,
) -> Order:
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
        order.save()
        events.record(order=order, type=event_type, key=key, actor=actor, **payload)
        return order


def _record_reason(reason: str):
    def change(order):
        order.status_reason = reason

    return change


def _decide(actor: str, reason: str = "", approvers: Optional[list[str]] = None):
    def change(order):
        order.reviewer = actor if actor != OrderEvent.SYSTEM_ACTOR else order.reviewer
        order.decided_at = timezone.now()
        order.claimed_by, order.claimed_until = "", None  # decided: the claim has done its work
        if approvers:
            order.approvals = list(approvers)
        if reason:
            _record_reason(reason)(order)

    return change


def order_receive(*, data: OrderInput) -> Order:
    """Create the order row. Called by the workflow's first step, so a row never exists without its workflow."""
    key = events.event_key(data.order_id, Event.RECEIVED)
    items = [asdict(i) for i in data.items]
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
                    fingerprint=data.fingerprint,
                    created_by_id=data.created_by_id,
                    status=Status.RECEIVED,
                    approvals_required=approvals_required(order_total(items), data.settings.four_eyes_amount),
                    review_escalate_after=timedelta(seconds=data.settings.review_escalate_after_seconds),
                    review_timeout=timedelta(seconds=data.settings.review_timeout_seconds),
                )
        except IntegrityError as exc:  # a concurrent start won the race for the id or the payment id
            _check_payment_id_free(data.payment_id)
            raise IdempotencyConflict(f"order {data.order_id} already exists with different data") from exc
        events.record(order=order, type=Event.RECEIVED, key=key, amount=str(order.amount), currency=order.currency)
        return order


def approvals_required(amount: Decimal, four_eyes_amount: str) -> int:
    """Four-eyes: orders of at least the order's snapshotted FOUR_EYES_AMOUNT need two reviewers (the workflow
    decides the same way)."""
    return 2 if four_eyes_amount and amount >= money(four_eyes_amount) else 1


def _check_payment_id_free(payment_id: str) -> None:
    if Order.objects.filter(payment_id=payment_id).exists():
        raise PaymentIdInUse(f"payment id {payment_id} is already used by another order")


def order_validate(*, order_id: str) -> Order:
    """Apply the validation rules: the order waits for review, or is rejected (and OrderRejected is raised)."""
    with transaction.atomic():
        order = _locked(order_id)
        reasons = rejection_reasons(
            items=order.items, address=order.shipping_address, amount_limit=money(settings.ORDER_AMOUNT_LIMIT)
        )
    if not reasons:
        return _transition(
            order_id=order_id,
            to_status=Status.AWAITING_REVIEW,
            event_type=Event.VALIDATED,
            key=events.event_key(order_id, Event.VALIDATED),
            change=_start_review,
        )
    reason = "; ".join(reasons)
    _transition(
        order_id=order_id,
        to_status=Status.REJECTED,
        event_type=Event.REJECTED,
        key=events.event_key(order_id, Event.REJECTED),
        change=_record_reason(reason),
        reason=reason,
    )
    raise OrderRejected(reason)


def _start_review(order: Order) -> None:
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
        order_id=order_id, to_status=None, event_type=Event.ESCALATED, key=events.event_key(order_id, Event.ESCALATED), change=flag
    )


def order_approve(*, order_id: str, actor: str, note: str = "", approvers: Optional[list[str]] = None) -> Order:
    approvers = approvers or [actor]
    return _transition(
        order_id=order_id,
        to_status=Status.APPROVED,
        event_type=Event.APPROVED,
        key=events.event_key(order_id, Event.APPROVED),
        actor=actor,
        change=_decide(actor, approvers=approvers),
        note=note,
        approvers=approvers,
    )


def order_record_approval(*, order_id: str, actor: str, note: str, required: int) -> Order:
    """The first of two approvals (four-eyes): recorded, and the reviewer's claim released for the second."""

    def take(order):
        if order.status != Status.AWAITING_REVIEW:
            raise InvalidTransition(f"order {order_id} is {order.status}; it is not waiting for review")
        order.approvals = [*order.approvals, actor]
        order.approvals_required = required
        if order.claimed_by == actor:
            order.claimed_by, order.claimed_until = "", None

    return _transition(
        order_id=order_id,
        to_status=None,
        event_type=Event.APPROVAL_RECORDED,
        key=events.event_key(order_id, Event.APPROVAL_RECORDED, actor),
        actor=actor,
        change=take,
        note=note,
        approvals=f"1 of {required}",
    )


CLAIM_EVENTS = {"claimed": Event.CLAIMED, "released": Event.CLAIM_RELEASED, "taken_over": Event.CLAIM_TAKEN_OVER}


def order_claim_change(*, order_id: str, actor: str, action: str, until: str, previous: str, sequence: int) -> Order:
    """Mirror a claim the workflow granted, released or let a reviewer take over."""

    def change(order):
        if order.status != Status.AWAITING_REVIEW:
            raise InvalidTransition(f"order {order_id} is {order.status}; it is not waiting for review")
        order.claimed_by = "" if action == "released" else actor
        order.claimed_until = datetime.fromisoformat(until) if until else None

    payload = {"until": until} if until else {}
    if previous:
        payload["previous"] = previous
    return _transition(
        order_id=order_id,
        to_status=None,
        event_type=CLAIM_EVENTS[action],
        key=events.event_key(order_id, "claim", sequence),
        actor=actor,
        change=change,
        **payload,
    )


def order_cancel(*, order_id: str, actor: str, reason: str, code: str = "", note: str = "", role: str = "") -> Order:
    """Cancel. Refusing to cancel a paid order with a live payment keeps 'refund first' an invariant."""
    with transaction.atomic():
        order = _locked(order_id)
        if not events.already_recorded(events.event_key(order_id, Event.CANCELLED)):
            if order.payments.filter(status=Payment.Status.CAPTURED).exists():
                raise InvalidTransition(f"order {order_id} has a captured payment; refund it before cancelling")
        return _transition(
            order_id=order_id,
            to_status=Status.CANCELLED,
            event_type=Event.CANCELLED,
            key=events.event_key(order_id, Event.CANCELLED),
            actor=actor,
            change=_decide(actor, reason),
            reason=reason,
            code=code,
            note=note,
            role=role,
        )


def order_update_address(*, order_id: str, address: dict, actor: str, sequence: int) -> Order:
    problems = address_problems(address)
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
            key=events.event_key(order_id, Event.ADDRESS_UPDATED, sequence),
            actor=actor,
            change=change,
            old=dict(order.shipping_address),
            new=address,
        )


def payment_capture(*, order_id: str, payment_id: str, amount, currency: str, provider_reference: str) -> Payment:
    """Record a captured payment and mark the order paid. Same payment_id again: the same payment, one row.
    The same payment_id for another order or amount, or a row that is no longer captured, is an
    IdempotencyConflict: a repeat never passes for a capture it is not."""
    amount = money(amount)
    with transaction.atomic():
        order = _locked(order_id)
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment:
            if payment.order_id != order_id or payment.amount != amount or payment.currency != currency.upper():
                raise IdempotencyConflict(f"payment {payment_id} belongs to another order or amount")
            if payment.status != Payment.Status.CAPTURED:
                raise IdempotencyConflict(f"payment {payment_id} is {payment.status}, not captured")
            return payment
        if not order.can_transition(Status.PAID):
            raise InvalidTransition(f"order {order_id} is {order.status}; it can't be paid")
        payment = Payment.objects.create(
            payment_id=payment_id,
            order=order,
            amount=amount,
            currency=currency.upper(),
            status=Payment.Status.CAPTURED,
            provider_reference=provider_reference,
        )
        _transition(
            order_id=order_id,
            to_status=Status.PAID,
            event_type=Event.PAYMENT_CAPTURED,
            key=events.event_key(order_id, Event.PAYMENT_CAPTURED),
            payment_id=payment_id,
            amount=str(amount),
            provider_reference=provider_reference,
        )
        return payment


def payment_decline(*, order_id: str, payment_id: str, amount, currency: str, reason: str) -> Payment:
    """The gateway refused the charge: nothing was taken."""
    return _payment_failed(
        order_id=order_id, payment_id=payment_id, amount=amount, currency=currency, reason=reason,
        status=Payment.Status.DECLINED, event_type=Event.PAYMENT_DECLINED,
    )


def payment_void(*, order_id: str, payment_id: str, amount, currency: str, reason: str) -> Payment:
    """The gateway never answered the charge, and voided the payment when asked: nothing was taken."""
    return _payment_failed(
        order_id=order_id, payment_id=payment_id, amount=amount, currency=currency, reason=reason,
        status=Payment.Status.VOIDED, event_type=Event.PAYMENT_VOIDED,
    )


def _payment_failed(*, order_id, payment_id, amount, currency, reason, status, event_type) -> Payment:
    amount = money(amount)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment:
            if payment.order_id != order_id or payment.status != status:
                raise IdempotencyConflict(f"payment {payment_id} is already recorded as {payment.status}")
            return payment
        order = _transition(
            order_id=order_id,
            to_status=Status.PAYMENT_FAILED,
            event_type=event_type,
            key=events.event_key(order_id, event_type),
            change=_record_reason(reason),
            payment_id=payment_id,
            reason=reason,
        )
        return Payment.objects.create(
            payment_id=payment_id, order=order, amount=amount, currency=currency.upper(), status=status, failure_reason=reason
        )


def payment_refund(*, order_id: str, payment_id: str, amount, currency: str, reason: str) -> Payment:
    """Record a refund the gateway has made. Refunding again returns the refunded payment and writes nothing.

    The row follows the gateway: a payment we failed to record as captured (the compensation after an unexpected
    failure) is recorded as refunded all the same, so that no row ever says money was not taken when it was."""
    amount = money(amount)
    with transaction.atomic():
        _locked(order_id)
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment and payment.order_id != order_id:
            raise IdempotencyConflict(f"payment {payment_id} belongs to another order")
        if payment and payment.status == Payment.Status.REFUNDED:
            return payment
        if payment is None:
            payment = Payment(payment_id=payment_id, order_id=order_id, amount=amount, currency=currency.upper())
        payment.status = Payment.Status.REFUNDED
        payment.save()
        _transition(
            order_id=order_id,
            to_status=None,
            event_type=Event.PAYMENT_REFUNDED,
            key=events.event_key(order_id, Event.PAYMENT_REFUNDED, payment_id),
            payment_id=payment_id,
            amount=str(payment.amount),
            reason=reason,
        )
        return payment


def order_start_shipping(*, order_id: str, attempt: int) -> Order:
    def count(order):
        order.shipping_attempts = max(order.shipping_attempts, attempt)

    return _transition(
        order_id=order_id,
        to_status=Status.SHIPPING,
        event_type=Event.SHIPPING_STARTED,
        key=events.event_key(order_id, Event.SHIPPING_STARTED, attempt),
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
        key=events.event_key(order_id, event_type, attempt),
        change=check,
        attempt=attempt,
        detail=detail,
    )


def order_complete(*, order_id: str) -> Order:
    return _transition(
        order_id=order_id, to_status=Status.COMPLETED, event_type=Event.COMPLETED, key=events.event_key(order_id, Event.COMPLETED)
    )


def order_fail(*, order_id: str, reason: str) -> Order:
    return _transition(
        order_id=order_id,
        to_status=Status.FAILED,
        event_type=Event.FAILED,
        key=events.event_key(order_id, Event.FAILED),
        change=_record_reason(reason),
        reason=reason,
    )
