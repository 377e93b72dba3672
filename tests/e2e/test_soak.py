"""The soak: 300 orders with every fault mode at 30 % (failures before the side effect, replies lost
after it, latency), through `manage.py demo --flaky` on the dev server, worker processes and the real database.
The demo declines one order in ten at authorization and cancels one in ten in review, and audits every order
(orders/audit.py): a final state and a workflow that completed with it, money kept only for completed orders, one
capture at most, no authorization left open, at most one shipment and only for those, a complete event trail."""

from collections import Counter

import pytest
from django.core.management import call_command

from orders.models import GatewayLedgerEntry, Order, OrderEvent, Payment
from tests.conftest import fast_retries

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ORDERS = 300


def test_soak_every_fault_mode(start_worker, live_temporal, capsys):
    fast_retries(live_temporal)
    start_worker()
    start_worker()

    call_command("demo", orders=ORDERS, flaky=True, concurrency=16, timeout=900)

    out = capsys.readouterr().out
    assert f"All {ORDERS} orders finished as expected." in out
    statuses = Counter(Order.objects.filter(pk__startswith="demo-").values_list("status", flat=True))
    assert sum(statuses.values()) == ORDERS and statuses.get("completed", 0) >= ORDERS // 2, statuses
    # The faults really happened: calls that never got an answer were settled (voided at the gateway, so the order
    # failed its payment); the demo's declining cards were declined before review; its cancels voided their holds.
    payments = Counter(Payment.objects.values_list("status", flat=True))
    assert payments["captured"] >= ORDERS // 2 and payments["voided"] > 0 and payments["declined"] >= ORDERS // 20, payments
    assert GatewayLedgerEntry.objects.filter(state="voided").count() == payments["voided"]
    released = OrderEvent.objects.filter(type=OrderEvent.Type.PAYMENT_VOIDED, payload__cause="released")
    assert released.count() >= ORDERS // 20
    assert not OrderEvent.objects.filter(type=OrderEvent.Type.PAYMENT_REFUNDED, order__in=released.values("order")).exists()

    # By the gateway's own ledger: money is captured only for completed orders, or refunded; no order is captured
    # twice; every authorization of a final order is captured, voided or expired.
    completed = set(Order.objects.filter(status="completed").values_list("pk", flat=True))
    ledger = list(GatewayLedgerEntry.objects.filter(order_id__startswith="demo-"))
    captures = Counter(e.order_id for e in ledger if e.state in ("captured", "refunded"))
    assert {e.order_id for e in ledger if e.state == "captured"} <= completed
    assert max(captures.values()) == 1 and set(captures) >= completed
    assert {e.state for e in ledger} <= {"captured", "refunded", "voided", "expired"}, Counter(e.state for e in ledger)
