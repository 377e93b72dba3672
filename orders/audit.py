"""The money-and-goods audit: each order checked against the providers' own books (the gateway's ledger, the
carrier's shipments), its event trail and its workflow's outcome. Used by `demo --flaky`, the soak and chaos
tests and `reconcile`. An empty list of problems means the order is sound."""

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Optional

from django.utils import timezone

from orders.models import CarrierShipment, GatewayLedgerEntry, Order, OrderEvent, Payment

Status, Event = Order.Status, OrderEvent.Type
Charge, Shipment = GatewayLedgerEntry.State, CarrierShipment.State

# The event each final status must end its trail with.
CLOSING_EVENTS = {
    Status.COMPLETED: {Event.COMPLETED},
    Status.CANCELLED: {Event.CANCELLED},
    Status.REJECTED: {Event.REJECTED},
    Status.PAYMENT_FAILED: {Event.PAYMENT_DECLINED, Event.PAYMENT_VOIDED},
    Status.FAILED: {Event.FAILED},
}


@dataclass(frozen=True)
class WorkflowView:
    """What Temporal knows of one order (orders.temporal.reading.order_workflows): its execution status (RUNNING,
    COMPLETED, FAILED, ...), the order status the workflow holds (its status query while it runs, its result once
    completed), and a failure's type."""

    execution_status: str
    order_status: Optional[str] = None
    failure_type: str = ""

    @property
    def running(self) -> bool:
        return self.execution_status == "RUNNING"


def order_problems(order_ids: Iterable[str], outcomes: Optional[dict[str, WorkflowView]] = None) -> dict[str, list[str]]:
    """Problems per order id (only orders that have some). `outcomes` adds the check against the workflows."""
    ids = list(order_ids)
    orders = {o.pk: o for o in Order.objects.filter(pk__in=ids)}
    payments, charges, shipments, trails = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
    for payment in Payment.objects.filter(order_id__in=ids):
        payments[payment.order_id].append(payment)
    for charge in GatewayLedgerEntry.objects.filter(order_id__in=ids):
        charges[charge.order_id].append(charge)
    for shipment in CarrierShipment.objects.filter(order_id__in=ids, state=Shipment.DISPATCHED):
        shipments[shipment.order_id].append(shipment)
    for order_id, event_type in OrderEvent.objects.filter(order_id__in=ids).order_by("created_at", "id").values_list("order_id", "type"):
        trails[order_id].append(event_type)

    found = {}
    for order_id in ids:
        order = orders.get(order_id)
        if order is None:
            problems = ["no order row"]
        else:
            problems = _money_and_goods(order, payments[order_id], charges[order_id], shipments[order_id])
            problems += _trail(order, trails[order_id])
            if outcomes is not None:
                problems += _workflow(order, outcomes.get(order_id))
        if problems:
            found[order_id] = problems
    return found


def _money_and_goods(order: Order, payments: list[Payment], charges: list[GatewayLedgerEntry], shipments: list) -> list[str]:
    problems = []
    if not order.is_terminal:
        problems.append(f"not final: it is {order.status}")
    completed = order.status == Status.COMPLETED
    now = timezone.now()
    at_gateway = {c.payment_id: gateway_state(c, now) for c in charges}
    kept = [key for key, state in at_gateway.items() if state == Charge.CAPTURED]
    taken = [key for key, state in at_gateway.items() if state in (Charge.CAPTURED, Charge.REFUNDED)]
    if len(taken) > 1:
        problems.append(f"captured {len(taken)} times at the gateway")
    held = [key for key, state in at_gateway.items() if state == Charge.AUTHORIZED]
    if order.is_terminal and held:
        problems.append(f"an authorization is left open at the gateway for a {order.status} order: {', '.join(held)}")
    if completed and len(kept) != 1:
        problems.append(f"completed with {len(kept)} captured charges at the gateway")
    if not completed and kept:
        problems.append(f"the gateway keeps the money of a {order.status} order")
    if len(shipments) > 1:
        problems.append(f"shipped {len(shipments)} times")
    if completed and not shipments:
        problems.append("completed without a shipment at the carrier")
    if not completed and shipments:
        problems.append(f"shipped although {order.status}")
    ours = {p.payment_id: p.status for p in payments}
    for payment_id, state in at_gateway.items():
        if (ours.get(payment_id), state) not in SAME:
            problems.append(f"payment {payment_id} is {ours.get(payment_id, 'missing')} here, {state} at the gateway")
    for payment_id, status in ours.items():
        if status != Payment.Status.DECLINED and payment_id not in {c.payment_id for c in charges}:
            problems.append(f"payment {payment_id} is {status} here, unknown to the gateway")
    return problems


# Our payment status and the gateway's state that agree: each the same, and a hold that lapsed by our clock, which
# we void at the gateway so that it can never be captured.
SAME = {(state, state) for state in Charge.values} | {(Payment.Status.EXPIRED, Charge.VOIDED)}


def gateway_state(entry: GatewayLedgerEntry, now) -> str:
    """The entry's state as the gateway's clock has it: a hold past its expiry has lapsed, touched or not."""
    if entry.state == Charge.AUTHORIZED and entry.expires_at and entry.expires_at <= now:
        return Charge.EXPIRED
    return entry.state


def _trail(order: Order, trail: list[str]) -> list[str]:
    if not trail or trail[0] != Event.RECEIVED:
        return ["the event trail does not start with received"]
    closing = CLOSING_EVENTS.get(order.status)
    if closing and not closing & set(trail):
        return [f"the event trail has no {' or '.join(sorted(closing))} event"]
    return []


def _workflow(order: Order, outcome: Optional[WorkflowView]) -> list[str]:
    if outcome is None:
        return ["no workflow"]
    if outcome.execution_status != "COMPLETED":
        return [f"its workflow is {outcome.execution_status}"]
    if outcome.order_status != order.status:
        return [f"its workflow ended {outcome.order_status}, the database says {order.status}"]
    return []
