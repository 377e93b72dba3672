"""Payments as the gateway reports them: captured, declined, voided, refunded (holds: holds.py). The payment id is
the idempotency key."""

from django.db import transaction

from orders import limits
from orders.models import Payment
from orders.rules import money
from orders.services._base import (
    Event,
    IdempotencyConflict,
    InvalidTransition,
    Status,
    _locked,
    _record_reason,
    _transition,
)


def check_same_payment(payment: Payment, order_id: str, amount, currency: str) -> None:
    """A repeat of a payment's key must be for the same order and amount: never passed off as another payment."""
    if payment.order_id != order_id or payment.amount != amount or payment.currency != currency.upper():
        raise IdempotencyConflict(f"payment {payment.payment_id} belongs to another order or amount")


def payment_capture(*, order_id: str, payment_id: str, amount, currency: str, provider_reference: str) -> Payment:
    """Record a captured payment (a charge, or the capture of a hold) and mark the order paid. Same payment_id
    again: the same payment, one row. The same payment_id for another order or amount, or a row that is neither
    held nor captured, is an IdempotencyConflict: a repeat never passes for a capture it is not."""
    amount = money(amount)
    with transaction.atomic():
        order = _locked(order_id)
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment:
            check_same_payment(payment, order_id, amount, currency)
            if payment.status == Payment.Status.CAPTURED:
                return payment
            if payment.status != Payment.Status.AUTHORIZED:
                raise IdempotencyConflict(f"payment {payment_id} is {payment.status}, not captured")
        if not order.can_transition(Status.PAID):
            raise InvalidTransition(f"order {order_id} is {order.status}; it can't be paid")
        payment = payment or Payment(payment_id=payment_id, order=order, amount=amount, currency=currency.upper())
        payment.status, payment.provider_reference = Payment.Status.CAPTURED, provider_reference
        payment.save()
        _transition(
            order_id=order_id,
            to_status=Status.PAID,
            event_type=Event.PAYMENT_CAPTURED,
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
    """The gateway never answered the charge or the capture, and voided the key when asked: nothing was taken."""
    return _payment_failed(
        order_id=order_id, payment_id=payment_id, amount=amount, currency=currency, reason=reason,
        status=Payment.Status.VOIDED, event_type=Event.PAYMENT_VOIDED, cause="no_answer",
    )


def _payment_failed(*, order_id, payment_id, amount, currency, reason, status, event_type, **payload) -> Payment:
    amount = money(amount)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment and payment.order_id == order_id and payment.status == status:
            return payment
        # A hold whose capture never answered is voided, and the order fails with it.
        if payment and (payment.order_id != order_id or payment.status != Payment.Status.AUTHORIZED):
            raise IdempotencyConflict(f"payment {payment_id} is already recorded as {payment.status}")
        order = _transition(
            order_id=order_id,
            to_status=Status.PAYMENT_FAILED,
            event_type=event_type,
            change=_record_reason(reason),
            payment_id=payment_id,
            reason=reason,
            **payload,
        )
        payment = payment or Payment(payment_id=payment_id, order=order, amount=amount, currency=currency.upper())
        payment.status = status
        payment.failure_reason = limits.fit(limits.storable(reason), limits.FAILURE_REASON)
        payment.save()
        return payment


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
            key_parts=(payment_id,),
            payment_id=payment_id,
            amount=str(payment.amount),
            reason=reason,
        )
        return payment
