"""Holds on the review desk, through Django's test client: the order page shows the hold (amount, state, when it
lapses) and the payments with their expiry; the queue's "Hold expires" column, sortable, costs no query per row."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import services
from orders.models import Order, Payment, ReviewQueueOrder
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def held(order_id: str, expires_in: timedelta, **fields) -> Order:
    """An order whose amount was authorized, and so is awaiting review (through the service the workflow uses)."""
    order = OrderFactory(id=order_id, **fields)
    services.payment_authorize(
        order_id=order.id, payment_id=order.payment_id, amount=order.amount, currency=order.currency,
        provider_reference=f"au_{order.id}", expires_at=timezone.now() + expires_in,
    )
    return Order.objects.get(pk=order.id)


def queue_column() -> int:
    return admin.site._registry[ReviewQueueOrder].list_display.index("hold_expires") + 1


def test_the_order_page_shows_the_open_hold_and_its_expiry(reviewer_browser):
    order = held("hold-page", timedelta(days=6, hours=23))
    expires_at = Payment.objects.get(pk=order.payment_id).expires_at

    page = reviewer_browser.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert '<span class="hold" data-state="authorized">28.99 USD, Authorized (held)</span>' in page
    assert "expires in 6" in page and f"{expires_at:%Y-%m-%d %H:%M} UTC" in page
    assert "Expires at" in page  # the payments' own column
    assert "Payment authorized (held)" in page  # the timeline's label, from the event choices


def test_the_order_page_shows_the_newest_hold_after_a_reauthorization(reviewer_browser):
    order = held("hold-reauth", timedelta(seconds=-60))
    services.payment_expire(order_id=order.id, payment_id=order.payment_id)
    services.payment_authorize(
        order_id=order.id, payment_id=f"{order.payment_id}:reauth:1", amount=order.amount, currency="USD",
        provider_reference="au_2", expires_at=timezone.now() + timedelta(days=7), replaces=order.payment_id,
    )

    page = reviewer_browser.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert page.count('class="hold"') == 1 and 'data-state="authorized"' in page
    assert "Authorization expired" in page and "Payment re-authorized" in page


def test_a_lapsed_hold_is_shown_in_red_and_an_ended_one_without_a_countdown(reviewer_browser):
    lapsed = held("hold-lapsed", timedelta(hours=-2))
    released = held("hold-released", timedelta(days=7))
    services.payment_release(order_id=released.id, payment_id=released.payment_id, reason="customer asked")

    lapsed_page = reviewer_browser.get(f"/admin/orders/order/{lapsed.pk}/change/").content.decode()
    released_page = reviewer_browser.get(f"/admin/orders/order/{released.pk}/change/").content.decode()

    assert 'class="overdue"' in lapsed_page and "lapsed 2" in lapsed_page
    assert '<span class="hold" data-state="voided">28.99 USD, Voided</span>' in released_page
    assert "expires in" not in released_page


def test_an_order_without_a_hold_says_so(reviewer_browser):
    order = OrderFactory(id="hold-none", status=Order.Status.AWAITING_REVIEW)

    response = reviewer_browser.get(f"/admin/orders/order/{order.pk}/change/")

    assert response.status_code == 200 and 'class="hold"' not in response.content.decode()


def test_the_queue_shows_when_each_hold_lapses_and_sorts_by_it(reviewer_browser):
    soon = held("hold-q-soon", timedelta(hours=3))
    later = held("hold-q-later", timedelta(days=5))
    OrderFactory(id="hold-q-none", status=Order.Status.AWAITING_REVIEW)
    expires_at = Payment.objects.get(pk=soon.payment_id).expires_at

    response = reviewer_browser.get("/admin/orders/reviewqueueorder/")
    by_expiry = reviewer_browser.get(f"/admin/orders/reviewqueueorder/?o={queue_column()}").context["cl"].result_list
    page = response.content.decode()

    assert "Hold expires" in page
    assert f"<small>{expires_at:%Y-%m-%d %H:%M} UTC</small>" in page
    assert "expires in 2" in page and "expires in 4" in page
    rows = {o.pk: o.hold_expires_at for o in response.context["cl"].result_list}
    assert rows["hold-q-none"] is None and rows[soon.pk] < rows[later.pk]
    assert [o.pk for o in by_expiry][:2] == [soon.pk, later.pk]


def test_the_queue_column_is_the_newest_open_hold(reviewer_browser):
    order = held("hold-q-reauth", timedelta(days=1))
    newer = timezone.now() + timedelta(days=7)
    services.payment_expire(order_id=order.id, payment_id=order.payment_id)
    services.payment_authorize(
        order_id=order.id, payment_id=f"{order.payment_id}:reauth:1", amount=order.amount, currency="USD",
        provider_reference="au_2", expires_at=newer, replaces=order.payment_id,
    )

    rows = reviewer_browser.get("/admin/orders/reviewqueueorder/").context["cl"].result_list

    assert [o.hold_expires_at for o in rows] == [Payment.objects.get(pk=f"{order.payment_id}:reauth:1").expires_at]


def test_the_queue_column_costs_no_query_per_row(reviewer_browser):
    held("hold-cost-0", timedelta(days=2))
    with CaptureQueriesContext(connection) as one:
        reviewer_browser.get("/admin/orders/reviewqueueorder/")
    for n in range(1, 6):
        held(f"hold-cost-{n}", timedelta(days=2, hours=n))
    with CaptureQueriesContext(connection) as six:
        page = reviewer_browser.get("/admin/orders/reviewqueueorder/").content.decode()

    assert page.count("expires in ") == 6
    assert len(six) == len(one)
