"""The money-and-goods audit finds each kind of broken order, and passes sound ones."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.audit import WorkflowView, order_problems
from orders.models import CarrierShipment, GatewayLedgerEntry, Order, OrderEvent, Payment
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

Status, Event = Order.Status, OrderEvent.Type


def order_with(status, trail, payment=None, charge=None, shipped=False) -> Order:
    order = OrderFactory(status=status)
    for n, event_type in enumerate(trail):
        OrderEvent.objects.create(order=order, type=event_type, key=f"{order.id}:{n}")
    if payment:
        Payment.objects.create(payment_id=order.payment_id, order=order, amount=order.amount, currency="USD", status=payment)
    if charge:
        GatewayLedgerEntry.objects.create(
            payment_id=order.payment_id, order_id=order.id, amount=order.amount, currency="USD", state=charge
        )
    if shipped:
        CarrierShipment.objects.create(shipment_key=f"SHIP-{order.id}", order_id=order.id, state=CarrierShipment.State.DISPATCHED)
    return order


def completed(**changes):
    trail = [Event.RECEIVED, Event.VALIDATED, Event.APPROVED, Event.PAYMENT_CAPTURED, Event.COMPLETED]
    return order_with(Status.COMPLETED, trail, **{"payment": "captured", "charge": "captured", "shipped": True, **changes})


def test_sound_orders_have_no_problems():
    good = [
        completed(),
        order_with(Status.CANCELLED, [Event.RECEIVED, Event.CANCELLED]),
        order_with(Status.FAILED, [Event.RECEIVED, Event.PAYMENT_REFUNDED, Event.FAILED], payment="refunded", charge="refunded"),
        order_with(Status.PAYMENT_FAILED, [Event.RECEIVED, Event.PAYMENT_VOIDED], payment="voided", charge="voided"),
        order_with(Status.PAYMENT_FAILED, [Event.RECEIVED, Event.PAYMENT_DECLINED], payment="declined"),
    ]
    outcomes = {o.id: WorkflowView("COMPLETED", o.status) for o in good}
    assert order_problems([o.id for o in good], outcomes) == {}


@pytest.mark.parametrize(
    "make, problem",
    [
        # A charge taken at the gateway, recorded here as declined, never refunded.
        (
            lambda: order_with(Status.PAYMENT_FAILED, [Event.RECEIVED, Event.PAYMENT_DECLINED], payment="declined", charge="captured"),
            "the gateway keeps the money of a payment_failed order",
        ),
        (lambda: completed(shipped=False), "completed without a shipment at the carrier"),
        (lambda: completed(charge=None, payment=None), "completed with 0 captured charges at the gateway"),
        (
            lambda: order_with(Status.FAILED, [Event.RECEIVED, Event.FAILED], payment="refunded", charge="refunded", shipped=True),
            "shipped although failed",
        ),
        (lambda: completed(payment="refunded"), "payment pay-"),
        (lambda: order_with(Status.SHIPPING, [Event.RECEIVED], payment="captured", charge="captured"), "not final: it is shipping"),
        (lambda: order_with(Status.CANCELLED, [Event.RECEIVED]), "no cancelled event"),
    ],
)
def test_each_kind_of_broken_order_is_named(make, problem):
    order = make()
    found = order_problems([order.id, "no-such-order"])
    assert any(problem in p for p in found[order.id]), found
    assert found["no-such-order"] == ["no order row"]


@pytest.mark.parametrize(
    "outcome, problem",
    [
        (WorkflowView("FAILED"), "its workflow is FAILED"),
        (WorkflowView("COMPLETED", "cancelled"), "its workflow ended cancelled, the database says completed"),
        (None, "no workflow"),
    ],
)
def test_the_workflow_must_agree(outcome, problem):
    order = completed()
    assert order_problems([order.id], {order.id: outcome} if outcome else {}) == {order.id: [problem]}


def _second_key(order: Order, state: str, ours: str = "") -> None:
    key = f"{order.payment_id}:reauth:1"
    GatewayLedgerEntry.objects.create(payment_id=key, order_id=order.id, amount=order.amount, currency="USD", state=state)
    if ours:
        Payment.objects.create(payment_id=key, order=order, amount=order.amount, currency="USD", status=ours)


def test_holds_are_audited_by_the_gateways_own_books():
    trail = [Event.RECEIVED, Event.CANCELLED]
    lapsed = completed(payment="expired", charge="voided")  # lapsed by our clock, voided there
    _second_key(lapsed, "captured", ours="captured")
    twice = completed()
    _second_key(twice, "captured", ours="captured")
    open_hold = order_with(Status.CANCELLED, trail, payment="authorized", charge="authorized")
    GatewayLedgerEntry.objects.filter(order_id=open_hold.id).update(expires_at=timezone.now() + timedelta(days=1))
    dropped = order_with(Status.CANCELLED, trail, payment="expired", charge="authorized")  # never touched since
    GatewayLedgerEntry.objects.filter(order_id=dropped.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    orders = [lapsed, twice, open_hold, dropped]

    found = order_problems([o.id for o in orders], {o.id: WorkflowView("COMPLETED", o.status) for o in orders})

    assert set(found) == {twice.id, open_hold.id}
    assert found[twice.id] == ["captured 2 times at the gateway", "completed with 2 captured charges at the gateway"]
    assert found[open_hold.id] == [f"an authorization is left open at the gateway for a cancelled order: {open_hold.payment_id}"]
