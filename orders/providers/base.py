"""The interfaces our activities talk to: a payment gateway and a carrier (with its warehouse).

A backend is a class named by a dotted path in settings (PAYMENT_GATEWAY_BACKEND, CARRIER_BACKEND), built with
the options in PAYMENT_GATEWAY_OPTIONS / CARRIER_OPTIONS as keyword arguments, the way Django builds its
EMAIL_BACKEND. Each call gets a `Call`: the idempotency key the provider must honour, and the attempt number.

Every method answers in one of four ways, and the workflows rely on the difference:
- it returns: the provider did it (or had already done it under this key: the same answer again);
- `Refused` (or a subclass): the provider said no; retrying will not change that, and nothing happened;
- `TryAgain`: nothing happened (a timeout before sending, a 503, a rate limit); the call is retried;
- `OutcomeUnknown`: the request may have been done (the reply was lost); it is retried with the same key, and
  if it keeps failing, the provider is asked by key (`lookup`) before anything is recorded.
Any other exception is treated as `OutcomeUnknown`.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Optional


class Refused(Exception):
    """The provider said no. Retrying won't help, and nothing was done."""


class Declined(Refused):
    """The card or account was declined: no money is held or taken."""


class AuthorizationExpired(Refused):
    """The hold under this key has lapsed: it can no longer be captured. A new authorization is needed."""


class KeyConflict(Refused):
    """The key is already used at the provider for something else (another order or amount, or a voided hold)."""


class TryAgain(Exception):
    """Nothing was done; the same call may succeed later."""


class OutcomeUnknown(TryAgain):
    """The call may have been done, but its answer never arrived. Only the same key, or a lookup, tells."""


@dataclass(frozen=True)
class Call:
    """One attempt of one provider call: `key` is its idempotency key; `faults` is for simulators only."""

    key: str
    attempt: int = 1
    faults: Optional[object] = None


@dataclass(frozen=True)
class Authorization:
    """A hold on the customer's money: captured later, or voided. `expires_at` is when the provider drops it."""

    reference: str
    expires_at: datetime


class PaymentState:
    """What a gateway's books say of a key (`PaymentGateway.lookup`)."""

    ABSENT = "absent"  # the gateway has never seen this key
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class PaymentLookup:
    state: str  # a PaymentState
    reference: str = ""
    expires_at: Optional[datetime] = None


@dataclass(frozen=True)
class ShipmentLookup:
    dispatched: bool
    tracking_number: str = ""


class PaymentGateway:
    """Authorize, capture, void and refund, each idempotent by its key (`call.key`, the payment id)."""

    def authorize(self, call: Call, *, order_id: str, amount: Decimal, currency: str) -> Authorization:
        """Hold `amount` for the order. Declined when the card is refused; the same key again gives the same hold."""
        raise NotImplementedError

    def capture(self, call: Call, *, amount: Decimal, currency: str) -> str:
        """Take the held money; returns the capture's reference. AuthorizationExpired when the hold has lapsed,
        KeyConflict when it was voided. Capturing again returns the same capture: never two."""
        raise NotImplementedError

    def void(self, call: Call, *, order_id: str) -> PaymentLookup:
        """Release a hold that was not captured, or make sure none can ever be made under the key (a tombstone),
        so that a request still in flight can never land. Returns what the key holds afterwards: a capture that
        got there first stays captured, and is returned as such."""
        raise NotImplementedError

    def refund(self, call: Call) -> str:
        """Give back a captured payment; returns the refund's reference. The same key again: the same refund."""
        raise NotImplementedError

    def lookup(self, call: Call) -> PaymentLookup:
        """What the gateway's books say of the key, without acting on it."""
        raise NotImplementedError


class Carrier:
    """Prepare a package at the warehouse, dispatch it with the carrier, and look a shipment up."""

    def prepare(self, call: Call, *, order_id: str, shipping_attempt: int) -> str:
        """Pack the order for one shipping attempt; returns the package id."""
        raise NotImplementedError

    def dispatch(self, call: Call, *, order_id: str, package_id: str, address: dict) -> str:
        """Hand the package to the carrier; returns the tracking number. One shipment per key, ever: a repeat
        returns the shipment already made; KeyConflict when the key was cancelled."""
        raise NotImplementedError

    def lookup(self, call: Call) -> ShipmentLookup:
        """What the carrier's books say of the key, without changing anything."""
        raise NotImplementedError

    def cancel(self, call: Call, *, order_id: str) -> ShipmentLookup:
        """Make sure nothing ships under the key from now on, so that a dispatch still in flight never lands;
        returns what the key holds afterwards (a dispatch that got there first stays dispatched)."""
        raise NotImplementedError
