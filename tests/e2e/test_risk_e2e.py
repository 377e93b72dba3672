"""Risk-aware review end to end (PostgreSQL, the dev server, `manage.py run_workers`, the real client): a burst of
orders from one email and one address is scored by the real rules, and with routing on the clean orders complete
with no person while the flagged one waits for a reviewer."""

import pytest
from django.test import override_settings

from orders.models import Order, OrderEvent
from orders.temporal import client as order_client
from tests.conftest import wait_for_status
from tests.e2e.test_e2e import order_request
from tests.factories import ADDRESS
from workflows.types import POLICY_ACTOR

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BURST = ["risk-burst-1", "risk-burst-2", "risk-burst-3"]
OTHER_ADDRESS = {**ADDRESS, "name": "Grace Hopper", "line1": "1 Navy Yard", "postal_code": "N1 9GU"}


def signal_names(order: Order) -> set[str]:
    return {signal["name"] for signal in order.risk_signals}


def still_waiting_for_a_person(order_id: str) -> bool:
    live = order_client.status(order_id)
    no_decision = not OrderEvent.objects.filter(order_id=order_id, type__in=[OrderEvent.Type.APPROVED, OrderEvent.Type.CANCELLED]).exists()
    return live["step"] == "manual review" and not live["approved"] and no_decision


def test_a_burst_from_one_customer_is_flagged_and_only_the_flagged_order_waits_for_a_person(start_worker):
    start_worker()
    # Started before routing is turned on: it keeps the policy it started with, and waits for a person.
    before = order_request("risk-before", customer_name="Alan Turing", customer_email="alan@example.org", shipping_address={**OTHER_ADDRESS, "name": "Alan Turing", "line1": "2 Bletchley Park"})
    order_client.start_order(**before)

    with override_settings(RISK_AUTO_APPROVE_BELOW=30):
        clean = order_request("risk-clean", customer_name="Grace Hopper", customer_email="grace@example.org", shipping_address=OTHER_ADDRESS)
        order_client.start_order(**clean)
        for order_id in BURST:  # one after another: each is scored against those before it
            order_client.start_order(**order_request(order_id, customer_email="Burst+shop@Example.com"))

    first, second = (wait_for_status(order_id, Order.Status.COMPLETED) for order_id in BURST[:2])
    grace = wait_for_status("risk-clean", Order.Status.COMPLETED)
    flagged = Order.objects.get(pk=BURST[2])

    # The clean orders were decided and shipped meanwhile; the flagged one and the one started before routing wait.
    assert still_waiting_for_a_person(BURST[2]) and still_waiting_for_a_person("risk-before")
    assert Order.objects.get(pk="risk-before").risk_score == 10
    assert signal_names(first) == signal_names(grace) == {"new_customer"} and first.risk_score == 10
    assert second.risk_score == 10  # one earlier order in ten minutes is allowed
    velocity = {"velocity_email_10m", "velocity_address_10m", "velocity_name_10m"}
    assert velocity <= signal_names(flagged) and flagged.risk_score == 70 and flagged.risk_band == "high"
    texts = {signal["text"] for signal in flagged.risk_signals}
    assert "3 orders from this email in the last 10 minutes" in texts
    for order in (first, second, grace):
        approved = order.events.get(type=OrderEvent.Type.APPROVED)
        assert (approved.actor, approved.payload["decided_by"], order.decided_by) == (POLICY_ACTOR, "policy", "policy")
        assert order.reviewer == "" and order.risk_route == "approve"
    # Cancelling is off, so a person decides; the route the policy gives it (a high score) is still recorded.
    assert flagged.risk_route == "cancel"

    # A person decides the flagged order, with the score of the moment on the decision.
    assert order_client.approve(BURST[2], actor="rita").accepted
    done = wait_for_status(BURST[2], Order.Status.COMPLETED)
    decision = done.events.get(type=OrderEvent.Type.APPROVED)
    assert (decision.actor, decision.payload["risk_score"], done.decided_by) == ("rita", 70, "person")


@override_settings(RISK_AUTO_CANCEL_FROM=60)
def test_the_policy_cancels_a_high_score_as_suspected_fraud_without_taking_money(start_worker):
    start_worker()
    for order_id in ("risk-cancel-1", "risk-cancel-2", "risk-cancel-3"):
        order_client.start_order(**order_request(order_id, customer_email="mule@example.net"))

    cancelled = wait_for_status("risk-cancel-3", Order.Status.CANCELLED)
    waiting = Order.objects.get(pk="risk-cancel-1")

    event = cancelled.events.get(type=OrderEvent.Type.CANCELLED)
    assert event.actor == POLICY_ACTOR and event.payload["code"] == "suspected_fraud" and event.payload["decided_by"] == "policy"
    assert cancelled.status_reason.startswith("Suspected fraud: score 70") and not cancelled.payments.exists()
    assert cancelled.fraud == ""  # the policy's own cancels never feed the fraud-history rule
    assert still_waiting_for_a_person("risk-cancel-1")
    assert waiting.risk_route == "approve"  # what the policy would do with approving on
