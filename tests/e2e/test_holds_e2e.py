"""Holds end to end (PostgreSQL, the dev server, `manage.py run_workers`, the real client, the simulated gateway's
own ledger): authorized before review, captured on approval, voided on a cancel or a review timeout, declines
before review, lost replies settled by key, lapsed holds re-authorized; and an order through a second backend."""

import json
import time

import pytest
from django.test import override_settings

from orders.audit import order_problems
from orders.models import GatewayLedgerEntry, Order, OrderEvent, Payment
from orders.providers.base import Call
from orders.temporal import client as order_client
from tests.backends.journal import JournalCarrier, JournalGateway
from tests.conftest import fast_retries, wait_for_status, wait_for_workflow_closed
from tests.e2e.test_e2e import order_request, trail
from workflows.types import CancelCodes, FaultSettings, Roles

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Event = OrderEvent.Type
FINAL = Order.terminal_statuses()


def ledger(order_id: str) -> dict:
    return dict(GatewayLedgerEntry.objects.filter(order_id=order_id).values_list("payment_id", "state"))


def payments(order_id: str) -> dict:
    return dict(Payment.objects.filter(order_id=order_id).values_list("payment_id", "status"))


def sound(*order_ids: str) -> bool:
    for order_id in order_ids:
        wait_for_workflow_closed(order_id)
    return order_problems(order_ids, order_client.order_workflows(list(order_ids))) == {}


def test_a_declined_card_ends_the_order_before_review(start_worker):
    start_worker()
    order_client.start_order(**order_request("hold-decline"), payment_id="decline-hold-1")
    order = wait_for_status("hold-decline", FINAL)

    assert order.status == Order.Status.PAYMENT_FAILED and "declined" in order.status_reason
    assert trail("hold-decline") == [Event.RECEIVED, Event.VALIDATED, Event.PAYMENT_DECLINED]
    assert order.review_started_at is None  # it never reached the queue
    assert ledger("hold-decline") == {} and payments("hold-decline") == {"decline-hold-1": "declined"}
    assert sound("hold-decline")


def test_cancels_and_a_review_timeout_void_the_hold_and_refund_nothing(start_worker, live_temporal):
    start_worker()
    for order_id in ("hold-reviewer", "hold-client"):
        order_client.start_order(**order_request(order_id, customer_email=f"{order_id}@example.com"))
    live_temporal.REVIEW_ESCALATE_AFTER, live_temporal.REVIEW_TIMEOUT = 1, 2
    order_client.start_order(**order_request("hold-timeout", customer_email="timeout@example.com"))
    for order_id in ("hold-reviewer", "hold-client"):
        order = wait_for_status(order_id, Order.Status.AWAITING_REVIEW)
        held = Payment.objects.get(order=order)
        assert (held.status, held.amount) == ("authorized", order.amount) and held.expires_at > order.created_at

    order_client.cancel("hold-reviewer", actor="rita", code=CancelCodes.OUT_OF_STOCK)
    order_client.cancel("hold-client", actor="shop", reason="customer withdrew", role=Roles.CLIENT)
    for order_id in ("hold-reviewer", "hold-client", "hold-timeout"):
        order = wait_for_status(order_id, FINAL, timeout=30)
        assert order.status == Order.Status.CANCELLED, (order_id, order.status_reason)
        assert trail(order_id)[-2:] == [Event.PAYMENT_VOIDED, Event.CANCELLED]
        voided = OrderEvent.objects.get(order=order, type=Event.PAYMENT_VOIDED)
        assert voided.payload["cause"] == "released"
        assert ledger(order_id) == payments(order_id) == {f"pay-{order_id}": "voided"}
        assert Event.PAYMENT_REFUNDED not in trail(order_id)
    assert Order.objects.get(pk="hold-timeout").decided_by == "system"
    assert sound("hold-reviewer", "hold-client", "hold-timeout")


def test_the_risk_policy_cancels_before_authorizing_and_approves_with_a_capture_at_once(start_worker):
    start_worker()
    with override_settings(RISK_AUTO_CANCEL_FROM=10, RISK_AUTO_APPROVE_BELOW=5):
        order_client.start_order(**order_request("hold-policy-cancel"))
    with override_settings(RISK_AUTO_APPROVE_BELOW=30):
        order_client.start_order(**order_request("hold-policy-approve", customer_email="grace@example.org"))

    cancelled = wait_for_status("hold-policy-cancel", FINAL)
    approved = wait_for_status("hold-policy-approve", FINAL)

    assert cancelled.status == Order.Status.CANCELLED and cancelled.decided_by == "policy"
    assert ledger("hold-policy-cancel") == {} and payments("hold-policy-cancel") == {}
    assert approved.status == Order.Status.COMPLETED and approved.decided_by == "policy"
    assert trail("hold-policy-approve")[:5] == [
        Event.RECEIVED, Event.VALIDATED, Event.PAYMENT_AUTHORIZED, Event.APPROVED, Event.PAYMENT_CAPTURED
    ]
    assert ledger("hold-policy-approve") == {"pay-hold-policy-approve": "captured"}
    assert sound("hold-policy-cancel", "hold-policy-approve")


def test_lost_replies_at_authorize_capture_and_void_are_settled_by_key(start_worker, live_temporal):
    """Every call is done at the gateway, then its reply lost: the hold is found by its key and kept, the capture
    found and kept (one), the void found and recorded."""
    fast_retries(live_temporal)
    start_worker()
    lost = FaultSettings(lost_reply_rate=1.0)
    order_client.start_order(**order_request("hold-lost-paid"), faults=lost)
    order_client.start_order(**order_request("hold-lost-void", customer_email="void@example.com"), faults=lost)
    for order_id in ("hold-lost-paid", "hold-lost-void"):
        wait_for_status(order_id, Order.Status.AWAITING_REVIEW, timeout=60)
    order_client.approve("hold-lost-paid", actor="rita")
    order_client.cancel("hold-lost-void", actor="rita", code=CancelCodes.OUT_OF_STOCK)

    paid = wait_for_status("hold-lost-paid", FINAL, timeout=120)
    voided = wait_for_status("hold-lost-void", FINAL, timeout=60)

    assert paid.status == Order.Status.COMPLETED, paid.status_reason
    assert ledger("hold-lost-paid") == payments("hold-lost-paid") == {"pay-hold-lost-paid": "captured"}
    assert voided.status == Order.Status.CANCELLED, voided.status_reason
    assert ledger("hold-lost-void") == payments("hold-lost-void") == {"pay-hold-lost-void": "voided"}
    assert sound("hold-lost-paid", "hold-lost-void")


def _wait_past(seconds: float, order_id: str) -> None:
    wait_for_status(order_id, Order.Status.AWAITING_REVIEW)
    time.sleep(seconds)


def test_a_review_that_outlasts_the_hold_reauthorizes_and_captures_once(start_worker, live_temporal):
    start_worker(PAYMENT_AUTHORIZATION_VALID_FOR="2")
    live_temporal.PAYMENT_AUTHORIZATION_VALID_FOR = 2
    order_client.start_order(**order_request("hold-lapsed"))
    order_client.start_order(**order_request("hold-lapsed-declined", customer_email="lapsed@example.com"), payment_id="lapsed-hold-2")
    _wait_past(2.5, "hold-lapsed")
    _wait_past(0, "hold-lapsed-declined")
    order_client.approve("hold-lapsed", actor="rita")
    order_client.approve("hold-lapsed-declined", actor="rita")

    order = wait_for_status("hold-lapsed", FINAL, timeout=60)
    declined = wait_for_status("hold-lapsed-declined", FINAL, timeout=60)

    again = "pay-hold-lapsed:reauth:1"
    assert order.status == Order.Status.COMPLETED, order.status_reason
    assert trail("hold-lapsed")[2:7] == [
        Event.PAYMENT_AUTHORIZED, Event.APPROVED, Event.AUTHORIZATION_EXPIRED, Event.PAYMENT_REAUTHORIZED, Event.PAYMENT_CAPTURED
    ]
    assert ledger("hold-lapsed") == payments("hold-lapsed") == {"pay-hold-lapsed": "expired", again: "captured"}
    assert declined.status == Order.Status.PAYMENT_FAILED and "declined" in declined.status_reason
    assert payments("hold-lapsed-declined") == {"lapsed-hold-2": "expired", "lapsed-hold-2:reauth:1": "declined"}
    assert sound("hold-lapsed", "hold-lapsed-declined")


def test_a_capture_the_gateway_answers_expired_reauthorizes(start_worker):
    start_worker(PAYMENT_GATEWAY_OPTIONS=json.dumps({"authorization_valid_for": 1}))
    order_client.start_order(**order_request("hold-gateway-expired"))
    _wait_past(1.5, "hold-gateway-expired")
    order_client.approve("hold-gateway-expired", actor="rita")
    order = wait_for_status("hold-gateway-expired", FINAL, timeout=60)

    assert order.status == Order.Status.COMPLETED, order.status_reason
    assert ledger("hold-gateway-expired") == {"pay-hold-gateway-expired": "expired", "pay-hold-gateway-expired:reauth:1": "captured"}
    assert sound("hold-gateway-expired")


def test_an_order_through_a_second_backend(start_worker, tmp_path):
    """The journal backend (tests/backends/journal.py) keeps its own books in a file: the order is held,
    captured and shipped there, and the simulator's ledger never hears of it."""
    books = str(tmp_path / "books.jsonl")
    start_worker(
        PAYMENT_GATEWAY_BACKEND="tests.backends.journal.JournalGateway",
        PAYMENT_GATEWAY_OPTIONS=json.dumps({"path": books}),
        CARRIER_BACKEND="tests.backends.journal.JournalCarrier",
        CARRIER_OPTIONS=json.dumps({"path": books}),
    )
    order_client.start_order(**order_request("hold-journal"))
    wait_for_status("hold-journal", Order.Status.AWAITING_REVIEW)
    order_client.approve("hold-journal", actor="rita")
    order = wait_for_status("hold-journal", FINAL)


    assert order.status == Order.Status.COMPLETED and order.tracking_number
    assert JournalGateway(path=books).lookup(Call("pay-hold-journal")).state == "captured"
    assert JournalCarrier(path=books).lookup(Call("SHIP-hold-journal")).tracking_number == order.tracking_number
    assert ledger("hold-journal") == {} and payments("hold-journal") == {"pay-hold-journal": "captured"}
