"""The simulated gateway and carrier keep their own books: idempotent by key, tombstones that stop a late request,
holds that lapse, and faults before or after the side effect. The loader builds the backends that settings name."""

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from orders import providers
from orders.models import CarrierShipment, GatewayLedgerEntry
from orders.providers.base import (
    AuthorizationExpired,
    Call,
    Declined,
    KeyConflict,
    OutcomeUnknown,
    PaymentLookup,
    PaymentState,
    ShipmentLookup,
    TryAgain,
)
from orders.providers.faults import Dice
from orders.providers.simulated import SimulatedCarrier, SimulatedGateway
from workflows.types import FaultSettings

pytestmark = pytest.mark.django_db

LOSE_EVERY_REPLY = FaultSettings(lost_reply_rate=1.0)
FAIL_EVERY_CALL = FaultSettings(failure_rate=1.0)
HOLD = dict(order_id="o-1", amount="28.99", currency="usd")
MONEY = dict(amount="28.99", currency="usd")
ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "London", "postal_code": "N1", "country": "GB"}


def state(key="pay-1") -> str:
    return GatewayLedgerEntry.objects.get(pk=key).state


@pytest.fixture
def gateway():
    return SimulatedGateway()


@pytest.fixture
def carrier():
    return SimulatedCarrier()


class TestAuthorize:
    def test_is_idempotent_by_key(self, gateway):
        before = timezone.now()
        first = gateway.authorize(Call("pay-1"), **HOLD)
        again = gateway.authorize(Call("pay-1", attempt=2), **HOLD)

        assert first == again
        entry = GatewayLedgerEntry.objects.get()
        assert (entry.payment_id, entry.order_id, str(entry.amount), entry.currency, entry.state) == (
            "pay-1", "o-1", "28.99", "USD", "authorized"
        )
        assert entry.reference == first.reference and entry.expires_at == first.expires_at
        assert first.expires_at - before >= timedelta(days=7)  # PAYMENT_AUTHORIZATION_VALID_FOR

    @pytest.mark.parametrize("other", [{"order_id": "o-2"}, {"amount": "1.00"}, {"currency": "EUR"}])
    def test_same_key_for_something_else_is_refused(self, gateway, other):
        gateway.authorize(Call("pay-1"), **HOLD)
        with pytest.raises(KeyConflict):
            gateway.authorize(Call("pay-1"), **{**HOLD, **other})
        assert GatewayLedgerEntry.objects.get().order_id == "o-1"

    def test_lookup_tells_what_the_books_hold(self, gateway):
        assert gateway.lookup(Call("pay-1")) == PaymentLookup(PaymentState.ABSENT)
        hold = gateway.authorize(Call("pay-1"), **HOLD)
        assert gateway.lookup(Call("pay-1")) == PaymentLookup(PaymentState.AUTHORIZED, hold.reference, hold.expires_at)


class TestCapture:
    def test_never_two_captures(self, gateway):
        hold = gateway.authorize(Call("pay-1"), **HOLD)
        first = gateway.capture(Call("pay-1"), **MONEY)
        again = gateway.capture(Call("pay-1", attempt=2), **MONEY)

        assert first == again != hold.reference
        assert state() == "captured"
        assert gateway.lookup(Call("pay-1")) == PaymentLookup(PaymentState.CAPTURED, first, hold.expires_at)

    def test_without_a_hold_is_refused(self, gateway):
        with pytest.raises(KeyConflict):
            gateway.capture(Call("pay-1"), **MONEY)
        assert not GatewayLedgerEntry.objects.exists()

    def test_of_another_amount_is_refused(self, gateway):
        gateway.authorize(Call("pay-1"), **HOLD)
        with pytest.raises(KeyConflict):
            gateway.capture(Call("pay-1"), amount="30.00", currency="usd")
        assert state() == "authorized"


class TestVoid:
    def test_a_tombstone_for_an_absent_key_blocks_a_late_authorization(self, gateway):
        assert gateway.void(Call("pay-1"), order_id="o-1") == PaymentLookup(PaymentState.VOIDED)
        with pytest.raises(KeyConflict, match="voided"):
            gateway.authorize(Call("pay-1"), **HOLD)
        assert state() == "voided"

    def test_releases_a_hold_which_can_no_longer_be_captured(self, gateway):
        hold = gateway.authorize(Call("pay-1"), **HOLD)
        found = gateway.void(Call("pay-1"), order_id="o-1")

        assert (found.state, found.reference) == (PaymentState.VOIDED, hold.reference)
        assert gateway.void(Call("pay-1", attempt=2), order_id="o-1") == found
        with pytest.raises(KeyConflict):
            gateway.capture(Call("pay-1"), **MONEY)
        assert state() == "voided"

    def test_after_a_capture_leaves_it_captured(self, gateway):
        gateway.authorize(Call("pay-1"), **HOLD)
        reference = gateway.capture(Call("pay-1"), **MONEY)

        found = gateway.void(Call("pay-1"), order_id="o-1")
        assert (found.state, found.reference) == (PaymentState.CAPTURED, reference)
        assert state() == "captured"


class TestRefund:
    def test_only_after_a_capture(self, gateway):
        with pytest.raises(KeyConflict):
            gateway.refund(Call("pay-1"))
        gateway.authorize(Call("pay-1"), **HOLD)
        with pytest.raises(KeyConflict, match="never captured"):
            gateway.refund(Call("pay-1"))
        assert state() == "authorized"

    def test_the_same_refund_again(self, gateway):
        gateway.authorize(Call("pay-1"), **HOLD)
        capture = gateway.capture(Call("pay-1"), **MONEY)
        first = gateway.refund(Call("pay-1"))

        assert gateway.refund(Call("pay-1", attempt=2)) == first != capture
        assert state() == "refunded"
        assert gateway.capture(Call("pay-1"), **MONEY) == capture  # a refunded capture is not taken again


class TestExpiry:
    @pytest.fixture
    def lapsing(self):
        return SimulatedGateway(authorization_valid_for=0.01)

    def test_a_lapsed_hold_cannot_be_captured(self, lapsing):
        hold = lapsing.authorize(Call("pay-1"), **HOLD)
        time.sleep(0.05)

        with pytest.raises(AuthorizationExpired):
            lapsing.capture(Call("pay-1"), **MONEY)
        assert state() == "expired"
        assert lapsing.lookup(Call("pay-1")) == PaymentLookup(PaymentState.EXPIRED, hold.reference, hold.expires_at)

    def test_the_books_age_a_hold_on_lookup_and_void_leaves_it_expired(self, lapsing):
        lapsing.authorize(Call("pay-1"), **HOLD)
        time.sleep(0.05)

        assert lapsing.lookup(Call("pay-1")).state == PaymentState.EXPIRED
        assert lapsing.void(Call("pay-1"), order_id="o-1").state == PaymentState.EXPIRED
        assert state() == "expired"


class TestCards:
    @pytest.mark.parametrize("key", ["decline-1", "DECLINE-2"])
    def test_declined_cards_hold_nothing(self, gateway, key):
        with pytest.raises(Declined):
            gateway.authorize(Call(key), **HOLD)
        assert not GatewayLedgerEntry.objects.exists()

    def test_a_lapsed_card_is_held_once_and_declined_at_reauthorization(self, gateway):
        gateway.authorize(Call("lapsed-1"), **HOLD)
        with pytest.raises(Declined):
            gateway.authorize(Call("lapsed-1:reauth:1"), **HOLD)
        assert list(GatewayLedgerEntry.objects.values_list("payment_id", "state")) == [("lapsed-1", "authorized")]


def _prepare(gateway, until: str):
    """Bring pay-1 to the state before the call under test."""
    if until in ("capture", "refund"):
        gateway.authorize(Call("pay-1"), **HOLD)
    if until == "refund":
        gateway.capture(Call("pay-1"), **MONEY)


CALLS = {
    "authorize": lambda gateway, call: gateway.authorize(call, **HOLD),
    "capture": lambda gateway, call: gateway.capture(call, **MONEY),
    "void": lambda gateway, call: gateway.void(call, order_id="o-1"),
    "refund": lambda gateway, call: gateway.refund(call),
}
LANDED = {"authorize": "authorized", "capture": "captured", "void": "voided", "refund": "refunded"}


class TestFaults:
    @pytest.mark.parametrize("operation", CALLS)
    def test_a_fault_before_the_call_does_nothing(self, gateway, operation):
        _prepare(gateway, operation)
        before = list(GatewayLedgerEntry.objects.values_list("payment_id", "state", "reference"))

        with pytest.raises(TryAgain) as raised:
            CALLS[operation](gateway, Call("pay-1", faults=FAIL_EVERY_CALL))
        assert raised.type is TryAgain
        assert list(GatewayLedgerEntry.objects.values_list("payment_id", "state", "reference")) == before

    @pytest.mark.parametrize("operation", CALLS)
    def test_a_lost_reply_comes_after_the_books_are_written(self, gateway, operation):
        _prepare(gateway, operation)
        with pytest.raises(OutcomeUnknown, match="after it was done"):
            CALLS[operation](gateway, Call("pay-1", faults=LOSE_EVERY_REPLY))

        assert state() == LANDED[operation]
        answer = CALLS[operation](gateway, Call("pay-1", attempt=2))  # the same key: the same answer, nothing new
        assert state() == LANDED[operation] and answer is not None

    def test_without_faults_of_its_own_a_call_takes_the_workers_settings(self, gateway):
        with override_settings(FLAKY_FAILURE_RATE=1.0), pytest.raises(TryAgain):
            gateway.authorize(Call("pay-1"), **HOLD)
        assert not GatewayLedgerEntry.objects.exists()

    def test_seeded_faults_are_reproducible(self):
        faults = FaultSettings(failure_rate=0.5, lost_reply_rate=0.5, seed="s")

        def outcomes():
            found = []
            for attempt in range(1, 30):
                dice = Dice("op", Call("key", attempt, faults))
                try:
                    dice.before()
                    dice.after()
                    found.append("ok")
                except TryAgain as fault:
                    found.append(type(fault).__name__)
            return found

        first = outcomes()
        assert first == outcomes()
        assert {"ok", "TryAgain", "OutcomeUnknown"} <= set(first)


class TestCarrier:
    def test_prepare_packs_each_attempt(self, carrier):
        assert carrier.prepare(Call("o-1:1"), order_id="o-1", shipping_attempt=1) == "PKG-o-1-1"
        assert carrier.prepare(Call("o-1:2"), order_id="o-1", shipping_attempt=2) == "PKG-o-1-2"

    def test_one_shipment_per_key_across_attempts(self, carrier):
        first = carrier.dispatch(Call("SHIP-o-1"), order_id="o-1", package_id="PKG-o-1-1", address=ADDRESS)
        second = carrier.dispatch(
            Call("SHIP-o-1", attempt=2), order_id="o-1", package_id="PKG-o-1-2", address={**ADDRESS, "city": "Leeds"}
        )

        assert first == second
        shipment = CarrierShipment.objects.get()
        assert (shipment.shipment_key, shipment.package_id, shipment.address["city"], shipment.state) == (
            "SHIP-o-1", "PKG-o-1-1", "London", "dispatched"
        )
        assert carrier.lookup(Call("SHIP-o-1")) == ShipmentLookup(dispatched=True, tracking_number=first)

    def test_a_lost_reply_leaves_the_goods_shipped(self, carrier):
        with pytest.raises(OutcomeUnknown):
            carrier.dispatch(Call("SHIP-o-1", faults=LOSE_EVERY_REPLY), order_id="o-1", package_id="PKG", address=ADDRESS)
        assert carrier.lookup(Call("SHIP-o-1")).dispatched

    def test_a_fault_before_dispatch_ships_nothing(self, carrier):
        with pytest.raises(TryAgain):
            carrier.dispatch(Call("SHIP-o-1", faults=FAIL_EVERY_CALL), order_id="o-1", package_id="PKG", address=ADDRESS)
        assert carrier.lookup(Call("SHIP-o-1")) == ShipmentLookup(dispatched=False)
        assert not CarrierShipment.objects.exists()

    def test_a_cancel_tombstone_blocks_a_late_dispatch(self, carrier):
        assert carrier.cancel(Call("SHIP-o-1"), order_id="o-1") == ShipmentLookup(dispatched=False)
        with pytest.raises(KeyConflict, match="cancelled"):
            carrier.dispatch(Call("SHIP-o-1"), order_id="o-1", package_id="PKG", address=ADDRESS)
        assert CarrierShipment.objects.get().state == "cancelled"
        assert carrier.lookup(Call("SHIP-o-1")) == ShipmentLookup(dispatched=False)

    def test_cancel_after_dispatch_leaves_it_dispatched(self, carrier):
        tracking = carrier.dispatch(Call("SHIP-o-1"), order_id="o-1", package_id="PKG", address=ADDRESS)
        assert carrier.cancel(Call("SHIP-o-1"), order_id="o-1") == ShipmentLookup(dispatched=True, tracking_number=tracking)
        assert CarrierShipment.objects.get().state == "dispatched"


class NotAGateway:
    """Has the methods, but does not implement the interface."""

    def __init__(self, **options):
        self.options = options

    def authorize(self, call, **kwargs):
        return None


class TestLoader:
    def test_the_defaults_are_the_simulators(self):
        assert type(providers.payment_gateway().backend) is SimulatedGateway
        assert type(providers.carrier().backend) is SimulatedCarrier

    def test_builds_the_named_class_with_its_options(self):
        with override_settings(
            PAYMENT_GATEWAY_BACKEND="orders.providers.simulated.SimulatedGateway",
            PAYMENT_GATEWAY_OPTIONS={"authorization_valid_for": 60},
        ):
            gateway = providers.payment_gateway()
            assert type(gateway.backend) is SimulatedGateway and gateway.valid_for == timedelta(seconds=60)
            assert providers.payment_gateway() is gateway
        assert providers.payment_gateway().valid_for == timedelta(days=7)

    @pytest.mark.parametrize(
        "setting, path, load",
        [
            ("PAYMENT_GATEWAY_BACKEND", "tests.unit.test_providers.NotAGateway", providers.payment_gateway),
            ("PAYMENT_GATEWAY_BACKEND", "orders.providers.simulated.SimulatedCarrier", providers.payment_gateway),
            ("CARRIER_BACKEND", "orders.providers.simulated.SimulatedGateway", providers.carrier),
        ],
    )
    def test_a_class_not_implementing_the_interface_is_refused(self, setting, path, load):
        with override_settings(**{setting: path}), pytest.raises(TypeError, match="is not a"):
            load()


class Broken(SimulatedGateway):
    def capture(self, call, **kwargs):
        raise ValueError("Expecting value: line 1 column 1 (char 0)")  # e.g. a 502 with an HTML body


def test_anything_a_backend_raises_besides_its_answers_is_an_unknown_outcome():
    with override_settings(PAYMENT_GATEWAY_BACKEND="tests.unit.test_providers.Broken"):
        gateway = providers.payment_gateway()
        with pytest.raises(OutcomeUnknown, match="Broken.capture failed: ValueError: Expecting value"):
            gateway.capture(Call("pay-1"), amount="1.00", currency="USD")
        with pytest.raises(Declined):
            gateway.authorize(Call("decline-1"), order_id="o-1", amount="1.00", currency="USD")
