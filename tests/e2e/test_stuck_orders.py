"""Stuck orders, found on the dev server through the search attributes a running order workflow publishes (a
stand-in of OrderWorkflow here, tests/standin_orders.py): named by `manage.py reconcile` with a warning in the JSON
logs, counted by reason at /metrics, and listed on the review dashboard. Orders in an expected wait, or that moved on
recently, are not stuck."""

import json
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from orders.temporal import stuck
from tests.conftest import ROOT
from tests.e2e.test_temporal_setup import app_env
from tests.standin_orders import StandIn, StandInWorker
from workflows.types import WorkflowState

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def ago(**delta) -> str:
    return (datetime.now(timezone.utc) - timedelta(**delta)).isoformat()


def state(order_id: str, step: str, **progress) -> WorkflowState:
    return WorkflowState(order_id=order_id, status="received", step=step, **progress)


@pytest.fixture
def standins(live_temporal):
    """Five running orders (ids unique to the test: workflow ids outlive it on the session's server)."""
    ids = {name: f"st-{uuid.uuid4().hex[:6]}-{name}" for name in ("retrying", "quiet", "mute", "review", "moving")}
    error = "value too long for type character varying(500)"
    worker = StandInWorker()
    worker.start(ids["retrying"], StandIn("validate", ago(hours=1), state=state(ids["retrying"], "validate", step_attempt=7, step_error=error, progress_at=ago(hours=1))))
    worker.start(ids["quiet"], StandIn("payment", ago(hours=2), state=state(ids["quiet"], "payment", progress_at=ago(hours=2))))
    worker.start(ids["mute"], StandIn("shipping", ago(minutes=30)))  # its status query fails
    worker.start(ids["review"], StandIn("review", ago(hours=3), waiting=True, state=state(ids["review"], "review", waiting=True)))
    worker.start(ids["moving"], StandIn("payment", ago(seconds=5), state=state(ids["moving"], "payment", progress_at=ago(seconds=5))))
    yield ids
    worker.stop()


def found_by_visibility(count: int, timeout: float = 20.0) -> list[stuck.StuckOrder]:
    """Visibility is eventually consistent: look until `count` stuck orders show."""
    deadline = time.monotonic() + timeout
    while len(found := stuck.stuck_orders()) < count and time.monotonic() < deadline:
        time.sleep(0.3)
    return found


def test_stuck_orders_are_found_with_their_step_attempt_and_error(standins):
    found = {order.order_id: order for order in found_by_visibility(3)}

    assert set(found) == {standins["retrying"], standins["quiet"], standins["mute"]}
    retrying, quiet, mute = (found[standins[name]] for name in ("retrying", "quiet", "mute"))
    assert (retrying.workflow_id, retrying.step, retrying.attempt, retrying.reason) == (f"order-{standins['retrying']}", "validate", 7, "retrying")
    assert "character varying(500)" in retrying.error and "attempt 7" in retrying.detail
    assert (quiet.step, quiet.reason, quiet.error) == ("payment", "no_progress", "")
    assert (mute.step, mute.reason) == ("shipping", "no_answer") and "no answer to its status query" in mute.error


def test_reconcile_names_them_and_logs_a_warning_for_each(standins, live_temporal):
    found_by_visibility(3)
    done = subprocess.run(
        [sys.executable, "manage.py", "reconcile", "--json", "--settle", "0.2"],
        cwd=ROOT, env={**app_env(live_temporal), "LOG_FORMAT": "json"}, capture_output=True, text=True, timeout=120,
    )
    report = json.loads(done.stdout)
    logged = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]

    stuck_ids = {standins[name] for name in ("retrying", "quiet", "mute")}
    assert done.returncode == 1, done.stderr
    drift = {d["order_id"]: d["detail"] for d in report["drift"] if d["kind"] == "stuck"}
    assert set(drift) == stuck_ids
    assert "stuck in validate" in drift[standins["retrying"]] and "attempt 7" in drift[standins["retrying"]]
    warnings = {line["workflow_id"]: line for line in logged if line["level"] == "WARNING" and "workflow_id" in line}
    assert set(warnings) == {f"order-{order_id}" for order_id in stuck_ids}
    assert (warnings[f"order-{standins['retrying']}"]["step"], warnings[f"order-{standins['retrying']}"]["attempt"]) == ("validate", 7)


def test_metrics_count_them_by_reason_and_the_dashboard_lists_them(standins, client, roles):
    found_by_visibility(3)
    call_command("create_demo_users", stdout=open("/dev/null", "w"))
    client.force_login(User.objects.get(username="reviewer"))

    metrics = client.get("/metrics").content.decode()
    page = client.get("/admin/orders/reviewqueueorder/dashboard/").content.decode()

    for reason in ("retrying", "no_progress", "no_answer"):
        assert f'orders_stuck{{reason="{reason}"}} 1.0' in metrics, metrics
    assert "orders_stuck_lookup_ok 1.0" in metrics
    listed = page[page.index('id="stuck-orders"') :]
    assert all(standins[name] in listed for name in ("retrying", "quiet", "mute"))
    assert standins["review"] not in listed and standins["moving"] not in listed
    assert "character varying(500)" in listed
