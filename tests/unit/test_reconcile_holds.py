"""Reconcile's holds, on the real database: a hold left open on a final order (in our payments, at the gateway or
both) and money the gateway keeps for an order that did not complete are named; sound orders are not. The
workflows are given as agreeing with every row, so that only the money can drift."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import reconcile
from orders.audit import WorkflowView
from orders.models import GatewayLedgerEntry, Order, Payment
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

Kinds, Held, Ledger = reconcile.Kinds, Payment.Status, GatewayLedgerEntry.State


def agreeing_workflows(ids):
    """Temporal's view when it agrees with the rows: running while open, completed with the row's status once final."""
    rows = Order.objects.all() if ids is None else Order.objects.filter(pk__in=ids)
    return {o.pk: WorkflowView("COMPLETED" if o.is_terminal else "RUNNING", o.status) for o in rows}


def order_with(order_id: str, status: str, ours: str = "", theirs: str = "", key: str = "") -> Order:
    """An order in `status` whose payment key is `ours` in our payments and `theirs` in the gateway's ledger."""
    order = OrderFactory(id=order_id, status=status)
    key = key or order.payment_id
    expires_at = timezone.now() + timedelta(days=7)
    if ours:
        Payment.objects.create(payment_id=key, order=order, amount=order.amount, currency="USD", status=ours, expires_at=expires_at)
    if theirs:
        GatewayLedgerEntry.objects.create(
            payment_id=key, order_id=order.id, amount=order.amount, currency="USD", state=theirs, expires_at=expires_at
        )
    return order


def drift() -> dict[str, list[tuple[str, str]]]:
    """Each order's drift: (kind, detail)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for d in reconcile.reconcile(agreeing_workflows, settle_seconds=0).drift:
        found.setdefault(d.order_id, []).append((d.kind, d.detail))
    return found


def test_sound_orders_are_clean():
    order_with("ok-held", Order.Status.AWAITING_REVIEW, ours=Held.AUTHORIZED, theirs=Ledger.AUTHORIZED)
    order_with("ok-approved", Order.Status.APPROVED, ours=Held.AUTHORIZED, theirs=Ledger.AUTHORIZED)
    order_with("ok-done", Order.Status.COMPLETED, ours=Held.CAPTURED, theirs=Ledger.CAPTURED)
    order_with("ok-released", Order.Status.CANCELLED, ours=Held.VOIDED, theirs=Ledger.VOIDED)
    order_with("ok-refunded", Order.Status.CANCELLED, ours=Held.REFUNDED, theirs=Ledger.REFUNDED)
    order_with("ok-lapsed", Order.Status.PAYMENT_FAILED, ours=Held.EXPIRED, theirs=Ledger.EXPIRED)
    order_with("ok-declined", Order.Status.PAYMENT_FAILED, ours=Held.DECLINED)

    report = reconcile.reconcile(agreeing_workflows, settle_seconds=0)

    assert report.clean and report.rows == 7 and report.as_dict()["drift"] == []


@pytest.mark.parametrize("status", Order.terminal_statuses())
def test_a_hold_left_open_on_a_final_order_is_named(status):
    order_with("open-ours", status, ours=Held.AUTHORIZED)
    order_with("open-theirs", status, ours=Held.VOIDED, theirs=Ledger.AUTHORIZED)
    order_with("open-both", status, ours=Held.AUTHORIZED, theirs=Ledger.AUTHORIZED)

    found = drift()

    assert set(found) == {"open-ours", "open-theirs", "open-both"}
    assert all(len(entries) == 1 and entries[0][0] == Kinds.AUTHORIZATION_LEFT_OPEN for entries in found.values())
    (_, ours), (_, theirs), (_, both) = found["open-ours"][0], found["open-theirs"][0], found["open-both"][0]
    assert ours.startswith("payment pay-open-ours is authorized here (held until ")
    assert theirs.startswith("payment pay-open-theirs is authorized at the gateway (held until ")
    assert both.startswith("payment pay-open-both is authorized here and at the gateway (held until ")
    assert both.endswith(f" UTC); the order is {status}")


def test_a_lapsed_key_left_open_is_named_beside_its_reauthorization():
    order = order_with("reauth-open", Order.Status.COMPLETED, ours=Held.CAPTURED, theirs=Ledger.CAPTURED, key="pay-reauth-open:reauth:1")
    GatewayLedgerEntry.objects.create(payment_id=order.payment_id, order_id=order.id, amount=order.amount, currency="USD", state=Ledger.AUTHORIZED)

    report = reconcile.reconcile(agreeing_workflows, settle_seconds=0)

    assert [(d.order_id, d.kind, d.detail) for d in report.drift] == [
        ("reauth-open", Kinds.AUTHORIZATION_LEFT_OPEN, "payment pay-reauth-open is authorized at the gateway; the order is completed")
    ]


@pytest.mark.parametrize("status", [s for s in Order.terminal_statuses() if s != Order.Status.COMPLETED])
def test_money_the_gateway_keeps_for_an_order_that_did_not_complete_is_named(status):
    order_with("kept", status, ours=Held.REFUNDED, theirs=Ledger.CAPTURED)
    order_with("given-back", status, ours=Held.REFUNDED, theirs=Ledger.REFUNDED)

    report = reconcile.reconcile(agreeing_workflows, settle_seconds=0)

    assert [(d.order_id, d.kind, d.detail) for d in report.drift] == [
        ("kept", Kinds.GATEWAY_CAPTURED_NOT_COMPLETED, f"the gateway keeps capture pay-kept (28.99 USD); the order is {status}")
    ]


def test_both_books_keeping_the_money_name_both_kinds_and_the_record_keeps_them():
    order_with("kept-both", Order.Status.FAILED, ours=Held.CAPTURED, theirs=Ledger.CAPTURED)
    order_with("open-cancelled", Order.Status.CANCELLED, ours=Held.AUTHORIZED, theirs=Ledger.AUTHORIZED)
    GatewayLedgerEntry.objects.create(
        payment_id="pay-no-row", order_id="no-row", amount=Decimal("1.00"), currency="USD", state=Ledger.CAPTURED
    )

    report = reconcile.reconcile(agreeing_workflows, settle_seconds=0)
    run = reconcile.record(report)

    assert [(d.order_id, d.kind) for d in report.drift] == [
        ("kept-both", Kinds.CAPTURED_NOT_COMPLETED),
        ("kept-both", Kinds.GATEWAY_CAPTURED_NOT_COMPLETED),
        ("open-cancelled", Kinds.AUTHORIZATION_LEFT_OPEN),
    ]
    assert not run.clean and {d["kind"] for d in run.drift} == {
        "captured_not_completed", "gateway_captured_not_completed", "authorization_left_open"
    }
