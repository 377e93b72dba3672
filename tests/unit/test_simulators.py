"""The outside world's stand-ins keep their own books: idempotent by key, and the truth after a lost reply."""

import pytest

from orders import simulators
from orders.models import CarrierShipment, GatewayLedgerEntry
from workflows.types import FaultSettings, PaymentTruth, ShipmentTruth

pytestmark = pytest.mark.django_db

LOSE_EVERY_REPLY = FaultSettings(lost_reply_rate=1.0)
FAIL_EVERY_CALL = FaultSettings(failure_rate=1.0)
CHARGE = dict(payment_id="pay-1", order_id="o-1", amount="28.99", currency="usd")
ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "London", "postal_code": "N1", "country": "GB"}


class TestGateway:
    def test_charge_is_idempotent_by_payment_id(self):
        first = simulators.gateway_charge(**CHARGE)
        again = simulators.gateway_charge(**CHARGE, attempt=2)

        assert first == again
        entry = GatewayLedgerEntry.objects.get()
        assert (entry.payment_id, entry.order_id, str(entry.amount), entry.currency, entry.state) == (
            "pay-1", "o-1", "28.99", "USD", "captured"
        )

    @pytest.mark.parametrize("other", [{"order_id": "o-2"}, {"amount": "1.00"}, {"currency": "EUR"}])
    def test_same_key_for_something_else_is_refused(self, other):
        simulators.gateway_charge(**CHARGE)
        with pytest.raises(simulators.ProviderConflict):
            simulators.gateway_charge(**{**CHARGE, **other})
        assert GatewayLedgerEntry.objects.count() == 1

    def test_a_fault_before_the_charge_takes_nothing(self):
        with pytest.raises(simulators.TransientFault):
            simulators.gateway_charge(**CHARGE, faults=FAIL_EVERY_CALL)
        assert not GatewayLedgerEntry.objects.exists()

    def test_a_lost_reply_leaves_the_money_taken(self):
        with pytest.raises(simulators.LostReply, match="after it was done"):
            simulators.gateway_charge(**CHARGE, faults=LOSE_EVERY_REPLY)
        assert GatewayLedgerEntry.objects.get().state == "captured"

    def test_declined_cards_take_nothing(self):
        with pytest.raises(simulators.PaymentDeclined):
            simulators.gateway_charge(**{**CHARGE, "payment_id": "decline-1"})
        assert not GatewayLedgerEntry.objects.exists()

    def test_settle_finds_a_capture(self):
        reference = simulators.gateway_charge(**CHARGE)
        assert simulators.gateway_settle(**CHARGE) == PaymentTruth("captured", reference)

    def test_settle_voids_an_unknown_payment_so_a_late_capture_cannot_land(self):
        assert simulators.gateway_settle(**CHARGE) == PaymentTruth("voided", "")
        with pytest.raises(simulators.PaymentDeclined, match="voided"):
            simulators.gateway_charge(**CHARGE)
        assert GatewayLedgerEntry.objects.get().state == "voided"

    def test_refund_is_idempotent_and_survives_a_lost_reply(self):
        simulators.gateway_charge(**CHARGE)
        with pytest.raises(simulators.LostReply):
            simulators.gateway_refund(payment_id="pay-1", faults=LOSE_EVERY_REPLY)
        simulators.gateway_refund(payment_id="pay-1")

        assert GatewayLedgerEntry.objects.get().state == "refunded"

    def test_refund_of_money_never_taken_is_refused(self):
        simulators.gateway_settle(**CHARGE)
        with pytest.raises(simulators.ProviderConflict):
            simulators.gateway_refund(payment_id="pay-1")


class TestCarrier:
    def test_one_shipment_per_order_across_attempts(self):
        first = simulators.carrier_dispatch(order_id="o-1", package_id="PKG-o-1-1", address=ADDRESS)
        second = simulators.carrier_dispatch(order_id="o-1", package_id="PKG-o-1-2", address={**ADDRESS, "city": "Leeds"})

        assert first == second
        shipment = CarrierShipment.objects.get()
        assert (shipment.shipment_key, shipment.package_id, shipment.address["city"]) == ("SHIP-o-1", "PKG-o-1-1", "London")

    def test_a_lost_reply_leaves_the_goods_shipped(self):
        with pytest.raises(simulators.LostReply):
            simulators.carrier_dispatch(order_id="o-1", package_id="PKG", address=ADDRESS, faults=LOSE_EVERY_REPLY)
        assert simulators.carrier_settle(order_id="o-1").dispatched

    def test_settle_cancels_an_unknown_shipment_so_a_late_dispatch_cannot_ship(self):
        assert simulators.carrier_settle(order_id="o-1") == ShipmentTruth(dispatched=False)
        with pytest.raises(simulators.ProviderConflict, match="cancelled"):
            simulators.carrier_dispatch(order_id="o-1", package_id="PKG", address=ADDRESS)
        assert CarrierShipment.objects.get().state == "cancelled"


def test_seeded_faults_are_reproducible():
    faults = FaultSettings(failure_rate=0.5, lost_reply_rate=0.5, seed="s")

    def outcomes():
        found = []
        for attempt in range(1, 30):
            call = simulators._Call("op", "key", attempt, faults)
            try:
                call.before()
                call.after()
                found.append("ok")
            except simulators.TransientFault as fault:
                found.append(type(fault).__name__)
        return found

    first = outcomes()
    assert first == outcomes()
    assert {"ok", "TransientFault", "LostReply"} <= set(first)
