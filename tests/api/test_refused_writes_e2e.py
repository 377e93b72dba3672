"""Writes the database refuses for their data end the order instead of wedging it (real HTTP, dev server, worker
processes, PostgreSQL). The refusal is a constraint the test adds, so that it holds whatever the entry points let
through: what is tested is what happens once such a write fails."""

import pytest
from django.db import connection

from orders.models import Order, OrderEvent
from tests.api.test_api import START_BODY
from tests.api.test_api_e2e import http  # noqa: F401  (fixture)
from tests.conftest import wait_for_status, wait_for_workflow_closed

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the refusals are PostgreSQL constraints"),
]


@pytest.fixture
def constraint():
    added = []

    def add(name: str, check: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE orders ADD CONSTRAINT {name} CHECK ({check}) NOT VALID")
        added.append(name)

    yield add
    with connection.cursor() as cursor:
        for name in added:
            cursor.execute(f"ALTER TABLE orders DROP CONSTRAINT {name}")


def test_a_start_whose_row_can_never_be_written_answers_422_and_the_workflow_closes(http, constraint):  # noqa: F811
    shop, _ = http
    constraint("test_refused_name", "customer_name <> 'Refused Name'")
    body = {**START_BODY, "customer_name": "Refused Name"}

    status, answer = shop("POST", "/orders/refused-1/start", body)
    wait_for_workflow_closed("refused-1")
    repeat_status, repeat = shop("POST", "/orders/refused-1/start", body)

    assert status == 422 and answer["error"] == "not_created", answer
    assert answer["detail"].startswith("the database refused the order's data ("), answer
    assert "test_refused_name" in answer["detail"]
    assert repeat_status == 422 and repeat["detail"] == answer["detail"]
    assert not Order.objects.filter(pk="refused-1").exists()


def test_an_approval_the_database_refuses_ends_the_order_failed_and_answers_why(http, constraint):  # noqa: F811
    shop, reviewer = http
    constraint("test_no_approval", "status <> 'approved'")
    shop("POST", "/orders/refused-2/start", START_BODY)
    wait_for_status("refused-2", Order.Status.AWAITING_REVIEW)

    status, answer = reviewer("POST", "/orders/refused-2/signals/approve", {"note": "fine"})
    order = wait_for_status("refused-2", Order.Status.FAILED, timeout=30)
    wait_for_workflow_closed("refused-2")
    _, live = shop("GET", "/orders/refused-2/status")

    assert status == 409 and answer["error"] == "not_allowed", answer
    assert "test_no_approval" in answer["detail"]
    assert order.status_reason.startswith("approve failed: the database refused the order's data (")
    assert OrderEvent.objects.filter(order=order, type=OrderEvent.Type.FAILED).count() == 1
    assert live["status"] == "failed"
