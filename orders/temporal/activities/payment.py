"""Payments, through the PAYMENT_GATEWAY_BACKEND: holds (authorize, capture, release, expiry), charges of orders
started before holds, settling a call whose answer was lost, refunds; and their records."""

from datetime import datetime, timezone
from typing import Optional

from orders import providers, services
from orders.providers.base import OutcomeUnknown, PaymentState
from orders.temporal.activities._base import call, domain_activity
from workflows.types import Activities, ChargeRequest, Hold, HoldRecord, PaymentRecord, PaymentTruth

# What a key holds while no capture or void has landed on it.
NOT_LANDED = (PaymentState.ABSENT, PaymentState.AUTHORIZED)


def _iso(moment: Optional[datetime]) -> str:
    """An aware ISO 8601 time for the workflow (a backend's naive time is taken as UTC); "" for none."""
    if moment is None:
        return ""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()


def _truth(found) -> PaymentTruth:
    return PaymentTruth(state=found.state, reference=found.reference, expires_at=_iso(found.expires_at))


def _settle(request: ChargeRequest, unsettled: tuple[str, ...]) -> PaymentTruth:
    """Look the key up; if the gateway has it in an `unsettled` state, void it, so that a call still in flight can
    never land afterwards."""
    gateway, key = providers.payment_gateway(), call(request.payment_id, request.faults)
    found = gateway.lookup(key)
    if found.state in unsettled:
        found = gateway.void(key, order_id=request.order_id)
    return _truth(found)


def _payment(record: PaymentRecord | HoldRecord) -> dict:
    return dict(order_id=record.order_id, payment_id=record.payment_id, amount=record.amount, currency=record.currency)


@domain_activity(Activities.AUTHORIZE)
def authorize_payment(request: ChargeRequest) -> Hold:
    hold = providers.payment_gateway().authorize(
        call(request.payment_id, request.faults), order_id=request.order_id, amount=request.amount, currency=request.currency
    )
    return Hold(reference=hold.reference, expires_at=_iso(hold.expires_at))


@domain_activity(Activities.RECORD_AUTHORIZATION)
def record_authorization(record: HoldRecord) -> None:
    services.payment_authorize(
        **_payment(record),
        provider_reference=record.provider_reference,
        expires_at=datetime.fromisoformat(record.expires_at),
        replaces=record.replaces,
    )


@domain_activity(Activities.SETTLE_AUTHORIZATION)
def settle_authorization(request: ChargeRequest) -> PaymentTruth:
    """After an authorization whose outcome is unknown: a hold the gateway has is kept; if it has nothing, the key
    is voided, so that an authorization still in flight can never land."""
    return _settle(request, (PaymentState.ABSENT,))


@domain_activity(Activities.CAPTURE)
def capture_payment(request: ChargeRequest) -> str:
    return providers.payment_gateway().capture(
        call(request.payment_id, request.faults), amount=request.amount, currency=request.currency
    )


@domain_activity(Activities.CHARGE)
def charge_payment(request: ChargeRequest) -> str:
    """Orders started before holds: authorize and capture at once, under the same key."""
    gateway, key = providers.payment_gateway(), call(request.payment_id, request.faults)
    gateway.authorize(key, order_id=request.order_id, amount=request.amount, currency=request.currency)
    return gateway.capture(key, amount=request.amount, currency=request.currency)


@domain_activity(Activities.SETTLE_PAYMENT)
def settle_payment(request: ChargeRequest) -> PaymentTruth:
    """After a charge or a capture whose outcome is unknown: ask the gateway by the same key; anything not
    captured is voided there, so that a capture still in flight can never land afterwards."""
    return _settle(request, NOT_LANDED)


@domain_activity(Activities.RECORD_PAYMENT)
def record_payment(record: PaymentRecord) -> None:
    services.payment_capture(**_payment(record), provider_reference=record.provider_reference)


@domain_activity(Activities.RECORD_DECLINE)
def record_payment_declined(record: PaymentRecord) -> None:
    services.payment_decline(**_payment(record), reason=record.reason)


@domain_activity(Activities.RECORD_VOID)
def record_payment_voided(record: PaymentRecord) -> None:
    services.payment_void(**_payment(record), reason=record.reason)


def _void(record: PaymentRecord):
    """Void the key; a void whose answer was lost is settled by looking the key up."""
    gateway, key = providers.payment_gateway(), call(record.payment_id, record.faults)
    try:
        return gateway.void(key, order_id=record.order_id)
    except OutcomeUnknown:
        found = gateway.lookup(key)
        if found.state in NOT_LANDED:
            raise  # the void did not land: try it again
        return found


@domain_activity(Activities.VOID_HOLD)
def void_hold(record: PaymentRecord) -> PaymentTruth:
    """Void a hold (the order will not be paid, or the hold lapsed): the same key, the same void. What the key
    holds afterwards: voided, expired (the gateway had dropped it), or captured if a capture got there first."""
    return _truth(_void(record))


@domain_activity(Activities.RECORD_RELEASE)
def record_hold_released(record: PaymentRecord) -> None:
    services.payment_release(order_id=record.order_id, payment_id=record.payment_id, reason=record.reason)


@domain_activity(Activities.RECORD_EXPIRY)
def record_authorization_expired(record: PaymentRecord) -> None:
    services.payment_expire(order_id=record.order_id, payment_id=record.payment_id)


@domain_activity(Activities.REFUND)
def refund_payment(record: PaymentRecord) -> None:
    """Compensation: refund at the gateway (same key, same refund), then record it. Retried until it succeeds."""
    providers.payment_gateway().refund(call(record.payment_id, record.faults))
    services.payment_refund(**_payment(record), reason=record.reason)
