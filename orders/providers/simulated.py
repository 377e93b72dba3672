"""The default backends: a simulated payment gateway and a simulated carrier with its warehouse.

They keep their own books (`gateway_ledger`, `carrier_shipments`), written only here and idempotent by key, as
real providers are. Our services never write them; they are what our own records are checked against. Faults
(faults.py) strike before or after the side effect of every call.

Test cards, by payment id: one starting with "decline" is declined at authorization; one starting with "lapsed"
is authorized, and its re-authorizations (keys with ":reauth:") are declined.
"""

import hashlib
from datetime import timedelta
from decimal import Decimal
from typing import Optional

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.models import CarrierShipment, GatewayLedgerEntry
from orders.providers.base import (
    Authorization,
    AuthorizationExpired,
    Call,
    Carrier,
    Declined,
    KeyConflict,
    PaymentGateway,
    PaymentLookup,
    PaymentState,
    ShipmentLookup,
)
from orders.providers.faults import Dice
from orders.rules import money

DECLINE_PREFIX = "decline"
LAPSED_PREFIX = "lapsed"
REAUTH_MARK = ":reauth:"
Ledger = GatewayLedgerEntry.State


def _reference(prefix: str, *parts) -> str:
    return f"{prefix}_{hashlib.sha256(':'.join(map(str, parts)).encode()).hexdigest()[:16]}"


class SimulatedGateway(PaymentGateway):
    """`authorization_valid_for`: seconds a hold lasts (default PAYMENT_AUTHORIZATION_VALID_FOR)."""

    def __init__(self, authorization_valid_for: Optional[float] = None):
        seconds = settings.PAYMENT_AUTHORIZATION_VALID_FOR if authorization_valid_for is None else authorization_valid_for
        self.valid_for = timedelta(seconds=seconds)

    def authorize(self, call: Call, *, order_id: str, amount, currency: str) -> Authorization:
        dice = Dice("gateway.authorize", call)
        dice.before()
        key = call.key.lower()
        if key.startswith(DECLINE_PREFIX) or (key.startswith(LAPSED_PREFIX) and REAUTH_MARK in key):
            raise Declined(f"card declined for payment {call.key}")
        amount, currency = money(amount), currency.upper()
        with transaction.atomic():
            entry, _ = GatewayLedgerEntry.objects.select_for_update().get_or_create(
                payment_id=call.key,
                defaults={
                    "order_id": order_id,
                    "amount": amount,
                    "currency": currency,
                    "state": Ledger.AUTHORIZED,
                    "reference": _reference("au", call.key, amount, currency),
                    "expires_at": timezone.now() + self.valid_for,
                },
            )
        if entry.state == Ledger.VOIDED:
            raise KeyConflict(f"payment {call.key} was voided; it can no longer be authorized")
        _check_same_payment(entry, order_id, amount, currency)
        dice.after()
        return Authorization(reference=entry.reference, expires_at=entry.expires_at)

    def capture(self, call: Call, *, amount, currency: str) -> str:
        dice = Dice("gateway.capture", call)
        dice.before()
        amount, currency = money(amount), currency.upper()
        with transaction.atomic():
            entry = _aged(GatewayLedgerEntry.objects.select_for_update().filter(pk=call.key).first())
            if entry is None or entry.state == Ledger.VOIDED:
                raise KeyConflict(f"payment {call.key} holds no authorization to capture")
            _check_same_payment(entry, entry.order_id, amount, currency)
            if entry.state == Ledger.AUTHORIZED:
                entry.state, entry.reference = Ledger.CAPTURED, _reference("ch", call.key, amount, currency)
                entry.save(update_fields=["state", "reference", "updated_at"])
        if entry.state == Ledger.EXPIRED:
            raise AuthorizationExpired(f"the authorization of payment {call.key} expired at {entry.expires_at:%Y-%m-%d %H:%M:%S}")
        dice.after()
        return entry.reference

    def void(self, call: Call, *, order_id: str) -> PaymentLookup:
        dice = Dice("gateway.void", call)
        dice.before()
        with transaction.atomic():
            entry, _ = GatewayLedgerEntry.objects.select_for_update().get_or_create(
                payment_id=call.key,
                defaults={"order_id": order_id, "amount": Decimal("0"), "currency": "", "state": Ledger.VOIDED},
            )
            entry = _aged(entry)
            if entry.state == Ledger.AUTHORIZED:
                entry.state = Ledger.VOIDED
                entry.save(update_fields=["state", "updated_at"])
        dice.after()
        return _lookup(entry)

    def refund(self, call: Call) -> str:
        dice = Dice("gateway.refund", call)
        dice.before()
        with transaction.atomic():
            entry = GatewayLedgerEntry.objects.select_for_update().filter(pk=call.key).first()
            if entry is None or entry.state not in (Ledger.CAPTURED, Ledger.REFUNDED):
                raise KeyConflict(f"payment {call.key} was never captured; there is nothing to refund")
            if entry.state == Ledger.CAPTURED:
                entry.state = Ledger.REFUNDED
                entry.save(update_fields=["state", "updated_at"])
        dice.after()
        return _reference("re", call.key)

    def lookup(self, call: Call) -> PaymentLookup:
        Dice("gateway.lookup", call).before()
        with transaction.atomic():
            entry = _aged(GatewayLedgerEntry.objects.select_for_update().filter(pk=call.key).first())
        return _lookup(entry)


def _aged(entry: Optional[GatewayLedgerEntry]) -> Optional[GatewayLedgerEntry]:
    """A hold past its expiry is dropped, as a gateway's own clock does (under the row's lock)."""
    if entry is not None and entry.state == Ledger.AUTHORIZED and entry.expires_at and entry.expires_at <= timezone.now():
        entry.state = Ledger.EXPIRED
        entry.save(update_fields=["state", "updated_at"])
    return entry


def _lookup(entry: Optional[GatewayLedgerEntry]) -> PaymentLookup:
    if entry is None:
        return PaymentLookup(state=PaymentState.ABSENT)
    return PaymentLookup(state=entry.state, reference=entry.reference, expires_at=entry.expires_at)


def _check_same_payment(entry: GatewayLedgerEntry, order_id: str, amount: Decimal, currency: str) -> None:
    if (entry.order_id, entry.amount, entry.currency) != (order_id, amount, currency):
        raise KeyConflict(f"payment {entry.payment_id} is already used for another order or amount")


class SimulatedCarrier(Carrier):
    def prepare(self, call: Call, *, order_id: str, shipping_attempt: int) -> str:
        Dice("warehouse.prepare", call).before()
        return f"PKG-{order_id}-{shipping_attempt}"

    def dispatch(self, call: Call, *, order_id: str, package_id: str, address: dict) -> str:
        dice = Dice("carrier.dispatch", call)
        dice.before()
        with transaction.atomic():
            shipment, _ = CarrierShipment.objects.select_for_update().get_or_create(
                shipment_key=call.key,
                defaults={
                    "order_id": order_id,
                    "package_id": package_id,
                    "address": address,
                    "tracking_number": _reference("TRK", order_id, package_id, address.get("postal_code", "")).upper(),
                    "state": CarrierShipment.State.DISPATCHED,
                },
            )
        if shipment.state == CarrierShipment.State.CANCELLED:
            raise KeyConflict(f"shipment {call.key} was cancelled; it can no longer be dispatched")
        dice.after()
        return shipment.tracking_number

    def lookup(self, call: Call) -> ShipmentLookup:
        Dice("carrier.lookup", call).before()
        return _shipment(CarrierShipment.objects.filter(pk=call.key).first())

    def cancel(self, call: Call, *, order_id: str) -> ShipmentLookup:
        Dice("carrier.cancel", call).before()
        with transaction.atomic():
            shipment, _ = CarrierShipment.objects.select_for_update().get_or_create(
                shipment_key=call.key, defaults={"order_id": order_id, "state": CarrierShipment.State.CANCELLED}
            )
        return _shipment(shipment)


def _shipment(shipment: Optional[CarrierShipment]) -> ShipmentLookup:
    if shipment is None or shipment.state != CarrierShipment.State.DISPATCHED:
        return ShipmentLookup(dispatched=False)
    return ShipmentLookup(dispatched=True, tracking_number=shipment.tracking_number)
