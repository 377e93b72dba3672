"""The journal backend (tests/backends/journal.py), held to the simulators' contract through the interface alone,
and its own books: one line per change of state in a file that workers share under a lock."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import override_settings

from orders import providers
from orders.providers.base import (
    AuthorizationExpired,
    Call,
    Declined,
    KeyConflict,
    PaymentLookup,
    PaymentState,
    ShipmentLookup,
)
from orders.providers.simulated import SimulatedCarrier, SimulatedGateway
from tests.backends import journal
from tests.backends.journal import JournalCarrier, JournalGateway

HOLD = dict(order_id="o-1", amount="28.99", currency="usd")
MONEY = dict(amount="28.99", currency="usd")
ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "London", "postal_code": "N1", "country": "GB"}


@pytest.fixture(params=["simulated", "journal"])
def backend(request, tmp_path):
    """Builds a gateway or a carrier of the backend under test, with options."""
    if request.param == "simulated":
        request.getfixturevalue("db")
        return lambda kind, **options: (SimulatedGateway if kind == "gateway" else SimulatedCarrier)(**options)
    path = tmp_path / "journal.jsonl"
    return lambda kind, **options: (JournalGateway if kind == "gateway" else JournalCarrier)(path=path, **options)


@pytest.fixture
def gateway(backend):
    return backend("gateway")


@pytest.fixture
def carrier(backend):
    return backend("carrier")


class TestPaymentContract:
    def test_authorize_is_idempotent_by_key(self, gateway):
        hold = gateway.authorize(Call("pay-1"), **HOLD)
        assert gateway.authorize(Call("pay-1", attempt=2), **HOLD) == hold
        assert gateway.lookup(Call("pay-1")) == PaymentLookup(PaymentState.AUTHORIZED, hold.reference, hold.expires_at)
        with pytest.raises(KeyConflict):
            gateway.authorize(Call("pay-1"), **{**HOLD, "amount": "1.00"})

    def test_never_two_captures(self, gateway):
        hold = gateway.authorize(Call("pay-1"), **HOLD)
        capture = gateway.capture(Call("pay-1"), **MONEY)

        assert gateway.capture(Call("pay-1", attempt=2), **MONEY) == capture != hold.reference
        assert gateway.lookup(Call("pay-1")) == PaymentLookup(PaymentState.CAPTURED, capture, hold.expires_at)
        with pytest.raises(KeyConflict):
            gateway.capture(Call("pay-1"), amount="30.00", currency="usd")
        with pytest.raises(KeyConflict):
            gateway.capture(Call("pay-2"), **MONEY)

    def test_a_void_tombstone_blocks_a_late_authorization(self, gateway):
        assert gateway.void(Call("pay-1"), order_id="o-1") == PaymentLookup(PaymentState.VOIDED)
        with pytest.raises(KeyConflict):
            gateway.authorize(Call("pay-1"), **HOLD)
        assert gateway.lookup(Call("pay-1")).state == PaymentState.VOIDED

    def test_a_voided_hold_cannot_be_captured(self, gateway):
        hold = gateway.authorize(Call("pay-1"), **HOLD)
        assert gateway.void(Call("pay-1"), order_id="o-1") == PaymentLookup(PaymentState.VOIDED, hold.reference, hold.expires_at)
        with pytest.raises(KeyConflict):
            gateway.capture(Call("pay-1"), **MONEY)

    def test_a_void_after_a_capture_leaves_it_captured(self, gateway):
        gateway.authorize(Call("pay-1"), **HOLD)
        capture = gateway.capture(Call("pay-1"), **MONEY)
        found = gateway.void(Call("pay-1"), order_id="o-1")
        assert (found.state, found.reference) == (PaymentState.CAPTURED, capture)

    def test_refund_only_after_a_capture_and_the_same_refund_again(self, gateway):
        gateway.authorize(Call("pay-1"), **HOLD)
        with pytest.raises(KeyConflict):
            gateway.refund(Call("pay-1"))
        gateway.capture(Call("pay-1"), **MONEY)

        refund = gateway.refund(Call("pay-1"))
        assert gateway.refund(Call("pay-1", attempt=2)) == refund
        assert gateway.lookup(Call("pay-1")).state == PaymentState.REFUNDED

    def test_a_lapsed_hold_cannot_be_captured(self, backend):
        gateway = backend("gateway", authorization_valid_for=0.01)
        gateway.authorize(Call("pay-1"), **HOLD)
        time.sleep(0.05)

        with pytest.raises(AuthorizationExpired):
            gateway.capture(Call("pay-1"), **MONEY)
        assert gateway.lookup(Call("pay-1")).state == PaymentState.EXPIRED
        assert gateway.void(Call("pay-1"), order_id="o-1").state == PaymentState.EXPIRED

    def test_declined_cards_hold_nothing(self, gateway):
        with pytest.raises(Declined):
            gateway.authorize(Call("decline-1"), **HOLD)
        assert gateway.lookup(Call("decline-1")) == PaymentLookup(PaymentState.ABSENT)


class TestCarrierContract:
    def test_one_shipment_per_key(self, carrier):
        package = carrier.prepare(Call("o-1:1"), order_id="o-1", shipping_attempt=1)
        assert carrier.prepare(Call("o-1:1", attempt=2), order_id="o-1", shipping_attempt=1) == package

        assert carrier.lookup(Call("SHIP-o-1")) == ShipmentLookup(dispatched=False)
        tracking = carrier.dispatch(Call("SHIP-o-1"), order_id="o-1", package_id=package, address=ADDRESS)
        assert carrier.dispatch(Call("SHIP-o-1", attempt=2), order_id="o-1", package_id="other", address=ADDRESS) == tracking
        assert carrier.lookup(Call("SHIP-o-1")) == ShipmentLookup(dispatched=True, tracking_number=tracking)
        assert carrier.cancel(Call("SHIP-o-1"), order_id="o-1") == ShipmentLookup(dispatched=True, tracking_number=tracking)

    def test_a_cancel_tombstone_blocks_a_late_dispatch(self, carrier):
        assert carrier.cancel(Call("SHIP-o-1"), order_id="o-1") == ShipmentLookup(dispatched=False)
        with pytest.raises(KeyConflict):
            carrier.dispatch(Call("SHIP-o-1"), order_id="o-1", package_id="PKG", address=ADDRESS)
        assert carrier.lookup(Call("SHIP-o-1")) == ShipmentLookup(dispatched=False)


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class TestJournal:
    def test_one_line_per_change_of_state_and_the_last_one_wins(self, tmp_path):
        path = tmp_path / "books" / "journal.jsonl"
        gateway = JournalGateway(path=path)
        gateway.authorize(Call("pay-1"), **HOLD)
        gateway.authorize(Call("pay-1", attempt=2), **HOLD)
        capture = gateway.capture(Call("pay-1"), **MONEY)
        gateway.capture(Call("pay-1"), **MONEY)
        gateway.refund(Call("pay-1"))

        assert [(line["key"], line["state"]) for line in lines(path)] == [
            ("pay-1", "authorized"), ("pay-1", "captured"), ("pay-1", "refunded")
        ]
        assert (lines(path)[-1]["amount"], lines(path)[-1]["currency"]) == ("28.99", "USD")
        restarted = JournalGateway(path=path)  # another worker, or the same after a restart: the same books
        assert restarted.lookup(Call("pay-1")) == PaymentLookup(PaymentState.REFUNDED, capture, gateway.lookup(Call("pay-1")).expires_at)

    def test_an_expiry_is_written_down_once(self, tmp_path):
        gateway = JournalGateway(path=tmp_path / "journal.jsonl", authorization_valid_for=0.01)
        gateway.authorize(Call("pay-1"), **HOLD)
        time.sleep(0.05)
        gateway.lookup(Call("pay-1"))
        gateway.lookup(Call("pay-1"))
        assert [line["state"] for line in lines(tmp_path / "journal.jsonl")] == ["authorized", "expired"]

    def test_the_gateway_and_the_carrier_share_a_file_without_mixing_their_books(self, tmp_path):
        path = tmp_path / "journal.jsonl"
        JournalGateway(path=path).void(Call("k-1"), order_id="o-1")
        carrier = JournalCarrier(path=path)

        tracking = carrier.dispatch(Call("k-1"), order_id="o-1", package_id="PKG", address=ADDRESS)
        assert carrier.lookup(Call("k-1")) == ShipmentLookup(dispatched=True, tracking_number=tracking)
        assert [line["book"] for line in lines(path)] == ["payments", "shipments"]

    def test_concurrent_workers_make_one_hold_and_one_capture(self, tmp_path, monkeypatch):
        path = tmp_path / "journal.jsonl"
        workers = 16
        start, write = threading.Barrier(workers), journal._Book.write

        def slow_write(book, key, **changes):  # a slow disk: every other worker reads the books meanwhile
            time.sleep(0.02)
            return write(book, key, **changes)

        monkeypatch.setattr(journal._Book, "write", slow_write)

        def authorize_and_capture(attempt):
            start.wait()
            gateway = JournalGateway(path=path, authorization_valid_for=60)  # each its own file handle, as a process
            hold = gateway.authorize(Call("pay-1", attempt=attempt), **HOLD)
            return hold.reference, gateway.capture(Call("pay-1", attempt=attempt), **MONEY)

        with ThreadPoolExecutor(workers) as pool:
            answers = set(pool.map(authorize_and_capture, range(1, workers + 1)))

        assert len(answers) == 1
        assert [line["state"] for line in lines(path)] == ["authorized", "captured"]

    def test_selected_by_settings(self, tmp_path):
        path = str(tmp_path / "journal.jsonl")
        with override_settings(
            PAYMENT_GATEWAY_BACKEND="tests.backends.journal.JournalGateway",
            PAYMENT_GATEWAY_OPTIONS={"path": path, "authorization_valid_for": 60},
            CARRIER_BACKEND="tests.backends.journal.JournalCarrier",
            CARRIER_OPTIONS={"path": path},
        ):
            gateway, carrier = providers.payment_gateway(), providers.carrier()
            assert (type(gateway.backend), type(carrier.backend)) == (JournalGateway, JournalCarrier)
            gateway.authorize(Call("pay-1"), **HOLD)
            carrier.dispatch(Call("SHIP-o-1"), order_id="o-1", package_id="PKG", address=ADDRESS)
        assert [line["book"] for line in lines(tmp_path / "journal.jsonl")] == ["payments", "shipments"]
