"""Domain services on the real database: every transition, every refusal, idempotency and payment conflicts."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import services
from orders.models import Order, OrderEvent, Payment
from tests.factories import ADDRESS, ITEMS, OrderFactory
from workflows.types import Address, OrderInput, OrderItem

pytestmark = pytest.mark.django_db

Status = Order.Status
Event = OrderEvent.Type


def event_types(order_id):
    return list(OrderEvent.objects.filter(order_id=order_id).values_list("type", flat=True))


def order_input(order_id="svc-1", **changes):
    data = OrderInput(
        order_id=order_id,
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        items=[OrderItem(**i) for i in ITEMS],
        currency="usd",
        shipping_address=Address(**ADDRESS),
        payment_id=f"pay-{order_id}",
        fingerprint="a" * 64,
    )
    return replace(data, **changes)


def paid_order(**kwargs):
    order = OrderFactory(status=Status.APPROVED, **kwargs)
    services.payment_capture(
        order_id=order.id, payment_id=order.payment_id, amount=order.amount, currency="USD", provider_reference="ch_1"
    )
    return Order.objects.get(pk=order.id)


class TestReceive:
    def test_creates_the_row_with_money_computed_from_items(self):
        order = services.order_receive(data=order_input())

        assert order.status == Status.RECEIVED
        assert order.amount == Decimal("28.99")
        assert order.currency == "USD"
        assert order.workflow_id == "order-svc-1"
        assert event_types(order.id) == [Event.RECEIVED]

    def test_repeat_with_same_data_leaves_one_row_and_one_event(self):
        services.order_receive(data=order_input())
        services.order_receive(data=order_input())

        assert Order.objects.filter(pk="svc-1").count() == 1
        assert event_types("svc-1") == [Event.RECEIVED]

    def test_same_id_with_other_data_is_a_conflict(self):
        services.order_receive(data=order_input())
        with pytest.raises(services.IdempotencyConflict):
            services.order_receive(data=order_input(fingerprint="b" * 64))

    def test_payment_id_of_another_order_is_a_conflict(self):
        services.order_receive(data=order_input())
        with pytest.raises(services.IdempotencyConflict, match="payment id pay-svc-1 is already used by another order"):
            services.order_receive(data=order_input("svc-2", payment_id="pay-svc-1", fingerprint="c" * 64))
        assert not Order.objects.filter(pk="svc-2").exists()

    def test_total_beyond_the_money_columns_is_rejected_before_any_write(self):
        huge = [OrderItem("X", 10**6, "99999999.99")]
        with pytest.raises(services.OrderRejected, match="does not fit"):
            services.order_receive(data=order_input(items=huge))
        assert not Order.objects.exists()


class TestValidate:
    def test_valid_order_awaits_review(self):
        order = OrderFactory()
        assert services.order_validate(order_id=order.id).status == Status.AWAITING_REVIEW
        assert event_types(order.id) == [Event.VALIDATED]

    @pytest.mark.parametrize(
        "changes, reason",
        [
            ({"items": []}, "no items"),
            ({"items": [{"sku": "X", "quantity": 0, "unit_price": "1.00"}]}, "quantity that is not positive"),
            ({"items": [{"sku": "X", "quantity": 1, "unit_price": "-1.00"}]}, "price that is not positive"),
            ({"shipping_address": {**ADDRESS, "city": ""}}, "missing city"),
            ({"items": [{"sku": "X", "quantity": 1, "unit_price": "10000.00"}]}, "not under the limit"),
        ],
    )
    def test_rule_failure_rejects_with_the_reason(self, changes, reason):
        order = OrderFactory(**changes)

        with pytest.raises(services.OrderRejected, match=reason):
            services.order_validate(order_id=order.id)

        order.refresh_from_db()
        assert order.status == Status.REJECTED
        assert reason in order.status_reason
        assert event_types(order.id) == [Event.REJECTED]

    def test_limit_is_configurable(self, settings):
        settings.ORDER_AMOUNT_LIMIT = "20.00"
        order = OrderFactory()
        with pytest.raises(services.OrderRejected, match="limit of 20.00"):
            services.order_validate(order_id=order.id)


class TestReview:
    def test_approve_records_the_reviewer(self):
        order = OrderFactory(status=Status.AWAITING_REVIEW)

        order = services.order_approve(order_id=order.id, actor="rita")

        assert order.status == Status.APPROVED
        assert order.reviewer == "rita" and order.decided_at is not None
        event = OrderEvent.objects.get(order=order)
        assert (event.type, event.actor) == (Event.APPROVED, "rita")

    def test_approve_twice_is_idempotent(self):
        order = OrderFactory(status=Status.AWAITING_REVIEW)
        services.order_approve(order_id=order.id, actor="rita")
        services.order_approve(order_id=order.id, actor="rita")
        assert event_types(order.id) == [Event.APPROVED]

    @pytest.mark.parametrize("status", [Status.RECEIVED, Status.CANCELLED, Status.PAID, Status.COMPLETED])
    def test_approve_refused_outside_review(self, status):
        order = OrderFactory(status=status)
        with pytest.raises(services.InvalidTransition):
            services.order_approve(order_id=order.id, actor="rita")
        assert event_types(order.id) == []

    def test_escalate_flags_the_order(self):
        order = OrderFactory(status=Status.AWAITING_REVIEW)
        assert services.order_escalate(order_id=order.id).escalated is True
        assert event_types(order.id) == [Event.ESCALATED]

    def test_escalate_refused_after_decision(self):
        order = OrderFactory(status=Status.APPROVED)
        with pytest.raises(services.InvalidTransition):
            services.order_escalate(order_id=order.id)

    @pytest.mark.parametrize("status", [Status.RECEIVED, Status.AWAITING_REVIEW, Status.APPROVED, Status.SHIPPING])
    def test_cancel_with_reason(self, status):
        order = OrderFactory(status=status)

        order = services.order_cancel(order_id=order.id, actor="rita", reason="customer asked")

        assert order.status == Status.CANCELLED
        assert order.status_reason == "customer asked"
        event = OrderEvent.objects.get(order=order)
        assert event.payload["reason"] == "customer asked" and event.actor == "rita"

    @pytest.mark.parametrize("status", [Status.COMPLETED, Status.REJECTED, Status.FAILED, Status.PAYMENT_FAILED])
    def test_cancel_refused_when_final(self, status):
        order = OrderFactory(status=status)
        with pytest.raises(services.InvalidTransition):
            services.order_cancel(order_id=order.id, actor="rita", reason="late")

    def test_cancel_refused_while_a_payment_is_captured(self):
        order = paid_order()
        with pytest.raises(services.InvalidTransition, match="refund it before"):
            services.order_cancel(order_id=order.id, actor="rita", reason="x")


class TestAddress:
    def test_update_records_old_and_new(self):
        order = OrderFactory(status=Status.AWAITING_REVIEW)
        new = {**ADDRESS, "line1": "1 New Street"}

        services.order_update_address(order_id=order.id, address=new, actor="ada", sequence=1)

        order.refresh_from_db()
        assert order.shipping_address["line1"] == "1 New Street"
        event = OrderEvent.objects.get(order=order, type=Event.ADDRESS_UPDATED)
        assert event.payload["old"]["line1"] == ADDRESS["line1"]
        assert event.payload["new"]["line1"] == "1 New Street"

    def test_same_sequence_twice_writes_once(self):
        order = OrderFactory()
        for _ in range(2):
            services.order_update_address(order_id=order.id, address=ADDRESS, actor="ada", sequence=1)
        assert event_types(order.id) == [Event.ADDRESS_UPDATED]

    def test_incomplete_address_refused(self):
        order = OrderFactory()
        with pytest.raises(services.InvalidTransition, match="postal_code"):
            services.order_update_address(order_id=order.id, address={**ADDRESS, "postal_code": ""}, actor="a", sequence=1)

    def test_refused_once_final(self):
        order = OrderFactory(status=Status.COMPLETED)
        with pytest.raises(services.InvalidTransition):
            services.order_update_address(order_id=order.id, address=ADDRESS, actor="a", sequence=1)


class TestPayment:
    def test_capture_marks_paid_with_one_row(self):
        order = paid_order()

        assert order.status == Status.PAID
        payment = Payment.objects.get(order=order)
        assert (payment.status, payment.amount, payment.provider_reference) == ("captured", Decimal("28.99"), "ch_1")
        assert event_types(order.id) == [Event.PAYMENT_CAPTURED]

    def test_capture_twice_same_result_one_row(self):
        order = OrderFactory(status=Status.APPROVED)
        kwargs = dict(order_id=order.id, payment_id="pay-x", amount="28.99", currency="USD", provider_reference="ch_1")

        first = services.payment_capture(**kwargs)
        second = services.payment_capture(**kwargs)

        assert first.pk == second.pk and second.provider_reference == "ch_1"
        assert Payment.objects.count() == 1
        assert event_types(order.id) == [Event.PAYMENT_CAPTURED]

    def test_same_key_other_amount_is_a_conflict(self):
        order = paid_order()
        with pytest.raises(services.IdempotencyConflict):
            services.payment_capture(
                order_id=order.id, payment_id=order.payment_id, amount="1.00", currency="USD", provider_reference="ch_2"
            )

    def test_same_key_other_order_is_a_conflict(self):
        order = paid_order()
        other = OrderFactory(status=Status.APPROVED)
        with pytest.raises(services.IdempotencyConflict):
            services.payment_capture(
                order_id=other.id, payment_id=order.payment_id, amount=order.amount, currency="USD", provider_reference="x"
            )
        assert Payment.objects.count() == 1

    @pytest.mark.parametrize("recorded", [Payment.Status.DECLINED, Payment.Status.VOIDED, Payment.Status.REFUNDED])
    def test_repeat_on_a_row_that_is_not_captured_is_a_conflict(self, recorded):
        """A repeat never passes for a capture it is not (the order would never become paid)."""
        order = OrderFactory(status=Status.APPROVED)
        Payment.objects.create(payment_id=order.payment_id, order=order, amount=order.amount, currency="USD", status=recorded)

        with pytest.raises(services.IdempotencyConflict, match=f"is {recorded}, not captured"):
            services.payment_capture(
                order_id=order.id, payment_id=order.payment_id, amount=order.amount, currency="USD", provider_reference="ch"
            )
        order.refresh_from_db()
        assert order.status == Status.APPROVED and event_types(order.id) == []

    def test_capture_refused_before_approval(self):
        order = OrderFactory(status=Status.AWAITING_REVIEW)
        with pytest.raises(services.InvalidTransition):
            services.payment_capture(order_id=order.id, payment_id="p", amount=order.amount, currency="USD", provider_reference="x")
        assert Payment.objects.count() == 0

    def test_decline_fails_the_order(self):
        order = OrderFactory(status=Status.APPROVED)

        payment = services.payment_decline(order_id=order.id, payment_id="p1", amount=order.amount, currency="USD", reason="card declined")
        services.payment_decline(order_id=order.id, payment_id="p1", amount=order.amount, currency="USD", reason="card declined")

        order.refresh_from_db()
        assert order.status == Status.PAYMENT_FAILED and order.status_reason == "card declined"
        assert payment.status == Payment.Status.DECLINED
        assert Payment.objects.count() == 1
        assert event_types(order.id) == [Event.PAYMENT_DECLINED]

    def test_void_fails_the_order_and_says_nothing_was_taken(self):
        order = OrderFactory(status=Status.APPROVED)
        kwargs = dict(order_id=order.id, payment_id="p1", amount=order.amount, currency="USD", reason="gateway unreachable")

        payment = services.payment_void(**kwargs)
        services.payment_void(**kwargs)

        order.refresh_from_db()
        assert (order.status, order.status_reason) == (Status.PAYMENT_FAILED, "gateway unreachable")
        assert payment.status == Payment.Status.VOIDED and Payment.objects.count() == 1
        assert event_types(order.id) == [Event.PAYMENT_VOIDED]
        with pytest.raises(services.IdempotencyConflict):  # a voided payment is never re-recorded as declined
            services.payment_decline(**kwargs)

    def test_refund_is_idempotent(self):
        order = paid_order()
        kwargs = dict(order_id=order.id, payment_id=order.payment_id, amount=order.amount, currency="USD", reason="cancelled")

        services.payment_refund(**kwargs)
        services.payment_refund(**kwargs)

        assert Payment.objects.get().status == Payment.Status.REFUNDED
        assert event_types(order.id) == [Event.PAYMENT_CAPTURED, Event.PAYMENT_REFUNDED]

    def test_refund_the_gateway_made_is_recorded_over_a_row_that_said_otherwise(self):
        """The compensation after a refused capture record: the row follows the gateway, never 'declined'."""
        order = OrderFactory(status=Status.APPROVED)
        services.payment_decline(order_id=order.id, payment_id="p1", amount=order.amount, currency="USD", reason="no")
        services.payment_refund(order_id=order.id, payment_id="p1", amount=order.amount, currency="USD", reason="compensation")
        services.payment_refund(order_id=order.id, payment_id="p2", amount=order.amount, currency="USD", reason="compensation")

        assert dict(Payment.objects.values_list("payment_id", "status")) == {"p1": "refunded", "p2": "refunded"}
        assert event_types(order.id) == [Event.PAYMENT_DECLINED, Event.PAYMENT_REFUNDED, Event.PAYMENT_REFUNDED]

    def test_refund_of_another_orders_payment_is_a_conflict(self):
        order, other = paid_order(), OrderFactory(status=Status.APPROVED)
        with pytest.raises(services.IdempotencyConflict):
            services.payment_refund(order_id=other.id, payment_id=order.payment_id, amount=order.amount, currency="USD", reason="x")
        assert Payment.objects.get().status == Payment.Status.CAPTURED


class TestShipping:
    def test_attempts_and_completion(self):
        order = paid_order()

        services.order_start_shipping(order_id=order.id, attempt=1)
        services.order_record_shipping_step(order_id=order.id, attempt=1, step="attempt_failed", detail="carrier down")
        services.order_start_shipping(order_id=order.id, attempt=2)
        services.order_record_shipping_step(order_id=order.id, attempt=2, step="package_prepared", detail="PKG")
        services.order_record_shipping_step(order_id=order.id, attempt=2, step="dispatched", detail="TRK1")
        order = services.order_complete(order_id=order.id)

        assert order.status == Status.COMPLETED
        assert order.shipping_attempts == 2 and order.tracking_number == "TRK1"
        assert event_types(order.id) == [
            Event.PAYMENT_CAPTURED,
            Event.SHIPPING_STARTED,
            Event.SHIPPING_ATTEMPT_FAILED,
            Event.SHIPPING_STARTED,
            Event.PACKAGE_PREPARED,
            Event.DISPATCHED,
            Event.COMPLETED,
        ]

    def test_shipping_refused_before_payment(self):
        order = OrderFactory(status=Status.APPROVED)
        with pytest.raises(services.InvalidTransition):
            services.order_start_shipping(order_id=order.id, attempt=1)

    def test_complete_refused_unless_shipping(self):
        order = OrderFactory(status=Status.PAID)
        with pytest.raises(services.InvalidTransition):
            services.order_complete(order_id=order.id)

    @pytest.mark.parametrize("status", [Status.RECEIVED, Status.AWAITING_REVIEW, Status.APPROVED, Status.PAID, Status.SHIPPING])
    def test_an_order_can_fail_from_any_open_step_and_its_claim_ends(self, status):
        """A step that could not succeed ends the order failed wherever it was (after a capture, refunded first)."""
        claimed = OrderFactory(status=status, claimed_by="rita", claimed_until=timezone.now() + timedelta(minutes=5))
        order = services.order_fail(order_id=claimed.id, reason="validate failed: the database refused the order's data")
        assert order.status == Status.FAILED and (order.claimed_by, order.claimed_until) == ("", None)

    def test_fail_records_the_reason(self):
        order = OrderFactory(status=Status.SHIPPING)
        order = services.order_fail(order_id=order.id, reason="shipping failed after 3 attempts")
        assert order.status == Status.FAILED and "3 attempts" in order.status_reason
        with pytest.raises(services.InvalidTransition):
            services.order_fail(order_id=OrderFactory(status=Status.COMPLETED).id, reason="x")


def test_fingerprint_ignores_formatting_but_not_content():
    base = dict(customer_name="A", customer_email="A@x.com", items=ITEMS, currency="usd", shipping_address=ADDRESS, payment_id="p")
    same = dict(base, customer_email="a@x.com", currency="USD", items=[{**ITEMS[0], "unit_price": "12.5"}, ITEMS[1]])
    other = dict(base, items=[{**ITEMS[0], "quantity": 3}, ITEMS[1]])
    assert services.order_fingerprint(**base) == services.order_fingerprint(**same)
    assert services.order_fingerprint(**base) != services.order_fingerprint(**other)


def test_workflow_statuses_match_the_model():
    from workflows.types import OrderStatus

    assert {s.value for s in OrderStatus} == set(Status.values)
