"""The review desk in a real browser (Playwright driving Debian's Chromium) against the real stack: claims, four-eyes,
approve & next with the keyboard, the dashboard, and a bulk approval of 200 orders. Screenshots land in
artifacts/screenshots/."""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command
from django.db import connection

from orders.models import Order, OrderEvent
from orders.temporal import client as order_client
from tests.conftest import SCREENSHOTS, log_in, wait_for_status
from tests.e2e.test_e2e import order_request

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BULK_ORDERS = 200
GUNICORN_TIMEOUT = 30  # what "in time" means for a page: before gunicorn's default worker timeout


@pytest.fixture
def desk(live_server, start_worker, roles):
    start_worker()
    call_command("create_demo_users", stdout=open(os.devnull, "w"))
    return live_server


def waiting_orders(*order_ids):
    def start(order_id):
        try:
            order_client.start_order(**order_request(order_id))
        finally:
            connection.close()

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(start, order_ids))
    for order_id in order_ids:
        wait_for_status(order_id, Order.Status.AWAITING_REVIEW)


def order_page(page, live_server, order_id):
    page.goto(f"{live_server.url}/admin/orders/order/{order_id}/change/")


def test_a_claim_refuses_another_reviewers_decision(browser, desk):
    waiting_orders("desk-claim")
    rita = log_in(browser, desk, "reviewer", "reviewer")
    order_page(rita, desk, "desk-claim")
    rita.click("button.review-claim")
    claimed = rita.inner_text("ul.messagelist")

    bob = log_in(browser, desk, "reviewer2", "reviewer2")
    order_page(bob, desk, "desk-claim")
    warning = bob.inner_text(".review-shortcuts")
    bob.click("button.review-approve")
    refused = bob.inner_text("ul.messagelist")
    bob.screenshot(path=SCREENSHOTS / "claim-refused.png", full_page=True)

    rita.goto(f"{desk.url}/admin/orders/reviewqueueorder/?claim=mine")
    mine = rita.inner_text("#result_list")
    rita.screenshot(path=SCREENSHOTS / "queue-claimed-by-me.png", full_page=True)

    assert claimed == "Claimed: desk-claim."
    assert "Claimed by reviewer" in warning
    assert refused.startswith("Not approved (claimed by reviewer until ") and refused.endswith(" UTC): desk-claim.")
    assert "desk-claim" in mine and "reviewer" in mine
    assert Order.objects.get(pk="desk-claim").status == Order.Status.AWAITING_REVIEW
    assert OrderEvent.objects.filter(order_id="desk-claim", type="claimed", actor="reviewer").exists()


def test_four_eyes_with_two_reviewers(browser, desk, live_temporal):
    live_temporal.FOUR_EYES_AMOUNT = "20.00"  # the order amounts to 28.99
    waiting_orders("desk-4e")
    rita = log_in(browser, desk, "reviewer", "reviewer")
    order_page(rita, desk, "desk-4e")
    rita.fill("#approve-form input[name=note]", "address checked")
    rita.click("button.review-approve")
    first = rita.inner_text("ul.messagelist")
    halfway = rita.inner_text(".status-badge")
    rita.click("button.review-approve")
    again = rita.inner_text("ul.messagelist")
    rita.screenshot(path=SCREENSHOTS / "four-eyes-first-approval.png", full_page=True)

    bob = log_in(browser, desk, "reviewer2", "reviewer2")
    order_page(bob, desk, "desk-4e")
    bob.click("button.review-approve")
    second = bob.inner_text("ul.messagelist")
    order = wait_for_status("desk-4e", Order.Status.COMPLETED)

    assert first == "Approved 1 of 2 (a second reviewer must approve): desk-4e."
    assert halfway == "Awaiting review (approved 1 of 2)"
    assert again == "Not approved (already approved by reviewer; a second reviewer must approve): desk-4e."
    assert second == "Approved: desk-4e."
    assert order.approvals == ["reviewer", "reviewer2"] and order.reviewer == "reviewer2"
    recorded = OrderEvent.objects.get(order_id="desk-4e", type="approval_recorded")
    assert (recorded.actor, recorded.payload["note"]) == ("reviewer", "address checked")
    assert OrderEvent.objects.get(order_id="desk-4e", type="approved").payload["approvers"] == ["reviewer", "reviewer2"]


def test_approve_and_next_with_the_keyboard_then_the_dashboard(browser, desk):
    waiting_orders("desk-n1")
    waiting_orders("desk-n2")
    waiting_orders("desk-n3")
    rita = log_in(browser, desk, "reviewer", "reviewer")
    order_page(rita, desk, "desk-n1")
    shortcuts = rita.inner_text(".review-shortcuts")

    rita.click("button.review-approve-next")
    after_first = (rita.url, rita.inner_text("ul.messagelist"))
    rita.keyboard.press("a")  # approve desk-n2 where we landed
    rita.wait_for_selector("ul.messagelist")
    after_key = rita.inner_text("ul.messagelist")
    rita.keyboard.press("n")  # the next order: the only one left
    rita.wait_for_url("**/desk-n3/change/")
    rita.click("a.review-cancel-next")
    rita.select_option("#id_reason_code", "suspected_fraud")
    rita.fill("#id_note", "card used in three countries")
    rita.click("input.submit-and-next")
    empty = rita.inner_text("ul.messagelist")

    rita.goto(f"{desk.url}/admin/")
    rita.click("#review-dashboard-link")
    rita.wait_for_selector("#review-dashboard")
    figures = {k: rita.inner_text(f"#{k}") for k in ("queue-depth", "decisions-today", "time-to-decision")}
    reviewers = rita.inner_text("#per-reviewer")
    bars = rita.locator("#review-chart rect.bar").count()
    rita.screenshot(path=SCREENSHOTS / "review-dashboard.png", full_page=True)

    assert "a approve" in shortcuts and "c cancel" in shortcuts and "n next order" in shortcuts
    assert after_first[0].endswith("/admin/orders/order/desk-n2/change/") and after_first[1] == "Approved: desk-n1."
    assert after_key == "Approved: desk-n2."
    assert "Cancelled: desk-n3." in empty and "The review queue is empty." in empty
    assert OrderEvent.objects.get(order_id="desk-n3", type="cancelled").payload["code"] == "suspected_fraud"
    assert figures["queue-depth"] == "0" and figures["decisions-today"] == "3"
    assert "over 3 decisions" in figures["time-to-decision"]
    assert "reviewer" in reviewers and "3" in reviewers
    assert bars == 24


def settle(ids: list[str], quiet: float = 3.0, timeout: float = 60.0) -> None:
    """Wait until the rows of approvals still processing have caught up with their workflows (no order has left
    review for `quiet` seconds), so that the next round selects only orders that truly still wait."""
    deadline = time.monotonic() + timeout
    waiting, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = Order.objects.filter(pk__in=ids, status=Order.Status.AWAITING_REVIEW).count()
        if now != waiting:
            waiting, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.5)


def test_bulk_approval_of_200_orders_answers_in_time(browser, desk):
    """"Select all" across pages, approve: the page answers in time with every order accounted for (approved,
    still processing, or not taken in time: try again). More orders than are sent at once: the decisions come first
    and their effects follow, so one action takes them all; nothing is refused, and every approval goes through."""
    ids = [f"bulk-{n:03d}" for n in range(BULK_ORDERS)]
    waiting_orders(*ids)
    rita = log_in(browser, desk, "reviewer", "reviewer")
    rounds = []
    while Order.objects.filter(pk__in=ids, status=Order.Status.AWAITING_REVIEW).exists() and len(rounds) < 4:
        left = Order.objects.filter(pk__in=ids, status=Order.Status.AWAITING_REVIEW).count()
        rita.goto(f"{desk.url}/admin/orders/reviewqueueorder/")
        rita.check("#action-toggle")
        if left > 50:  # more than one page: select them all, across pages
            rita.click(f"text=Select all {left}")
        rita.select_option("select[name=action]", "approve_selected")
        began = time.monotonic()
        with rita.expect_response(lambda r: r.request.method == "POST" and "/reviewqueueorder/" in r.url) as answer:
            rita.click("button[name=index]")
        rounds.append((left, answer.value.status, time.monotonic() - began, rita.inner_text("ul.messagelist")))
        if len(rounds) == 1:
            rita.screenshot(path=SCREENSHOTS / "bulk-approval.png", full_page=True)
        settle(ids)

    assert rounds[0][0] == BULK_ORDERS and len(rounds) == 1, [r[:3] for r in rounds]
    assert "Outcome unknown" not in rounds[0][3], rounds[0][3]
    for left, status, seconds, messages in rounds:
        assert status < 500 and seconds < GUNICORN_TIMEOUT, (left, status, seconds)
        assert "Not approved" not in messages, messages
        assert messages.startswith(("Approved: bulk-", "Accepted, still processing: bulk-")), messages
    # Every accepted approval goes through, to the end of the order.
    deadline = time.monotonic() + 240
    while Order.objects.filter(pk__in=ids, status=Order.Status.COMPLETED).count() < BULK_ORDERS:
        assert time.monotonic() < deadline, "not every approved order completed"
        time.sleep(1)
    assert OrderEvent.objects.filter(order_id__in=ids, type="approved").count() == BULK_ORDERS
