"""Holds on the customer's money: authorized before review, re-authorized when one lapses, released when the
order is cancelled. Captures, declines and refunds: payment.py. Each payment id (a hold's key) is one row."""

from django.db import transaction

from orders.models import Payment
from orders.rules import money
from orders.services._base import Event, IdempotencyConflict, Status, _locked, _transition
from orders.services.order import start_review
from orders.services.payment import check_same_payment

HELD = Payment.Status.AUTHORIZED


def payment_authorize(
    *, order_id: str, payment_id: str, amount, currency: str, provider_reference: str, expires_at, replaces: str = ""
) -> Payment:
    """Record a hold. The first one puts the order in the review queue (payment_authorized); one that replaces a
    lapsed hold (`replaces`) is a re-authorization and changes no status (payment_reauthorized)."""
    amount = money(amount)
    with transaction.atomic():
        _locked(order_id)
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment:
            check_same_payment(payment, order_id, amount, currency)
            return payment
        payment = Payment.objects.create(
            payment_id=payment_id,
            order_id=order_id,
            amount=amount,
            currency=currency.upper(),
            status=HELD,
            provider_reference=provider_reference,
            expires_at=expires_at,
        )
        details = dict(payment_id=payment_id, amount=str(amount), expires_at=expires_at.isoformat())
        if replaces:
            _transition(
                order_id=order_id, to_status=None, event_type=Event.PAYMENT_REAUTHORIZED, key_parts=(payment_id,),
                replaces=replaces, **details,
            )
        else:
            _transition(
                order_id=order_id, to_status=Status.AWAITING_REVIEW, event_type=Event.PAYMENT_AUTHORIZED,
                change=start_review, **details,
            )
        return payment


def payment_expire(*, order_id: str, payment_id: str) -> Payment:
    """The hold lapsed before it was captured: nothing was taken, and the key can no longer be captured."""
    return _end_hold(order_id, payment_id, Payment.Status.EXPIRED, Event.AUTHORIZATION_EXPIRED)


def payment_release(*, order_id: str, payment_id: str, reason: str) -> Payment:
    """The order will not be paid (cancelled, or its review timed out): the hold was voided at the gateway, so no
    refund is needed. Recorded as payment_voided with the cause `released`; the order's own end follows."""
    return _end_hold(order_id, payment_id, Payment.Status.VOIDED, Event.PAYMENT_VOIDED, cause="released", reason=reason)


def _end_hold(order_id: str, payment_id: str, status: str, event_type: str, **payload) -> Payment:
    with transaction.atomic():
        _locked(order_id)
        payment = Payment.objects.select_for_update().filter(pk=payment_id, order_id=order_id).first()
        if payment is None:
            raise IdempotencyConflict(f"order {order_id} holds no payment {payment_id}")
        if payment.status == status:
            return payment
        if payment.status != HELD:
            raise IdempotencyConflict(f"payment {payment_id} is {payment.status}; it holds nothing to end")
        payment.status = status
        payment.save(update_fields=["status", "updated_at"])
        _transition(
            order_id=order_id, to_status=None, event_type=event_type, key_parts=(payment_id,), payment_id=payment_id,
            **payload,
        )
        return payment
