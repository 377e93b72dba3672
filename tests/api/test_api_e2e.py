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
from orders.temporal import client as order_client
from tests.api.test_api import START_BODY
from tests.conftest import ROOT, wait_for_status
from tests.factories import ADDRESS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class Http:
    def __init__(self, base_url: str, token: str):
        self.base_url, self.token = base_url, token

    def __call__(self, method: str, path: str, body=None, headers=None):
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json", **(headers or {})},
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
    assert detail["events"][3]["actor"] == "rita"  # received, validated, payment_authorized, approved


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


def test_an_idempotency_key_names_one_request(http):
    shop, _ = http
    shop("POST", "/orders/api-10/start", START_BODY)
    wait_for_status("api-10", Order.Status.AWAITING_REVIEW)
    first_key, second_key = {"Idempotency-Key": "move-1"}, {"Idempotency-Key": "move-2"}

    moved = shop("POST", "/orders/api-10/signals/update-address", {**ADDRESS, "city": "Bath"}, headers=first_key)
    repeated = shop("POST", "/orders/api-10/signals/update-address", {**ADDRESS, "city": "Bath"}, headers=first_key)
    reused = shop("POST", "/orders/api-10/signals/update-address", {**ADDRESS, "city": "York"}, headers=first_key)
    fresh = shop("POST", "/orders/api-10/signals/update-address", {**ADDRESS, "city": "York"}, headers=second_key)

    assert moved[0] == 200 and repeated == moved
    assert reused == (
        422,
        {"error": "idempotency_key_reused", "detail": "this Idempotency-Key was sent before with a different request; use a new key"},
    )
    assert fresh[0] == 200 and Order.objects.get(pk="api-10").shipping_address["city"] == "York"
    assert OrderEvent.objects.filter(order_id="api-10", type="address_updated").count() == 2


def test_business_rules_reject_through_the_workflow(http):
    shop, _ = http
    body = {**START_BODY, "items": [{"sku": "X", "quantity": 2, "unit_price": "5000.00"}]}  # at ORDER_AMOUNT_LIMIT

    status, _ = shop("POST", "/orders/api-3/start", body)
    order = wait_for_status("api-3", Order.Status.REJECTED)
    _, view = shop("GET", "/orders/api-3/status")

    assert status == 201
    assert "is not under the limit of 10000.00" in order.status_reason
    assert view["status"] == "rejected" and "limit" in view["reason"]


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
PHASES = ["examples", "coverage", "fuzzing", "stateful"]
# The operations the stateful phase must reach with an order that exists (through the schema's links).
ON_AN_ORDER = ["claim", "release", "signals/approve", "signals/cancel", "signals/update-address"]


def schemathesis_cases(report: Path) -> list[dict]:
    """Every case of an NDJSON report: its phase, method, path, order id and the status it was answered with."""
    cases = []
    for line in report.read_text().splitlines():
        scenario = json.loads(line).get("ScenarioFinished")
        if not scenario or not scenario.get("recorder"):
            continue
        recorder = scenario["recorder"]
        for case_id, case in recorder.get("cases", {}).items():
            value, response = case["value"], (recorder.get("interactions", {}).get(case_id) or {}).get("response") or {}
            cases.append(
                {
                    "phase": (value.get("meta") or {}).get("phase", {}).get("name"),
                    "method": value["method"],
                    "path": value["path"],
                    "id": (value.get("path_parameters") or {}).get("id"),
                    "status": response.get("status_code"),
                }
            )
    return cases


@pytest.mark.timeout(900)
def test_schemathesis_every_check_and_phase_finds_nothing(live_server, start_worker, unthrottled, monkeypatch, tmp_path):
    """Over a thousand generated requests, every check (`--checks all`) and every phase, stateful sequences along
    the schema's links included, against the live server, a worker, the dev server and PostgreSQL. The settings of
    what schemathesis generates (not of what it checks) are in tests/schemathesis.toml, each with its reason."""
    from orders.api import serializers
    from orders.rules import MAX_AMOUNT

    monkeypatch.setattr(serializers, "STATUS_WAIT_MAX", 2)  # the schema says so too: waits stay short in a test
    start_worker(ORDER_AMOUNT_LIMIT=str(MAX_AMOUNT))  # generated orders wait for review instead of being rejected
    token = Token.objects.create(user=User.objects.create_superuser("fuzz")).key
    report = tmp_path / "events.ndjson"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "--config-file",
            str(ROOT / "tests" / "schemathesis.toml"),
            "run",
            f"{live_server.url}/api/schema/",
            "--checks",
            "all",
            "--phases",
            ",".join(PHASES),
            "--max-examples",
            os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "40"),
            "--seed",
            os.environ.get("SCHEMATHESIS_SEED", "20261125"),
            "--request-timeout",
            "30",
            # One worker thread: in CPython 3.11 the AST builder's recursion counter is shared by the threads, and
            # two schemathesis workers parsing source at once (hypothesis describes filters by parsing their
            # lambdas) fail with "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905).
            "--workers",
            "1",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
            "-H",
            f"Authorization: Token {token}",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=840,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    events = [json.loads(line) for line in report.read_text().splitlines()]
    phases = {e["PhaseFinished"]["phase"]["name"]: e["PhaseFinished"]["status"] for e in events if "PhaseFinished" in e}
    cases = schemathesis_cases(report)
    assert all(phases.get(phase) == "success" for phase in PHASES), phases
    assert len(cases) >= FUZZ_REQUESTS, result.stdout[-3000:]
    existing = set(Order.objects.values_list("pk", flat=True))
    reached = {
        operation
        for operation in ON_AN_ORDER
        for case in cases
        if case["phase"] == "stateful" and case["path"].endswith(f"/{operation}") and case["id"] in existing
        and case["status"] in (200, 202, 409)
    }
    assert reached == set(ON_AN_ORDER), result.stdout[-3000:]


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
