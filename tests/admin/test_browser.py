"""A reviewer's session in a real browser (Playwright driving Debian's Chromium) against the real stack: a live
server, worker processes, the Temporal dev server and the database. Screenshots land in artifacts/screenshots/."""

import os

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command

from orders.models import Order, OrderEvent, Payment
from orders.temporal import client as order_client
from tests.conftest import SCREENSHOTS, log_in, wait_for_status
from tests.e2e.test_e2e import order_request

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

def test_reviewer_session(browser, live_server, start_worker, roles):
    start_worker()
    call_command("create_demo_users", stdout=open(os.devnull, "w"))
    for order_id in ("web-1", "web-2"):
        order_client.start_order(**order_request(order_id))
        wait_for_status(order_id, Order.Status.AWAITING_REVIEW)

    page = log_in(browser, live_server, "reviewer", "reviewer")
    assert page.inner_text("#review-queue-count") == "2"

    # The queue, and approving with the list action.
    page.click("text=Review queue")
    page.wait_for_selector("#result_list")
    page.screenshot(path=SCREENSHOTS / "review-queue.png", full_page=True)
    page.check("input[name=_selected_action][value=web-1]")
    page.select_option("select[name=action]", "approve_selected")
    page.click("button[name=index]")
    assert page.inner_text("ul.messagelist") == "Approved: web-1."
    page.screenshot(path=SCREENSHOTS / "approve-result.png", full_page=True)

    # After a reload, the order is completed, with its payment and full timeline.
    wait_for_status("web-1", Order.Status.COMPLETED)
    page.goto(f"{live_server.url}/admin/orders/order/web-1/change/")
    assert page.get_attribute(".status-badge", "data-status") == "completed"
    assert Payment.objects.get(order_id="web-1").payment_id in page.inner_text("#payments-group")
    timeline = page.locator("tr.timeline-event")
    assert [timeline.nth(i).get_attribute("data-type") for i in range(timeline.count())] == [
        "received",
        "validated",
        "payment_authorized",
        "approved",
        "payment_captured",
        "shipping_started",
        "package_prepared",
        "dispatched",
        "completed",
    ]
    assert page.locator('tr.timeline-event[data-type="approved"] .timeline-actor').inner_text() == "reviewer"
    page.locator("#timeline").screenshot(path=SCREENSHOTS / "timeline.png")

    # Cancelling a second order from its change page, with a reason.
    page.goto(f"{live_server.url}/admin/orders/order/web-2/change/")
    page.click("a.review-cancel")
    page.select_option("#id_reason_code", "other")
    page.click("input[type=submit]")
    assert "The reason code other needs a note." in page.inner_text(".errorlist")  # refused before anything is sent
    page.select_option("#id_reason_code", "customer_request")
    page.fill("#id_note", "customer called to cancel")
    page.screenshot(path=SCREENSHOTS / "cancel-with-reason-code.png", full_page=True)
    page.click("input[type=submit]")
    assert page.inner_text("ul.messagelist") == "Cancelled: web-2."
    page.reload()
    assert page.get_attribute(".status-badge", "data-status") == "cancelled"
    cancelled = page.locator('tr.timeline-event[data-type="cancelled"]')
    assert "Customer request: customer called to cancel" in cancelled.inner_text() and "reviewer" in cancelled.inner_text()
    assert "code: customer_request" in cancelled.inner_text()
    assert page.locator("button.review-approve").count() == 0

    # Approving the cancelled order anyway gives the truthful refusal.
    page.goto(f"{live_server.url}/admin/orders/order/")
    page.check("input[name=_selected_action][value=web-2]")
    page.select_option("select[name=action]", "approve_selected")
    page.click("button[name=index]")
    assert page.inner_text("ul.messagelist") == "Not approved (order already cancelled): web-2."
    assert OrderEvent.objects.filter(order_id="web-2", type="approved").count() == 0
    page.close()


def test_staff_without_review_permission_sees_no_review_actions(browser, live_server, roles):
    clerk = User.objects.create_user("clerk", password="clerk-pass-1", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    Order.objects.create(
        id="web-3", customer_name="A", customer_email="a@example.com", payment_id="pay-web-3", fingerprint="x",
        status=Order.Status.AWAITING_REVIEW,
    )

    page = log_in(browser, live_server, "clerk", "clerk-pass-1")
    page.goto(f"{live_server.url}/admin/orders/order/")
    assert "web-3" in page.inner_text("#result_list")
    options = page.locator("select[name=action] option").all_inner_texts() if page.locator("select[name=action]").count() else []
    page.goto(f"{live_server.url}/admin/orders/order/web-3/change/")

    assert not any("Approve" in o or "Cancel" in o for o in options)
    assert page.locator("button.review-approve, a.review-cancel, a.review-update-address").count() == 0
    page.screenshot(path=SCREENSHOTS / "clerk-view.png", full_page=True)
    page.close()
