"""End to end: the Temporal dev server from the wheel, `manage.py run_workers` processes, the real database and
the real workflow client. Nothing is mocked."""

import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from orders.audit import order_problems
from orders.models import CarrierShipment, GatewayLedgerEntry, Order, OrderEvent, Payment
from orders.temporal import client as order_client
from tests.conftest import fast_retries, wait_for_status, wait_for_workflow_closed
from tests.factories import ADDRESS, ITEMS
from workflows.types import Activities, FaultSettings, order_workflow_id, shipping_workflow_id

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Event = OrderEvent.Type
HAPPY_TRAIL = [
    Event.RECEIVED,
    Event.VALIDATED,
    Event.PAYMENT_AUTHORIZED,
    Event.APPROVED,
    Event.PAYMENT_CAPTURED,
    Event.SHIPPING_STARTED,
    Event.PACKAGE_PREPARED,
    Event.DISPATCHED,
    Event.COMPLETED,
]


def order_request(order_id, **changes):
    return {
        "order_id": order_id,
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "items": ITEMS,
        "currency": "USD",
        "shipping_address": ADDRESS,
        **changes,
    }


def closing_connection(fn):
    """Run fn in a helper thread and hand its database connection back, as Django does after a request."""

    def run(*args):
        try:
            return fn(*args)
        finally:
            connection.close()

    return run


def trail(order_id):
    return list(OrderEvent.objects.filter(order_id=order_id).order_by("created_at", "id").values_list("type", flat=True))


def test_start_approve_complete(start_worker):
    start_worker()

    started = order_client.start_order(**order_request("e2e-happy"))
    wait_for_status("e2e-happy", Order.Status.AWAITING_REVIEW)
    result = order_client.approve("e2e-happy", actor="rita")
    order = wait_for_status("e2e-happy", Order.Status.COMPLETED)

    assert started.created and started.workflow_id == order_workflow_id("e2e-happy")
    assert result.accepted
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.amount, payment.payment_id) == ("captured", order.amount, "pay-e2e-happy")
    assert trail("e2e-happy") == HAPPY_TRAIL
    assert OrderEvent.objects.get(order=order, type=Event.APPROVED).actor == "rita"
    assert order.reviewer == "rita" and order.tracking_number
    live = order_client.status("e2e-happy")
    assert live["status"] == "completed" and live["running"] is False


def test_address_update_is_persisted_and_shipped(start_worker):
    start_worker()
    order_client.start_order(**order_request("e2e-address"))
    wait_for_status("e2e-address", Order.Status.AWAITING_REVIEW)
    new_address = {**ADDRESS, "line1": "221B Baker Street", "postal_code": "NW1 6XE"}

    result = order_client.update_address("e2e-address", actor="ada", address=new_address)
    order = Order.objects.get(pk="e2e-address")

    assert result.accepted
    assert order.shipping_address["line1"] == "221B Baker Street"
    event = OrderEvent.objects.get(order=order, type=Event.ADDRESS_UPDATED)
    assert event.payload["old"]["line1"] == ADDRESS["line1"] and event.payload["new"]["line1"] == "221B Baker Street"
    assert event.actor == "ada"
    with pytest.raises(order_client.MessageRejected, match="missing city"):
        order_client.update_address("e2e-address", actor="ada", address={**ADDRESS, "city": ""})

    order_client.approve("e2e-address", actor="rita")
    wait_for_status("e2e-address", Order.Status.COMPLETED)
    with pytest.raises(order_client.MessageRejected, match="order already completed"):
        order_client.update_address("e2e-address", actor="ada", address=new_address)


def test_duplicate_starts_run_one_workflow_and_charge_once(start_worker):
    start_worker()
    request = order_request("e2e-dup")

    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(closing_connection(lambda _: order_client.start_order(**request)), range(5)))
    wait_for_status("e2e-dup", Order.Status.AWAITING_REVIEW)
    order_client.approve("e2e-dup", actor="rita")
    wait_for_status("e2e-dup", Order.Status.COMPLETED)
    again = order_client.start_order(**request)

    assert sum(r.created for r in results) == 1
    assert again.created is False
    assert Payment.objects.filter(order_id="e2e-dup").count() == 1
    assert trail("e2e-dup") == HAPPY_TRAIL
    with pytest.raises(order_client.OrderConflict):
        order_client.start_order(**order_request("e2e-dup", customer_name="Someone Else"))


def test_unknown_and_closed_orders(start_worker):
    start_worker()
    with pytest.raises(order_client.OrderNotFound):
        order_client.approve("e2e-nobody", actor="rita")
    assert order_client.status("e2e-nobody") is None

    order_client.start_order(**order_request("e2e-cancel"))
    wait_for_status("e2e-cancel", Order.Status.AWAITING_REVIEW)
    cancelled = order_client.cancel("e2e-cancel", actor="rita", reason="fraud suspected")
    wait_for_status("e2e-cancel", Order.Status.CANCELLED)

    assert cancelled.accepted and cancelled.status == "cancelled"
    with pytest.raises(order_client.MessageRejected, match="order already cancelled"):
        order_client.approve("e2e-cancel", actor="rita")
    assert OrderEvent.objects.get(order_id="e2e-cancel", type=Event.CANCELLED).payload["reason"] == "fraud suspected"
    assert list(Payment.objects.filter(order_id="e2e-cancel").values_list("status", flat=True)) == ["voided"]  # the hold


def test_flaky_integrations_still_charge_exactly_once(start_worker, live_temporal):
    live_temporal.BUSINESS_RETRY_MAX_ATTEMPTS = 12
    live_temporal.BUSINESS_RETRY_INITIAL_INTERVAL = 0.1
    live_temporal.BUSINESS_RETRY_MAX_INTERVAL = 0.2
    start_worker(FLAKY_FAILURE_RATE="0.5", FLAKY_SEED="e2e-seed-7", FLAKY_MAX_DELAY="0.05")

    order_client.start_order(**order_request("e2e-flaky"))
    wait_for_status("e2e-flaky", Order.Status.AWAITING_REVIEW)
    order_client.approve("e2e-flaky", actor="rita")
    order = wait_for_status("e2e-flaky", Order.terminal_statuses(), timeout=120)

    assert order.status == Order.Status.COMPLETED, order.status_reason
    assert Payment.objects.filter(order_id="e2e-flaky").count() == 1
    assert trail("e2e-flaky") == HAPPY_TRAIL
    # The faults really happened: some business call needed more than one attempt.
    assert retried_activities(live_temporal, "e2e-flaky")


def retried_activities(live_temporal, order_id):
    """Attempt numbers above 1 of the activities of the order and its shipping workflows, from their histories:
    regular activities (their started events) and local activities (their markers)."""

    async def fetch():
        client = await order_client._runner.client()
        attempts = []
        for workflow_id in (order_workflow_id(order_id), shipping_workflow_id(order_id, 1)):
            history = await client.get_workflow_handle(workflow_id).fetch_history()
            for e in history.events:
                if e.HasField("activity_task_started_event_attributes"):
                    attempts.append(e.activity_task_started_event_attributes.attempt)
                elif e.marker_recorded_event_attributes.marker_name == "core_local_activity":
                    marker = json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)
                    attempts.append(marker["attempt"])
        return [attempt for attempt in attempts if attempt > 1]

    return order_client._runner.run(fetch())


def local_tries(live_temporal, order_id, activity):
    """How many times the order's workflow ran one local activity (each try is a marker in its history)."""

    async def fetch():
        history = await (await order_client._runner.client()).get_workflow_handle(order_workflow_id(order_id)).fetch_history()
        markers = [
            json.loads(e.marker_recorded_event_attributes.details["data"].payloads[0].data)
            for e in history.events
            if e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ]
        return sum(1 for marker in markers if marker["activity_type"] == activity)

    return order_client._runner.run(fetch())


def approve_until_answered(order_id, actor, attempts=5):
    """What a client does with "outcome unknown, retry": the same approval again, under the same idempotency key
    (the same update to Temporal, so a first attempt that did land is not refused as a second approval)."""
    for _ in range(attempts - 1):
        try:
            return order_client.approve(order_id, actor=actor, idempotency_key="retry-1")
        except order_client.TemporalUnavailable:
            continue
    return order_client.approve(order_id, actor=actor, idempotency_key="retry-1")


def test_worker_crash_loses_nothing(start_worker):
    first = start_worker()
    order_client.start_order(**order_request("e2e-crash"))
    wait_for_status("e2e-crash", Order.Status.AWAITING_REVIEW)

    first.stop(signal.SIGKILL)
    approval = {}
    approving = threading.Thread(
        target=closing_connection(lambda: approval.update(result=approve_until_answered("e2e-crash", actor="rita")))
    )
    approving.start()
    start_worker()
    approving.join(timeout=60)
    order = wait_for_status("e2e-crash", Order.Status.COMPLETED)

    assert approval["result"].accepted
    assert Payment.objects.filter(order=order).count() == 1
    assert trail("e2e-crash") == HAPPY_TRAIL


OUTAGE_SECONDS = 60


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the outage is cut on the PostgreSQL connection")
def test_database_outage_delays_but_loses_nothing(start_worker, live_temporal):
    """The worker reaches PostgreSQL through a proxy that the test cuts for a minute mid-order: the bookkeeping
    step keeps retrying past the 3 attempts business calls get (the workflow's own retries, on server timers), and
    the order completes."""
    from tests.conftest import database_url
    from tests.tcp_proxy import CuttableProxy

    db = connection.settings_dict
    proxy = CuttableProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    try:
        # The approval is answered once the workflow task that took it completes: after the approve step's quick
        # local retries (each waits DB_POOL_TIMEOUT for a connection) have given way to server-timed ones.
        live_temporal.TEMPORAL_UPDATE_WAIT = 4
        start_worker(DATABASE_URL=database_url().replace(f":{db['PORT'] or 5432}/", f":{proxy.port}/"), DB_POOL_TIMEOUT="0.5")
        order_client.start_order(**order_request("e2e-outage"))
        wait_for_status("e2e-outage", Order.Status.AWAITING_REVIEW)

        proxy.cut()
        result = order_client.approve("e2e-outage", actor="rita")
        time.sleep(OUTAGE_SECONDS - live_temporal.TEMPORAL_UPDATE_WAIT)
        during = Order.objects.get(pk="e2e-outage").status
        proxy.restore()
        order = wait_for_status("e2e-outage", Order.Status.COMPLETED, timeout=90)
    finally:
        proxy.close()

    # The workflow took the decision while the database was away; its outcome came later.
    assert (result.accepted, result.status) == (True, "processing")
    assert during == Order.Status.AWAITING_REVIEW  # nothing could be written meanwhile
    assert Payment.objects.filter(order=order).count() == 1
    assert trail("e2e-outage") == HAPPY_TRAIL
    assert local_tries(live_temporal, "e2e-outage", Activities.APPROVE) > 3


def test_lost_replies_are_settled_with_the_providers_books(start_worker, live_temporal):
    """Lost replies, against the simulators' real ledgers: every charge and every dispatch is done at
    the provider and its reply lost. The charge is found by its key and kept; the shipment is found after the last
    attempt instead of refunding; one of each."""
    fast_retries(live_temporal)
    start_worker()

    order_client.start_order(**order_request("e2e-lost"), faults=FaultSettings(lost_reply_rate=1.0))
    order_client.approve("e2e-lost", actor="rita")
    order = wait_for_status("e2e-lost", Order.terminal_statuses(), timeout=120)
    wait_for_workflow_closed("e2e-lost")

    assert order.status == Order.Status.COMPLETED, order.status_reason
    assert list(GatewayLedgerEntry.objects.filter(order_id="e2e-lost").values_list("state", flat=True)) == ["captured"]
    assert CarrierShipment.objects.filter(order_id="e2e-lost", state=CarrierShipment.State.DISPATCHED).count() == 1
    assert order.shipping_attempts == live_temporal.SHIPPING_MAX_ATTEMPTS and order.tracking_number
    assert order_problems(["e2e-lost"], order_client.order_workflows(["e2e-lost"])) == {}
    assert not Payment.objects.filter(order=order).exclude(status=Payment.Status.CAPTURED).exists()


def test_a_message_no_worker_took_is_never_called_accepted(live_temporal):
    """With no worker, no validator ran: the outcome is unknown (503), not "accepted"."""
    live_temporal.TEMPORAL_UPDATE_WAIT = 1

    started = order_client.start_order(**order_request("e2e-noworker"))
    with pytest.raises(order_client.TemporalUnavailable, match="outcome is unknown"):
        order_client.approve("e2e-noworker", actor="rita")

    assert started.pending and not Order.objects.filter(pk="e2e-noworker").exists()
