"""Every value fits the column it lands in: the limits come from the columns, texts built from several parts are cut
to fit, and the services store whatever passed an entry point (on PostgreSQL, which enforces the lengths)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders import events, limits, services
from orders.models import Order, OrderEvent, Payment
from orders.temporal import client as order_client
from tests.conftest import wait_for_status
from tests.e2e.test_e2e import order_request
from tests.factories import OrderFactory
from tests.unit.test_services import order_input
from workflows.names import PAYMENT_ID_MAX_LENGTH
from workflows.types import REASON_MAX_LENGTH, CancelCodes, OrderItem, Roles, default_payment_id

pytestmark = pytest.mark.django_db

Status = Order.Status


def test_limits_are_the_columns():
    assert limits.STATUS_REASON == Order._meta.get_field("status_reason").max_length == REASON_MAX_LENGTH
    assert limits.CUSTOMER_EMAIL == 254 and limits.ORDER_ID == 64 and limits.EVENT_KEY == 200
    assert limits.ACTOR == 150
    assert limits.PAYMENT_ID == PAYMENT_ID_MAX_LENGTH


@pytest.mark.parametrize("length", [1, 60, 61, 64])
def test_the_default_payment_id_fits_its_column_for_every_order_id(length):
    order_id = "o" * length
    payment_id = default_payment_id(order_id)
    assert len(payment_id) <= limits.PAYMENT_ID and payment_id == default_payment_id(order_id)
    assert payment_id == f"pay-{order_id}" if length <= 60 else payment_id.startswith("pay-")


@pytest.mark.parametrize("code", list(CancelCodes.LABELS))
def test_a_cancel_text_always_fits_the_reason_column(code):
    assert len(CancelCodes.text(code, "n" * limits.NOTE)) <= limits.STATUS_REASON
    assert CancelCodes.text(code, "n" * limits.NOTE).endswith("n")  # a note within NOTE is never cut
    assert len(CancelCodes.text(code, "n" * 5000)) == limits.STATUS_REASON
    assert CancelCodes.text(code, "n" * 5000).endswith(limits.ELLIPSIS)
    assert len(CancelCodes.text("", "", reason="r" * 5000)) == limits.STATUS_REASON


def test_fit_and_unstorable():
    assert limits.fit("short", 10) == "short"
    assert limits.fit("abcdefghij-and-more", 10) == "abcdefghi…"
    assert limits.unstorable({"note": ["fine", "a\x00b"]}) == "contains a NUL character"
    assert limits.unstorable("a\ud800b") and not limits.unstorable("tab\tand ünïcödé ✓")
    assert limits.storable({"k": ["a\x00b"]}) == {"k": ["a\ufffdb"]}


def test_validation_reasons_of_many_items_fit_the_reason_column():
    items = [OrderItem(sku=f"SKU-{n:02}", quantity=0, unit_price="1.00") for n in range(11)]
    services.order_receive(data=order_input("lim-zero", items=items))

    with pytest.raises(services.OrderRejected):
        services.order_validate(order_id="lim-zero")

    order = Order.objects.get(pk="lim-zero")
    assert order.status == Status.REJECTED
    assert len(order.status_reason) == limits.STATUS_REASON and order.status_reason.endswith(limits.ELLIPSIS)
    assert order.status_reason.startswith("item 'SKU-00' has a quantity that is not positive; ")


def test_a_cancel_with_the_longest_note_the_old_entry_points_allowed_is_stored():
    order = OrderFactory(status=Status.AWAITING_REVIEW)
    text = CancelCodes.text(CancelCodes.CUSTOMER_REQUEST, "n" * 500)

    services.order_cancel(order_id=order.id, actor="rita", reason=text, code=CancelCodes.CUSTOMER_REQUEST, note="n" * 500)

    order.refresh_from_db()
    assert order.status == Status.CANCELLED and len(order.status_reason) == limits.STATUS_REASON


def test_any_reason_a_service_is_given_is_cut_to_fit():
    failed = OrderFactory(status=Status.PAID)
    declined = OrderFactory(status=Status.APPROVED)

    services.order_fail(order_id=failed.id, reason="x" * 2000)
    services.payment_decline(order_id=declined.id, payment_id=declined.payment_id, amount="1.00", currency="USD", reason="y" * 2000)

    assert len(Order.objects.get(pk=failed.id).status_reason) == limits.STATUS_REASON
    assert len(Payment.objects.get(pk=declined.payment_id).failure_reason) == limits.FAILURE_REASON


def test_a_long_username_gets_an_event_key_that_fits_and_repeats():
    order = OrderFactory(id="o" * limits.ORDER_ID, payment_id="pay-long", status=Status.AWAITING_REVIEW)
    first, second = "r" * limits.ACTOR, "r" * (limits.ACTOR - 1) + "s"

    services.order_record_approval(order_id=order.id, actor=first, note="", required=2)
    services.order_record_approval(order_id=order.id, actor=first, note="", required=2)  # a retried step

    keys = list(OrderEvent.objects.filter(order=order).values_list("key", flat=True))
    assert len(keys) == 1 and len(keys[0]) <= limits.EVENT_KEY
    assert events.event_key(order.id, "approval_recorded", first) == keys[0]
    assert events.event_key(order.id, "approval_recorded", second) != keys[0]
    assert events.event_key("o-1", "approved") == "o-1:approved"  # keys that fit are as they always were


def test_a_nul_character_in_a_note_does_not_wedge_the_write():
    order = OrderFactory(status=Status.AWAITING_REVIEW)

    services.order_approve(order_id=order.id, actor="rita", note="checked\x00")

    event = OrderEvent.objects.get(order=order, type=OrderEvent.Type.APPROVED)
    assert event.payload["note"] == "checked\ufffd"


@pytest.mark.parametrize(
    "change, named",
    [
        ({"customer_email": "a" * 250 + "@example.com"}, "customer_email"),
        ({"customer_name": "n" * 201}, "customer_name"),
        ({"payment_id": "p" * 65}, "payment_id"),
        ({"customer_name": "Ada\x00"}, "customer_name"),
        ({"items": [OrderItem(sku="A\x00", quantity=1, unit_price="1.00")]}, "items"),
    ],
)
def test_an_order_that_cannot_be_stored_is_rejected_with_the_reason(change, named):
    with pytest.raises(services.OrderRejected, match=named):
        services.order_receive(data=order_input("lim-long", **change))

    assert not Order.objects.filter(pk="lim-long").exists()


def test_an_address_that_cannot_be_stored_is_refused():
    order = OrderFactory(status=Status.AWAITING_REVIEW)
    address = {**order.shipping_address, "line2": "Flat 1\x00"}

    with pytest.raises(services.InvalidTransition, match="NUL"):
        services.order_update_address(order_id=order.id, address=address, actor="rita", sequence=1)


def test_a_clients_cancel_after_approval_keeps_the_review():
    decided_at = timezone.now() - timedelta(minutes=5)
    order = OrderFactory(status=Status.APPROVED, reviewer="rita", decided_at=decided_at)

    services.order_cancel(order_id=order.id, actor="shop", reason="Customer request", code="customer_request", role=Roles.CLIENT)

    order.refresh_from_db()
    assert order.status == Status.CANCELLED
    assert (order.reviewer, order.decided_at) == ("rita", decided_at)


def test_a_clients_cancel_during_review_ends_the_review_without_naming_a_reviewer():
    order = OrderFactory(status=Status.AWAITING_REVIEW)

    services.order_cancel(order_id=order.id, actor="shop", reason="Customer request", code="customer_request", role=Roles.CLIENT)

    order.refresh_from_db()
    assert order.reviewer == "" and order.decided_at is not None


@pytest.mark.e2e
def test_orders_at_the_limits_end_through_the_real_workflow(start_worker):
    """Through the workflow client, past every entry point's check: each order ends, none is wedged."""
    start_worker()
    zero = [{"sku": f"SKU-{n:02}", "quantity": 0, "unit_price": "1.00"} for n in range(11)]
    order_client.start_order(**order_request("lim-e2e-zero", items=zero))
    order_client.start_order(**order_request("lim-e2e-note"))
    wait_for_status("lim-e2e-note", Status.AWAITING_REVIEW)

    order_client.cancel("lim-e2e-note", actor="r" * limits.ACTOR, code=CancelCodes.CUSTOMER_REQUEST, note="n" * 500)

    rejected = wait_for_status("lim-e2e-zero", Status.REJECTED)
    cancelled = wait_for_status("lim-e2e-note", Status.CANCELLED)
    assert rejected.status_reason.startswith("item 'SKU-00' has a quantity that is not positive")
    assert cancelled.status_reason.startswith("Customer request: nnn") and len(cancelled.status_reason) == limits.STATUS_REASON
    assert cancelled.reviewer == "r" * limits.ACTOR
