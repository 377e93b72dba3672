"""The soak: 300 orders with every fault mode at 30 % (failures before the side effect, replies lost
after it, latency), through `manage.py demo --flaky` on the dev server, worker processes and the real database.
The demo audits every order (orders/audit.py): a final state and a workflow that completed with it, money kept
only for completed orders, at most one shipment and only for those, a complete event trail."""

from collections import Counter

import pytest
from django.core.management import call_command

from orders.models import GatewayLedgerEntry, Order, Payment
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
    # The faults really happened: charges that never got an answer were settled (voided at the gateway, so the
    # order failed its payment), and no payment row says declined (no card is declined here).
    payments = Counter(Payment.objects.values_list("status", flat=True))
    assert payments["captured"] >= ORDERS // 2 and payments["voided"] > 0 and payments["declined"] == 0, payments
    assert GatewayLedgerEntry.objects.filter(state="voided").count() == payments["voided"]
