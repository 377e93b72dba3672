"""Risk on the review desk in a real browser (Playwright driving Debian's Chromium) against the real stack: orders
scored by the real workflows, a reviewer who sees why an order is waiting and its related orders, sorts the queue
by risk and filters it by band, and a lead who marks a cancelled order as fraud. The queue and the order page are
photographed at 1280 and 1920 px wide into artifacts/screenshots/ and checked for overlaps and cut-off columns."""

import pytest

from orders.models import Order, OrderEvent
from orders.templatetags.review_admin import ROUTES
from orders.temporal import client as order_client
from tests.admin.test_browser_review_desk import desk, order_page  # noqa: F401 (desk is a fixture)
from tests.conftest import SCREENSHOTS, log_in, wait_for_status
from tests.e2e.test_e2e import order_request

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 1920)


def customer(n: int, name: str, email: str) -> dict:
    """A customer of its own (name, email and address), so that only what a test means to link is linked."""
    address = {"name": name, "line1": f"{n} Risk Row", "line2": "", "city": "Leeds", "postal_code": f"LS{n} 1AA", "country": "GB"}
    return {"customer_name": name, "customer_email": email, "shipping_address": address}


def start(order_id: str, who: dict) -> Order:
    order_client.start_order(**order_request(order_id, **who))
    return wait_for_status(order_id, Order.Status.AWAITING_REVIEW)


@pytest.fixture
def scored_orders(desk):  # noqa: F811
    """A cancelled order a reviewer suspected of fraud, and three waiting: one from the same customer (high risk),
    one from a disposable email (medium), one from an ordinary customer (low)."""
    mallory = customer(1, "Mallory Moss", "mallory@mailinator.com")
    start("risk-old", mallory)
    assert order_client.cancel("risk-old", actor="reviewer", code="suspected_fraud", note="card used in three countries").accepted
    wait_for_status("risk-old", Order.Status.CANCELLED)
    start("risk-high", {**mallory, "customer_email": "mallory+again@mailinator.com"})
    start("risk-mid", customer(2, "Trent Tate", "trent@mailinator.com"))
    start("risk-low", customer(3, "Alice Ash", "alice@example.com"))
    bands = dict(Order.objects.filter(pk__in=["risk-high", "risk-mid", "risk-low"]).values_list("pk", "risk_band"))
    assert bands == {"risk-high": "high", "risk-mid": "medium", "risk-low": "low"}, f"the risk rules scored otherwise: {bands}"
    return desk


def fits(page) -> None:
    """Nothing wider than the window, and every column of the queue in sight (the admin scrolls a wide table
    inside its own box, which hides the right-hand columns)."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth,"
        " ...Array.from(document.querySelectorAll('#changelist-form .results, .risk-desk > .module'), e => e.scrollWidth - e.clientWidth)]"
    )
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"
    assert all(extra <= 0 for extra in widths[2:]), f"a box hides {max(widths[2:])} px of its content"


def apart(page, *selectors: str) -> None:
    boxes = [(s, page.locator(s).first.bounding_box()) for s in selectors]
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            overlap = (
                box_a["x"] < box_b["x"] + box_b["width"] and box_b["x"] < box_a["x"] + box_a["width"]
                and box_a["y"] < box_b["y"] + box_b["height"] and box_b["y"] < box_a["y"] + box_a["height"]
            )
            assert not overlap, f"{a} {box_a} overlaps {b} {box_b}"


def queue_ids(page) -> list[str]:
    return page.locator("#result_list tbody th.field-id a").all_inner_texts()


def test_a_reviewer_sees_why_and_sorts_and_filters_by_risk_and_a_lead_marks_fraud(browser, scored_orders):
    live = scored_orders
    rita = log_in(browser, live, "reviewer", "reviewer")

    # The queue: the risk column, sorted by score (both ways), then only the high band.
    rita.goto(f"{live.url}/admin/orders/reviewqueueorder/")
    for width in WIDTHS:
        rita.set_viewport_size({"width": width, "height": 900})
        fits(rita)
        rita.screenshot(path=SCREENSHOTS / f"risk-queue-{width}.png", full_page=True)
    badges = {b.get_attribute("data-band") for b in rita.locator("#result_list td.field-risk .risk-badge").all()}
    rita.click("#result_list th.column-risk div.text a")
    rita.wait_for_url("**o=4*")
    lowest_first = queue_ids(rita)
    rita.click("#result_list th.column-risk div.text a")
    rita.wait_for_url("**o=-4*")
    highest_first = queue_ids(rita)
    rita.click("#changelist-filter details[data-filter-title='risk band'] a:text-is('High')")
    rita.wait_for_url("**risk_band__exact=high*")
    high_only = queue_ids(rita)
    rita.set_viewport_size({"width": 1280, "height": 900})
    rita.screenshot(path=SCREENSHOTS / "risk-queue-high-band.png", full_page=True)

    # The order page: why it is here, the related orders, and no fraud buttons for a reviewer.
    order_page(rita, live, "risk-high")
    why = rita.inner_text("#risk-why")
    related = rita.inner_text("#related-orders")
    old_row = rita.inner_text("#related-orders tr[data-order='risk-old']")
    for width in WIDTHS:
        rita.set_viewport_size({"width": width, "height": 900})
        fits(rita)
        apart(rita, "#content > h2", "#content-main > .object-tools", ".review-shortcuts", "#risk-why")
        rita.screenshot(path=SCREENSHOTS / f"risk-order-{width}.png", full_page=True)
    rita.click("#related-orders a:text-is('risk-old')")
    rita.wait_for_url("**/risk-old/change/")
    reviewer_controls = rita.locator("#fraud-feedback").count()

    # The lead marks the cancelled order as fraud confirmed.
    lead = log_in(browser, live, "lead", "lead")
    order_page(lead, live, "risk-old")
    lead.fill("#fraud-note", "chargeback received")
    lead.click("#fraud-feedback button.fraud-confirmed")
    marked = lead.inner_text("ul.messagelist")
    mark_shown = lead.inner_text("#fraud-mark")
    lead.set_viewport_size({"width": 1280, "height": 900})
    lead.screenshot(path=SCREENSHOTS / "risk-fraud-marked.png", full_page=True)

    waiting = Order.objects.filter(pk__in=["risk-high", "risk-mid", "risk-low"])
    assert badges == {"high", "medium", "low"}
    assert lowest_first == list(waiting.order_by("risk_score").values_list("pk", flat=True)) == ["risk-low", "risk-mid", "risk-high"]
    assert highest_first == ["risk-high", "risk-mid", "risk-low"]
    assert high_only == ["risk-high"]
    high = Order.objects.get(pk="risk-high")
    assert f"{high.risk_score} high" in why and "Not decided yet" in why
    assert f"{ROUTES[high.risk_route]} (a suggestion: this order waits for a person)" in why
    assert high.risk_signals and all(signal["text"] in why for signal in high.risk_signals)
    assert any(signal["name"].startswith("fraud_history") for signal in high.risk_signals)
    assert "risk-old" in related and "risk-mid" not in related and "risk-low" not in related
    assert "Cancelled" in old_row and "Suspected" in old_row and "email and address" in old_row
    assert reviewer_controls == 0
    assert marked == "Marked fraud confirmed: risk-old." and mark_shown == "Fraud confirmed"
    old = Order.objects.get(pk="risk-old")
    event = OrderEvent.objects.get(order=old, type=OrderEvent.Type.FRAUD_CONFIRMED)
    assert old.fraud == Order.Fraud.CONFIRMED and event.actor == "lead" and event.payload["note"] == "chargeback received"
