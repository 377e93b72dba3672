"""Stand-ins for the outside world: the payment gateway, the warehouse and the carrier.

The gateway and the carrier keep their own books (`gateway_ledger`, `carrier_shipments`), written only here and
idempotent by key, as real providers are: a charge is keyed by its payment id, a shipment by its order. Our
services never write them; they are what the system's own records are checked against.

Faults come in two kinds, as with real integrations:
- before the side effect (FLAKY_FAILURE_RATE, with up to FLAKY_MAX_DELAY seconds of latency): nothing happened;
- after it (FLAKY_LOST_REPLY_RATE): the charge, dispatch or refund is in the provider's books, then the reply is
  lost to a timeout or a dropped connection. Only a lookup with the same key tells what happened.
With FLAKY_SEED set, whether a call fails depends only on the seed, the operation, its key and the attempt
number, so a run can be reproduced.
"""

import hashlib
import random
import time
from decimal import Decimal
from typing import Optional

from django.conf import settings
from django.db import transaction

from orders.models import CarrierShipment, GatewayLedgerEntry
from orders.rules import money
from workflows.types import FaultSettings, PaymentTruth, ShipmentTruth

DECLINE_PREFIX = "decline"


class TransientFault(Exception):
    """A simulated network or provider failure: worth retrying."""


class LostReply(TransientFault):
    """The provider did the work, but its answer never arrived."""


class PaymentDeclined(Exception):
    """The gateway refused the charge: retrying won't help, and nothing was taken."""


class ProviderConflict(Exception):
    """The key is already used for something else at the provider: retrying won't help."""


def configured_faults() -> FaultSettings:
    return FaultSettings(
        failure_rate=settings.FLAKY_FAILURE_RATE,
        max_delay_seconds=settings.FLAKY_MAX_DELAY,
        seed=settings.FLAKY_SEED,
        lost_reply_rate=settings.FLAKY_LOST_REPLY_RATE,
    )


class _Call:
    """One attempt of one provider call, with its fault dice. An order's own fault settings win over the workers'."""

    def __init__(self, operation: str, key: str, attempt: int, faults: Optional[FaultSettings]):
        self.operation, self.key, self.attempt = operation, key, attempt
        self.faults = faults or configured_faults()
        seed = self.faults.seed
        self._rng = random.Random(f"{seed}:{operation}:{key}:{attempt}") if seed else random.Random()

    def before(self) -> None:
        """Stall, and maybe fail before anything is done."""
        if self.faults.max_delay_seconds > 0:
            time.sleep(self._rng.uniform(0, self.faults.max_delay_seconds))
        if self.faults.failure_rate > 0 and self._rng.random() < self.faults.failure_rate:
            raise TransientFault(f"simulated fault in {self.operation} for {self.key} (attempt {self.attempt})")

    def after(self) -> None:
        """Maybe lose the reply to what was just done."""
        if self.faults.lost_reply_rate > 0 and self._rng.random() < self.faults.lost_reply_rate:
            kind = self._rng.choice(["timed out", "lost the connection"])
            raise LostReply(f"{self.operation} for {self.key} {kind} after it was done (attempt {self.attempt})")


def flaky_call(operation: str, key: str, attempt: int = 1, faults: Optional[FaultSettings] = None) -> None:
    """Fail or stall like a real integration would, before doing anything."""
    _Call(operation, key, attempt, faults).before()


def _reference(prefix: str, *parts) -> str:
    return f"{prefix}_{hashlib.sha256(':'.join(map(str, parts)).encode()).hexdigest()[:16]}"


# --- the payment gateway -------------------------------------------------------------------------


def gateway_charge(*, payment_id: str, order_id: str, amount, currency: str, attempt: int = 1, faults=None) -> str:
    """Capture with payment_id as the idempotency key, as real gateways do: the same key always gives the same
    charge. Payment ids that start with "decline" are declined, like a gateway's test cards."""
    call = _Call("gateway.charge", payment_id, attempt, faults)
    call.before()
    if payment_id.lower().startswith(DECLINE_PREFIX):
        raise PaymentDeclined(f"card declined for payment {payment_id}")
    amount, currency = money(amount), currency.upper()
    with transaction.atomic():
        entry, _ = GatewayLedgerEntry.objects.select_for_update().get_or_create(
            payment_id=payment_id,
            defaults={
                "order_id": order_id,
                "amount": amount,
                "currency": currency,
                "state": GatewayLedgerEntry.State.CAPTURED,
                "reference": _reference("ch", payment_id, amount, currency),
            },
        )
    _check_same_payment(entry, order_id, amount, currency)
    if entry.state == GatewayLedgerEntry.State.VOIDED:
        raise PaymentDeclined(f"payment {payment_id} was voided; it can no longer be captured")
    call.after()
    return entry.reference


def gateway_settle(*, payment_id: str, order_id: str, amount, currency: str, attempt: int = 1, faults=None) -> PaymentTruth:
    """After a charge whose outcome is unknown: look the payment up by its key; if the gateway has no charge,
    void the key, so that a capture still in flight can never land afterwards."""
    _Call("gateway.settle", payment_id, attempt, faults).before()
    amount, currency = money(amount), currency.upper()
    with transaction.atomic():
        entry, _ = GatewayLedgerEntry.objects.select_for_update().get_or_create(
            payment_id=payment_id,
            defaults={"order_id": order_id, "amount": amount, "currency": currency, "state": GatewayLedgerEntry.State.VOIDED},
        )
    _check_same_payment(entry, order_id, amount, currency)
    return PaymentTruth(state=entry.state, reference=entry.reference)


def gateway_refund(*, payment_id: str, attempt: int = 1, faults=None) -> str:
    """Refund a captured payment; a repeat returns the same refund."""
    call = _Call("gateway.refund", payment_id, attempt, faults)
    call.before()
    with transaction.atomic():
        entry = GatewayLedgerEntry.objects.select_for_update().filter(pk=payment_id).first()
        if entry is None or entry.state == GatewayLedgerEntry.State.VOIDED:
            raise ProviderConflict(f"payment {payment_id} was never captured; there is nothing to refund")
        if entry.state == GatewayLedgerEntry.State.CAPTURED:
            entry.state = GatewayLedgerEntry.State.REFUNDED
            entry.save(update_fields=["state", "updated_at"])
    call.after()
    return _reference("re", payment_id)


def _check_same_payment(entry: GatewayLedgerEntry, order_id: str, amount: Decimal, currency: str) -> None:
    if (entry.order_id, entry.amount, entry.currency) != (order_id, amount, currency):
        raise ProviderConflict(f"payment {entry.payment_id} is already used for another order or amount")


# --- the warehouse ----------------------------------------------------------------------------------


def warehouse_prepare(*, order_id: str, shipping_attempt: int, attempt: int = 1, faults=None) -> str:
    flaky_call("warehouse.prepare", f"{order_id}:{shipping_attempt}", attempt, faults)
    return f"PKG-{order_id}-{shipping_attempt}"


# --- the carrier ------------------------------------------------------------------------------------


def shipment_key(order_id: str) -> str:
    """One key per order, across shipping attempts: the carrier ships an order at most once."""
    return f"SHIP-{order_id}"


def carrier_dispatch(*, order_id: str, package_id: str, address: dict, attempt: int = 1, faults=None) -> str:
    """Dispatch the order's package and return the tracking number. A repeat, from a retry or a later shipping
    attempt, returns the shipment already made."""
    key = shipment_key(order_id)
    call = _Call("carrier.dispatch", key, attempt, faults)
    call.before()
    with transaction.atomic():
        shipment, _ = CarrierShipment.objects.select_for_update().get_or_create(
            shipment_key=key,
            defaults={
                "order_id": order_id,
                "package_id": package_id,
                "address": address,
                "tracking_number": _reference("TRK", order_id, package_id, address.get("postal_code", "")).upper(),
                "state": CarrierShipment.State.DISPATCHED,
            },
        )
    if shipment.state == CarrierShipment.State.CANCELLED:
        raise ProviderConflict(f"shipment {key} was cancelled; it can no longer be dispatched")
    call.after()
    return shipment.tracking_number


def carrier_settle(*, order_id: str, attempt: int = 1, faults=None) -> ShipmentTruth:
    """After a dispatch whose outcome is unknown: look the shipment up; if there is none, cancel the key, so that
    a dispatch still in flight can never ship afterwards."""
    key = shipment_key(order_id)
    _Call("carrier.settle", key, attempt, faults).before()
    with transaction.atomic():
        shipment, _ = CarrierShipment.objects.select_for_update().get_or_create(
            shipment_key=key, defaults={"order_id": order_id, "state": CarrierShipment.State.CANCELLED}
        )
    dispatched = shipment.state == CarrierShipment.State.DISPATCHED
    return ShipmentTruth(dispatched=dispatched, tracking_number=shipment.tracking_number if dispatched else "")
