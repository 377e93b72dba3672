"""The order's risk in the API: reviewers see the score and its signals, the order's client sees only the band and
who decided; fraud feedback for those with orders.mark_fraud."""

import pytest
from django.contrib.auth.models import Permission

from orders import services
from orders.models import Order, OrderEvent
from tests.api.test_api import api_as
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

SIGNALS = [{"name": "velocity_email_10m", "points": 20, "text": "3 orders from this email in the last 10 minutes"}]


def scored(**fields) -> Order:
    fields = {"risk_score": 45, "risk_band": "medium", "risk_route": "review", "risk_signals": SIGNALS, **fields}
    order = OrderFactory(status=Order.Status.AWAITING_REVIEW, **fields)
    assessment = {"risk_score": 45, "risk_band": "medium", "risk_route": "review"}
    OrderEvent.objects.create(
        order=order, type=OrderEvent.Type.VALIDATED, key=f"{order.id}:validated", payload={**assessment, "to": "awaiting_review"}
    )
    return order


def test_a_reviewer_sees_the_score_the_route_and_every_signal(reviewer):
    order = scored()
    body = api_as(reviewer).get(f"/orders/{order.id}/").json()

    assert body["risk"] == {"score": 45, "band": "medium", "route": "review", "signals": SIGNALS}
    assert body["risk_band"] == "medium" and body["events"][0]["payload"]["risk_score"] == 45


def test_the_orders_client_sees_the_band_and_who_decided_but_not_the_signals(client_a):
    order = scored(created_by=client_a, decided_by=Order.DecidedBy.POLICY)
    body = api_as(client_a).get(f"/orders/{order.id}/").json()

    assert body["risk"] is None and body["risk_band"] == "medium" and body["decided_by"] == "policy"
    assert body["events"][0]["payload"] == {"to": "awaiting_review"}
    listed = api_as(client_a).get("/orders/?risk_band=medium").json()["results"]
    assert [(o["id"], o["risk_band"], o["decided_by"]) for o in listed] == [(order.id, "medium", "policy")]


def test_the_list_filters_by_band_and_refuses_an_unknown_one(reviewer):
    medium, high = scored(), scored(risk_band="high")  # noqa: F841
    api = api_as(reviewer)

    assert [o["id"] for o in api.get("/orders/?risk_band=high").json()["results"]] == [high.id]
    assert api.get("/orders/?risk_band=severe").status_code == 400


def test_fraud_feedback_needs_the_permission_and_a_decided_order(reviewer):
    waiting = scored()
    done = OrderFactory(status=Order.Status.COMPLETED, risk_score=10, risk_band="low")
    api = api_as(reviewer)

    refused = api.post(f"/orders/{done.id}/fraud", {"verdict": "confirmed"}, format="json")
    reviewer.user_permissions.add(Permission.objects.get(codename="mark_fraud"))
    api = api_as(type(reviewer).objects.get(pk=reviewer.pk))
    in_progress = api.post(f"/orders/{waiting.id}/fraud", {"verdict": "confirmed"}, format="json")
    bad = api.post(f"/orders/{done.id}/fraud", {"verdict": "maybe"}, format="json")
    confirmed = api.post(f"/orders/{done.id}/fraud", {"verdict": "confirmed", "note": "chargeback"}, format="json")
    cleared = api.post(f"/orders/{done.id}/fraud", {"verdict": "cleared"}, format="json")

    assert refused.status_code == 403 and in_progress.status_code == 409 and bad.status_code == 400
    assert confirmed.json() == {"id": done.id, "fraud": "confirmed"} and cleared.json()["fraud"] == "cleared"
    events = list(done.events.values_list("type", "actor", "payload__note", "payload__risk_score"))
    assert events == [("fraud_confirmed", "rita", "chargeback", 10), ("not_fraud", "rita", "", 10)]
    assert Order.objects.get(pk=done.id).fraud == Order.Fraud.CLEARED


def test_a_decision_records_the_score_at_the_time_and_who_decided():
    order = scored()
    services.order_approve(order_id=order.id, actor="policy", role="policy", note="approved by the risk policy")
    event = order.events.get(type=OrderEvent.Type.APPROVED)
    order.refresh_from_db()

    assert event.actor == "policy" and event.payload["risk_score"] == 45 and event.payload["decided_by"] == "policy"
    assert order.decided_by == Order.DecidedBy.POLICY and order.reviewer == ""
