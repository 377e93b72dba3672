"""The API over real HTTP (a live server), with the Temporal dev server, worker processes and the real database."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token

from orders.models import Order, OrderEvent, Payment
from tests.conftest import ROOT, wait_for_status
from tests.factories import ADDRESS
from tests.test_api import START_BODY
from workflows import client as order_client

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class Http:
    def __init__(self, base_url: str, token: str):
        self.base_url, self.token = base_url, token

    def __call__(self, method: str, path: str, body=None):
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def token_for(username: str, group: str) -> str:
    user = User.objects.create_user(username)
    user.groups.add(Group.objects.get(name=group))
    return Token.objects.create(user=user).key


@pytest.fixture
def http(live_server, start_worker, roles):
    start_worker()
    shop = Http(live_server.url, token_for("shop", "Order clients"))
    reviewer = Http(live_server.url, token_for("rita", "Reviewers"))
    return shop, reviewer


def test_start_approve_complete_through_the_api(http):
    shop, reviewer = http

    status, started = shop("POST", "/orders/api-1/start", START_BODY)
    repeat_status, repeated = shop("POST", "/orders/api-1/start", START_BODY)
    conflict_status, conflict = shop("POST", "/orders/api-1/start", {**START_BODY, "currency": "EUR"})
    wait_for_status("api-1", Order.Status.AWAITING_REVIEW)
    live_status, live = shop("GET", "/orders/api-1/status")
    approve_status, approved = reviewer("POST", "/orders/api-1/signals/approve")
    wait_for_status("api-1", Order.Status.COMPLETED)
    again_status, again = reviewer("POST", "/orders/api-1/signals/approve")
    cancel_status, cancelled = shop("POST", "/orders/api-1/signals/cancel", {"reason": "too late"})
    final_status, final = shop("GET", "/orders/api-1/status")
    _, detail = shop("GET", "/orders/api-1/")

    assert status == 201 and started["created"] is True
    assert started["order"]["id"] == "api-1" and started["order"]["workflow_id"] == "order-api-1"
    assert repeat_status == 200 and repeated["created"] is False and repeated["order"]["id"] == "api-1"
    assert conflict_status == 409 and conflict["error"] == "order_already_exists"
    assert live_status == 200 and live["live"] is True and live["step"] == "manual review"
    assert approve_status == 200 and approved["accepted"] is True
    assert again_status == 409 and again == {"error": "not_allowed", "detail": "order already completed"}
    assert cancel_status == 409 and cancelled["detail"] == "order already completed"
    assert final_status == 200 and final["status"] == "completed" and final["live"] is False
    assert final["payment_status"] == "captured" and final["tracking_number"]
    assert Payment.objects.filter(order_id="api-1").count() == 1
    assert [e["type"] for e in detail["events"]][-1] == "completed"
    assert detail["events"][2]["actor"] == "rita"


def test_cancel_and_address_through_the_api(http):
    shop, reviewer = http
    shop("POST", "/orders/api-2/start", START_BODY)
    wait_for_status("api-2", Order.Status.AWAITING_REVIEW)

    moved_status, moved = shop("POST", "/orders/api-2/signals/update-address", {**ADDRESS, "city": "Bath"})
    bad_status, bad = shop("POST", "/orders/api-2/signals/update-address", {**ADDRESS, "city": " "})
    cancel_status, cancelled = shop("POST", "/orders/api-2/signals/cancel", {"reason": "ordered twice"})
    approve_status, refused = reviewer("POST", "/orders/api-2/signals/approve")

    assert moved_status == 200 and moved["accepted"]
    assert Order.objects.get(pk="api-2").shipping_address["city"] == "Bath"
    assert bad_status in (400, 409) and bad["error"] in ("invalid", "not_allowed")
    assert cancel_status == 200 and cancelled["status"] == "cancelled"
    assert approve_status == 409 and refused["detail"] == "order already cancelled"
    cancel = OrderEvent.objects.get(order_id="api-2", type="cancelled")
    assert (cancel.actor, cancel.payload["reason"]) == ("shop", "ordered twice")


def test_business_rules_reject_through_the_workflow(http):
    shop, _ = http
    body = {**START_BODY, "items": [{"sku": "X", "quantity": 0, "unit_price": "5.00"}]}

    status, _ = shop("POST", "/orders/api-3/start", body)
    order = wait_for_status("api-3", Order.Status.REJECTED)
    _, view = shop("GET", "/orders/api-3/status")

    assert status == 201
    assert "quantity that is not positive" in order.status_reason
    assert view["status"] == "rejected" and "quantity" in view["reason"]


def test_mass_assignment_is_ignored(http):
    shop, _ = http
    body = {**START_BODY, "status": "completed", "amount": "0.01", "workflow_id": "evil", "created_by": 999}

    status, started = shop("POST", "/orders/api-4/start", body)
    order = wait_for_status("api-4", Order.Status.AWAITING_REVIEW)

    assert status == 201
    assert order.amount == Order.objects.get(pk="api-4").amount != 0
    assert str(order.amount) == "28.99" and order.workflow_id == "order-api-4"
    assert order.created_by.username == "shop"


@pytest.fixture
def unthrottled():
    from rest_framework.settings import api_settings
    from rest_framework.throttling import UserRateThrottle

    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "1000000/minute"}
    yield
    UserRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


FUZZ_REQUESTS = 1000


def test_schemathesis_finds_no_server_errors_or_schema_violations(live_server, start_worker, unthrottled, tmp_path):
    """Over a thousand generated requests: examples, coverage, fuzzing, and stateful sequences along the schema's
    links (start -> status -> approve/cancel -> events), against the live server, a worker and the dev server."""
    start_worker()
    user = User.objects.create_superuser("fuzz")
    token = Token.objects.create(user=user).key
    har = tmp_path / "requests.har"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "run",
            f"{live_server.url}/api/schema/",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "40"),
            "--seed",
            os.environ.get("SCHEMATHESIS_SEED", "20261125"),
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--request-timeout",
            "30",
            # One worker thread: in CPython 3.11 the AST builder's recursion counter is shared by the threads, and
            # two schemathesis workers parsing source at once (hypothesis describes filters by parsing their
            # lambdas) fail with "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905).
            "--workers",
            "1",
            "--report",
            "har",
            "--report-har-path",
            str(har),
            "-H",
            f"Authorization: Token {token}",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout or "passed" in result.stdout.lower(), result.stdout[-3000:]
    requests = json.loads(har.read_text())["log"]["entries"]
    paths = [entry["request"]["url"].split("?")[0].removeprefix(live_server.url) for entry in requests]
    assert len(requests) >= FUZZ_REQUESTS, result.stdout[-3000:]
    assert "Stateful" in result.stdout, result.stdout[-3000:]
    # The stateful sequences reached orders that exist: their status and events were read after a start.
    started = {p.split("/")[2] for p, e in zip(paths, requests) if p.endswith("/start") and e["response"]["status"] in (200, 201, 202)}
    assert any(p.endswith("/events") and p.split("/")[2] in started for p in paths), sorted(started)[:10]


def test_start_without_a_worker_answers_202_and_never_invents_the_order(live_temporal, roles):
    """No worker polls: the workflow runs but has not written the row. The API says so; it makes nothing up."""
    from rest_framework.test import APIClient

    live_temporal.TEMPORAL_UPDATE_WAIT = 1
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for('early', 'Order clients')}")

    response = api.post("/orders/api-5/start", START_BODY, format="json")
    repeat = api.post("/orders/api-5/start", START_BODY, format="json")

    assert response.status_code == 202, response.content
    assert response.json()["accepted"] is True and response.json()["status"] == "processing"
    assert repeat.status_code == 202
    assert api.get("/orders/api-5/").status_code == 404 and not Order.objects.filter(pk="api-5").exists()


def test_payment_id_of_another_order_is_refused_before_anything_starts(http):
    shop, _ = http
    first_status, _ = shop("POST", "/orders/api-6/start", {**START_BODY, "payment_id": "shared-pay"})

    status, refused = shop("POST", "/orders/api-7/start", {**START_BODY, "payment_id": "shared-pay"})

    assert first_status == 201
    assert status == 409 and refused == {"error": "payment_id_in_use", "detail": "payment id shared-pay is already used by another order"}
    assert order_client.status("api-7") is None  # no workflow was started


def test_an_order_its_first_step_refused_is_never_answered_as_created(live_server, live_temporal, start_worker, roles):
    """Two starts race for one payment id before either row exists (no worker yet, so both get 202). Once a
    worker runs, one order is created; the other's first step refuses it, and every repeat says why."""
    live_temporal.TEMPORAL_UPDATE_WAIT = 1
    shop = Http(live_server.url, token_for("shop", "Order clients"))
    bodies = {"api-8": {**START_BODY, "payment_id": "race-pay"}, "api-9": {**START_BODY, "payment_id": "race-pay", "customer_name": "Bo"}}
    early = [shop("POST", f"/orders/{order_id}/start", body)[0] for order_id, body in bodies.items()]

    start_worker()
    live_temporal.TEMPORAL_UPDATE_WAIT = 5
    answers = {order_id: [shop("POST", f"/orders/{order_id}/start", body) for _ in range(2)] for order_id, body in bodies.items()}

    assert early == [202, 202]
    created = [o for o in bodies if Order.objects.filter(pk=o).exists()]
    assert len(created) == 1
    (refused,) = set(bodies) - set(created)
    assert [status for status, _ in answers[created[0]]] == [200, 200]
    assert answers[refused][0] == answers[refused][1] == (
        409,
        {"error": "payment_id_in_use", "detail": "payment id race-pay is already used by another order"},
    )
    assert shop("GET", f"/orders/{refused}/")[0] == 404
