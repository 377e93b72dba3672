"""Holds in the API, on the real database: an order's payments show each key's status and when its hold lapses, and
the schema documents both."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from orders import services
from orders.models import Order
from tests.api.test_api import api_as
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_the_payments_show_the_hold_its_status_and_expiry(reviewer):
    order = OrderFactory(id="api-hold")
    expires_at = timezone.now() + timedelta(days=7)
    services.payment_authorize(
        order_id=order.id, payment_id=order.payment_id, amount=order.amount, currency="USD", provider_reference="au_1",
        expires_at=expires_at,
    )

    body = api_as(reviewer).get(f"/orders/{order.id}/").json()

    assert body["status"] == Order.Status.AWAITING_REVIEW
    [payment] = body["payments"]
    assert (payment["payment_id"], payment["status"], payment["amount"]) == (order.payment_id, "authorized", "28.99")
    assert parse_datetime(payment["expires_at"]) == expires_at
    assert [e["type"] for e in body["events"]] == ["payment_authorized"]


def test_a_reauthorization_is_a_payment_of_its_own_and_a_capture_keeps_its_expiry(reviewer):
    order = OrderFactory(id="api-reauth")
    first, second = order.payment_id, f"{order.payment_id}:reauth:1"
    services.payment_authorize(
        order_id=order.id, payment_id=first, amount=order.amount, currency="USD", provider_reference="au_1",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    services.payment_expire(order_id=order.id, payment_id=first)
    services.payment_authorize(
        order_id=order.id, payment_id=second, amount=order.amount, currency="USD", provider_reference="au_2",
        expires_at=timezone.now() + timedelta(days=7), replaces=first,
    )
    services.order_approve(order_id=order.id, actor="rita")
    services.payment_capture(order_id=order.id, payment_id=second, amount=order.amount, currency="USD", provider_reference="ch_2")

    payments = api_as(reviewer).get(f"/orders/{order.id}/").json()["payments"]

    assert [(p["payment_id"], p["status"]) for p in payments] == [(first, "expired"), (second, "captured")]
    assert all(p["expires_at"] for p in payments)


def test_a_payment_never_held_has_no_expiry(reviewer):
    order = OrderFactory(id="api-charge", status=Order.Status.APPROVED)
    services.payment_capture(order_id=order.id, payment_id=order.payment_id, amount=order.amount, currency="USD", provider_reference="ch")

    [payment] = api_as(reviewer).get(f"/orders/{order.id}/").json()["payments"]

    assert payment["status"] == "captured" and payment["expires_at"] is None


def test_the_schema_documents_the_payment_status_and_expiry():
    components = APIClient().get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    payment = components["Payment"]["properties"]

    assert payment["status"]["allOf"] == [{"$ref": "#/components/schemas/PaymentStatusEnum"}]
    assert {"authorized", "expired"} <= set(components["PaymentStatusEnum"]["enum"])
    assert "held" in payment["status"]["description"]
    assert payment["expires_at"]["format"] == "date-time" and payment["expires_at"]["nullable"] is True
    assert payment["expires_at"]["readOnly"] is True and "hold" in payment["expires_at"]["description"]
    assert "expires_at" in components["Payment"]["required"]
