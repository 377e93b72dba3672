"""Every answer of Temporal maps to JSON, never a 500: a status query that fails (503 with the reason), updates
the server refuses once a run has taken its most (409), a resource limit (429 with Retry-After), a namespace that was
not set up (503 naming the fix). On the dev server where the case needs one, with a stand-in order workflow
(tests/standin_orders.py) where the real one cannot be driven there."""

import uuid

import pytest
from rest_framework.test import APIRequestFactory
from temporalio.service import RPCError, RPCStatusCode

from orders.api.errors import exception_handler
from orders.models import Order
from orders.temporal import client as order_client
from orders.temporal import errors
from tests.api.test_api import api_as, user_in
from tests.conftest import dev_server
from tests.factories import OrderFactory
from tests.standin_orders import StandIn, StandInWorker
from workflows.types import WorkflowState

MOST_UPDATES = 4


@pytest.fixture(scope="module")
def capped_temporal_address():
    """A dev server of its own that refuses a run's updates past MOST_UPDATES (history.maxTotalUpdates)."""
    with dev_server("--dynamic-config-value", f"history.maxTotalUpdates={MOST_UPDATES}") as address:
        yield address


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_status_query_that_fails_answers_503_with_the_reason(live_temporal, roles):
    order = OrderFactory(id=f"mute-{uuid.uuid4().hex[:6]}", status=Order.Status.AWAITING_REVIEW)
    worker = StandInWorker()
    try:
        worker.start(order.id, StandIn("review", "2030-01-01T00:00:00+00:00"))  # its get_status raises
        response = api_as(user_in("Reviewers", "rita")).get(f"/orders/{order.id}/status")
    finally:
        worker.stop()

    assert response.status_code == 503, response.content
    assert response.json()["error"] == "status_unknown"
    assert "answer its status query" in response.json()["detail"]
    assert response["Retry-After"]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_updates_the_server_refuses_answer_409_with_the_reason(live_temporal, capped_temporal_address, roles):
    live_temporal.TEMPORAL_ADDRESS = capped_temporal_address
    order_client._runner._client = None
    order = OrderFactory(id=f"busy-{uuid.uuid4().hex[:6]}", status=Order.Status.AWAITING_REVIEW)
    worker = StandInWorker()
    api = api_as(user_in("Reviewers", "rita"))
    try:
        worker.start(order.id, StandIn("review", "2030-01-01T00:00:00+00:00", waiting=True, state=WorkflowState(order.id, "awaiting_review", "review")))
        answers = [api.post(f"/orders/{order.id}/claim", {}, format="json") for _ in range(MOST_UPDATES + 1)]
    finally:
        worker.stop()

    assert [a.status_code for a in answers] == [200] * MOST_UPDATES + [409], [a.content for a in answers]
    refused = answers[-1].json()
    assert refused["error"] == "update_refused" and "Temporal refused the message" in refused["detail"]


@pytest.mark.parametrize(
    "code, message, kind",
    [
        (RPCStatusCode.UNAVAILABLE, "connection refused", errors.TemporalUnavailable),
        (RPCStatusCode.RESOURCE_EXHAUSTED, "namespace rate limit exceeded", errors.TemporalBusy),
        (RPCStatusCode.INVALID_ARGUMENT, "Namespace default has no mapping defined for search attribute OrderStatus", errors.NamespaceNotReady),
        (RPCStatusCode.FAILED_PRECONDITION, "limit on number of total updates has been reached", errors.TemporalUnavailable),
        (RPCStatusCode.INTERNAL, "something broke", errors.TemporalUnavailable),
    ],
)
def test_every_rpc_error_becomes_a_client_error(code, message, kind):
    translated = errors.translate(RPCError(message, code, b""))
    assert type(translated) is kind and message in str(translated)


def test_an_update_the_server_refuses_is_a_refused_message():
    refused = errors.translate(RPCError("limit on number of total updates has been reached", RPCStatusCode.FAILED_PRECONDITION, b""), update=True)
    assert isinstance(refused, errors.MessageRejected) and refused.code == "update_refused"


@pytest.mark.parametrize(
    "exc, status, code",
    [
        (errors.TemporalBusy("Temporal is busy: namespace rate limit exceeded"), 429, "busy"),
        (errors.not_set_up("search attributes missing: OrderStatus"), 503, "temporal_not_set_up"),
        (errors.StatusUnknown("the order's workflow does not answer its status query: boom"), 503, "status_unknown"),
        (errors.UpdateRefused("Temporal refused the message: limit reached"), 409, "update_refused"),
    ],
)
def test_the_api_answers_each_with_json(exc, status, code, settings):
    response = exception_handler(exc, {"request": APIRequestFactory().get("/")})

    assert response.status_code == status and response.data["error"] == code
    assert response.data["detail"]
    if status in (429, 503):
        assert response["Retry-After"] == str(settings.API_RETRY_AFTER_SECONDS)
    if code == "temporal_not_set_up":
        assert "manage.py temporal_setup" in response.data["detail"]
