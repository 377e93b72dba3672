"""Search attributes on the dev server with worker processes: orders found by OrderStatus, ReviewEscalated,
Reviewer and OrderAmount through the `temporal` CLI, kept current at every transition; check_status counts them."""

import json
import subprocess
import time

import pytest
from django.core.management import call_command

from orders.models import Order
from orders.temporal import client as order_client
from tests.conftest import wait_for_status
from tests.e2e.test_e2e import order_request
from workflows.binaries import temporal_cli

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def listed(live_temporal, query: str) -> set[str]:
    scoped = f"TaskQueue='{live_temporal.TEMPORAL_MAIN_TASK_QUEUE}' AND {query}"
    out = subprocess.run(
        [temporal_cli(), "workflow", "list", "--query", scoped, "--address", live_temporal.TEMPORAL_ADDRESS, "-o", "json"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    return {run["execution"]["workflowId"] for run in json.loads(out or "[]")}


def eventually(live_temporal, query: str, expected: set[str], timeout: float = 15.0) -> set[str]:
    """Visibility is eventually consistent: ask until it shows what is expected, or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        found = listed(live_temporal, query)
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def test_orders_are_found_by_status_escalation_reviewer_and_amount(live_temporal, start_worker, capsys):
    start_worker()
    live_temporal.REVIEW_ESCALATE_AFTER = 2  # snapshotted by the orders at start
    for order_id in ("sa-1", "sa-2"):
        order_client.start_order(**order_request(order_id))
        wait_for_status(order_id, Order.Status.AWAITING_REVIEW)

    waiting = eventually(live_temporal, "OrderStatus='awaiting_review'", {"order-sa-1", "order-sa-2"})
    assert eventually(live_temporal, "ReviewEscalated=true", {"order-sa-1", "order-sa-2"}) == {"order-sa-1", "order-sa-2"}
    order_client.approve("sa-1", actor="rita")
    wait_for_status("sa-1", Order.Status.COMPLETED)

    assert waiting == {"order-sa-1", "order-sa-2"}
    assert eventually(live_temporal, "OrderStatus='completed' AND Reviewer='rita'", {"order-sa-1"}) == {"order-sa-1"}
    assert eventually(live_temporal, "OrderStatus='awaiting_review'", {"order-sa-2"}) == {"order-sa-2"}
    amount = float(Order.objects.get(pk="sa-1").amount)
    assert listed(live_temporal, f"OrderAmount={amount}") == {"order-sa-1", "order-sa-2"}
    assert listed(live_temporal, "Reviewer='rita'") == {"order-sa-1"}

    call_command("check_status")
    out = capsys.readouterr().out
    assert "Temporal, by OrderStatus: awaiting_review 1, completed 1" in out
