"""`manage.py reconcile` on the dev server, the worker processes and the real database: clean when the rows and
workflows agree; each kind of drift named, with its order, once a row is edited behind the workflow's back."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.models import Order, Payment, ReconcileRun
from orders.temporal import client as order_client
from tests.conftest import wait_for_status
from tests.e2e.test_e2e import order_request
from tests.factories import OrderFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def reconcile(capsys) -> tuple[int, dict]:
    try:
        call_command("reconcile", json=True, settle=0.5)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return code, json.loads(capsys.readouterr().out)


def test_clean_then_every_kind_of_drift_is_named(start_worker, capsys):
    start_worker()
    for order_id in ("rec-done", "rec-waiting", "rec-cancel"):
        order_client.start_order(**order_request(order_id))
        wait_for_status(order_id, Order.Status.AWAITING_REVIEW)
    order_client.approve("rec-done", actor="rita")
    order_client.cancel("rec-cancel", actor="rita", code="customer_request")
    wait_for_status("rec-done", Order.Status.COMPLETED)
    wait_for_status("rec-cancel", Order.Status.CANCELLED)

    clean_code, clean = reconcile(capsys)

    # Behind the workflows' backs: a hand edit, a restored backup's stray row, a closed order pushed back, money kept.
    Order.objects.filter(pk="rec-waiting").update(status=Order.Status.APPROVED)
    OrderFactory(id="rec-stray", status=Order.Status.PAID)
    Order.objects.filter(pk="rec-done").update(status=Order.Status.SHIPPING)
    Payment.objects.create(order_id="rec-cancel", payment_id="pay-kept", amount="1.00", currency="USD", status=Payment.Status.CAPTURED)
    drift_code, drift = reconcile(capsys)

    assert (clean_code, clean["clean"], clean["rows"], clean["workflows"]) == (0, True, 3, 3)
    assert drift_code == 1 and not drift["clean"]
    found = {(d["order_id"], d["kind"]) for d in drift["drift"]}
    assert found == {
        ("rec-waiting", "status_differs"),
        ("rec-stray", "missing_workflow"),
        ("rec-done", "closed_not_final"),
        ("rec-cancel", "captured_not_completed"),
    }
    last = ReconcileRun.objects.latest()
    assert not last.clean and {d["order_id"] for d in last.drift} == {"rec-waiting", "rec-stray", "rec-done", "rec-cancel"}


def test_a_workflow_without_its_row_is_named(start_worker, capsys):
    start_worker()
    order_client.start_order(**order_request("rec-gone"))
    wait_for_status("rec-gone", Order.Status.AWAITING_REVIEW)
    Payment.objects.filter(order_id="rec-gone").delete()  # its hold
    Order.objects.filter(pk="rec-gone").delete()

    code, report = reconcile(capsys)

    assert code == 1 and [(d["order_id"], d["kind"]) for d in report["drift"]] == [("rec-gone", "missing_row")]


def test_check_status_shows_the_last_reconcile(start_worker, capsys):
    start_worker()
    call_command("reconcile", settle=0.5)
    capsys.readouterr()

    call_command("check_status")

    assert "last reconcile" in capsys.readouterr().out
