"""A second payment gateway and carrier, with books of their own in a JSON-lines file (option `path`; the gateway
and the carrier may share one). Every change of state appends a line holding the key's whole record: a key's last
line is its state. A call holds an exclusive flock on the file from its read to its write, so that workers in
several processes and threads keep one history. The semantics are those of orders/providers/base.py; holds lapse
after `authorization_valid_for` seconds, a payment id starting with "decline" is declined, and `Call.faults` (the
simulator's) is ignored."""

import fcntl
import json
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

from django.conf import settings

from orders.providers import base
from orders.providers.base import Call, PaymentLookup, ShipmentLookup
from orders.rules import money

State = base.PaymentState
DISPATCHED, CANCELLED = "dispatched", "cancelled"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _reference(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


class _Book:
    """One book of the file (payments, packages or shipments): the latest record per key, read under the lock."""

    def __init__(self, file, name: str):
        self.file, self.name, self.latest = file, name, {}
        file.seek(0)
        for line in file:
            record = json.loads(line)
            if record["book"] == name:
                self.latest[record["key"]] = record

    def get(self, key: str) -> Optional[dict]:
        return self.latest.get(key)

    def write(self, key: str, **changes) -> dict:
        record = {**self.latest.get(key, {}), **changes, "book": self.name, "key": key, "at": _now().isoformat()}
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()
        self.latest[key] = record
        return record


@contextmanager
def _locked(path: Path, name: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as file:  # closing the file releases the lock
        fcntl.flock(file, fcntl.LOCK_EX)
        yield _Book(file, name)


class JournalGateway(base.PaymentGateway):
    def __init__(self, *, path, authorization_valid_for: Optional[float] = None):
        if authorization_valid_for is None:
            authorization_valid_for = settings.PAYMENT_AUTHORIZATION_VALID_FOR
        self.path, self.valid_for = Path(path), timedelta(seconds=authorization_valid_for)

    def authorize(self, call: Call, *, order_id: str, amount, currency: str) -> base.Authorization:
        if call.key.lower().startswith("decline"):
            raise base.Declined(f"card declined for payment {call.key}")
        payment = {"order_id": order_id, "amount": str(money(amount)), "currency": currency.upper()}
        with _locked(self.path, "payments") as book:
            record = _aged(book, call.key) or book.write(
                call.key, **payment, state=State.AUTHORIZED, authorization=_reference("jau"),
                expires_at=(_now() + self.valid_for).isoformat(),
            )
        if record["state"] == State.VOIDED:
            raise base.KeyConflict(f"payment {call.key} was voided; it can no longer be authorized")
        _same_payment(record, **payment)
        return base.Authorization(reference=record["authorization"], expires_at=datetime.fromisoformat(record["expires_at"]))

    def capture(self, call: Call, *, amount, currency: str) -> str:
        with _locked(self.path, "payments") as book:
            record = _aged(book, call.key)
            if record is None or record["state"] == State.VOIDED:
                raise base.KeyConflict(f"payment {call.key} holds no authorization to capture")
            _same_payment(record, record["order_id"], str(money(amount)), currency.upper())
            if record["state"] == State.AUTHORIZED:
                record = book.write(call.key, state=State.CAPTURED, capture=_reference("jch"))
        if record["state"] == State.EXPIRED:
            raise base.AuthorizationExpired(f"the authorization of payment {call.key} expired at {record['expires_at']}")
        return record["capture"]

    def void(self, call: Call, *, order_id: str) -> PaymentLookup:
        with _locked(self.path, "payments") as book:
            record = _aged(book, call.key)
            if record is None:
                record = book.write(call.key, state=State.VOIDED, order_id=order_id)
            elif record["state"] == State.AUTHORIZED:
                record = book.write(call.key, state=State.VOIDED)
        return _lookup(record)

    def refund(self, call: Call) -> str:
        with _locked(self.path, "payments") as book:
            record = book.get(call.key)
            if record is None or record["state"] not in (State.CAPTURED, State.REFUNDED):
                raise base.KeyConflict(f"payment {call.key} was never captured; there is nothing to refund")
            if record["state"] == State.CAPTURED:
                record = book.write(call.key, state=State.REFUNDED, refund=_reference("jre"))
        return record["refund"]

    def lookup(self, call: Call) -> PaymentLookup:
        with _locked(self.path, "payments") as book:
            return _lookup(_aged(book, call.key))


def _aged(book: _Book, key: str) -> Optional[dict]:
    """The key's record, a hold past its expiry written down as expired first (the gateway's own clock)."""
    record = book.get(key)
    if record and record["state"] == State.AUTHORIZED and datetime.fromisoformat(record["expires_at"]) <= _now():
        record = book.write(key, state=State.EXPIRED)
    return record


def _same_payment(record: dict, order_id: str, amount: str, currency: str) -> None:
    if (record["order_id"], record["amount"], record["currency"]) != (order_id, amount, currency):
        raise base.KeyConflict(f"payment {record['key']} is already used for another order or amount")


def _lookup(record: Optional[dict]) -> PaymentLookup:
    if record is None:
        return PaymentLookup(state=State.ABSENT)
    expires_at = datetime.fromisoformat(record["expires_at"]) if record.get("expires_at") else None
    return PaymentLookup(record["state"], record.get("capture") or record.get("authorization", ""), expires_at)


class JournalCarrier(base.Carrier):
    def __init__(self, *, path):
        self.path = Path(path)

    def prepare(self, call: Call, *, order_id: str, shipping_attempt: int) -> str:
        with _locked(self.path, "packages") as book:
            record = book.get(call.key) or book.write(
                call.key, order_id=order_id, shipping_attempt=shipping_attempt, package_id=_reference("JPKG")
            )
        return record["package_id"]

    def dispatch(self, call: Call, *, order_id: str, package_id: str, address: dict) -> str:
        with _locked(self.path, "shipments") as book:
            record = book.get(call.key) or book.write(
                call.key, state=DISPATCHED, order_id=order_id, package_id=package_id, address=address,
                tracking_number=_reference("JTRK").upper(),
            )
        if record["state"] == CANCELLED:
            raise base.KeyConflict(f"shipment {call.key} was cancelled; it can no longer be dispatched")
        return record["tracking_number"]

    def lookup(self, call: Call) -> ShipmentLookup:
        with _locked(self.path, "shipments") as book:
            return _shipment(book.get(call.key))

    def cancel(self, call: Call, *, order_id: str) -> ShipmentLookup:
        with _locked(self.path, "shipments") as book:
            return _shipment(book.get(call.key) or book.write(call.key, state=CANCELLED, order_id=order_id))


def _shipment(record: Optional[dict]) -> ShipmentLookup:
    if record is None or record["state"] != DISPATCHED:
        return ShipmentLookup(dispatched=False)
    return ShipmentLookup(dispatched=True, tracking_number=record["tracking_number"])
