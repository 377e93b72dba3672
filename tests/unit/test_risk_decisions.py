"""Who decided, as the services record it: the review's first decision is the order's (`decided_by`, `decision`),
and each decision's event names its own decider and the score at the time."""

import pytest
from django.utils import timezone

from orders import services
from orders.models import Order, OrderEvent
from orders.selectors import review_dashboard
from tests.factories import OrderFactory
from workflows.types import POLICY_ACTOR, CancelCodes, Roles

pytestmark = pytest.mark.django_db

Event = OrderEvent.Type


def waiting(**fields) -> Order:
    return OrderFactory(status=Order.Status.AWAITING_REVIEW, risk_score=12, risk_band="low", risk_route="approve", **fields)


def event(order: Order, type_: str) -> OrderEvent:
    return order.events.get(type=type_)


def test_the_policy_approves_as_itself_not_as_a_reviewer():
    order = waiting()
    services.order_approve(order_id=order.id, actor=POLICY_ACTOR, approvers=[POLICY_ACTOR], role=Roles.POLICY)
    order.refresh_from_db()

    assert (order.decided_by, order.decision, order.reviewer, order.approvals) == ("policy", "approved", "", [])
    assert event(order, Event.APPROVED).payload["approvers"] == []


def test_a_client_cancel_after_the_policy_approved_keeps_the_reviews_decision_and_names_itself_in_its_event():
    order = waiting()
    services.order_approve(order_id=order.id, actor=POLICY_ACTOR, role=Roles.POLICY)
    services.order_cancel(order_id=order.id, actor="shop-a", reason="changed my mind", role=Roles.CLIENT)
    order.refresh_from_db()

    assert (order.status, order.decided_by, order.decision) == ("cancelled", "policy", "approved")
    assert event(order, Event.APPROVED).payload["decided_by"] == "policy"
    assert event(order, Event.CANCELLED).payload["decided_by"] == "client"


@pytest.mark.parametrize(
    "role, decided_by", [(Roles.CLIENT, "client"), (Roles.SYSTEM, "system"), (Roles.REVIEWER, "person"), ("", "person")]
)
def test_a_cancel_while_waiting_is_the_reviews_decision_of_whoever_sent_it(role, decided_by):
    order = waiting()
    services.order_cancel(order_id=order.id, actor="someone", reason="no", role=role)
    order.refresh_from_db()

    assert (order.decided_by, order.decision) == (decided_by, "cancelled")
    payload = event(order, Event.CANCELLED).payload
    assert (payload["risk_score"], payload["decided_by"]) == (12, decided_by)


def test_only_a_persons_suspected_fraud_cancel_marks_the_order():
    by_person, by_policy = waiting(), waiting()
    services.order_cancel(order_id=by_person.id, actor="rita", reason="", code=CancelCodes.SUSPECTED_FRAUD, role=Roles.REVIEWER)
    services.order_cancel(order_id=by_policy.id, actor=POLICY_ACTOR, reason="", code=CancelCodes.SUSPECTED_FRAUD, role=Roles.POLICY)

    assert Order.objects.get(pk=by_person.id).fraud == Order.Fraud.SUSPECTED
    assert Order.objects.get(pk=by_policy.id).fraud == ""


def test_screening_an_order_validated_without_a_score_adds_the_assessment():
    order = OrderFactory()
    services.order_validate(order_id=order.id)  # as a worker of the release before scores did
    screened = services.order_screen(order_id=order.id)

    assert screened.risk_score is not None and Order.objects.get(pk=order.id).risk_score == screened.risk_score
    assert list(order.events.values_list("type", flat=True)) == [Event.VALIDATED]


def test_the_policys_approvals_are_not_counted_as_a_reviewers_decisions():
    by_policy, by_rita = waiting(), waiting()
    services.order_approve(order_id=by_policy.id, actor=POLICY_ACTOR, role=Roles.POLICY)
    services.order_approve(order_id=by_rita.id, actor="rita", role=Roles.REVIEWER)

    assert review_dashboard(timezone.now())["per_reviewer"] == [{"actor": "rita", "decisions": 1}]
