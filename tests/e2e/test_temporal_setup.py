"""A Temporal namespace that was not set up, on the dev server with the real web (a live server) and worker
processes: /readyz says so, a start answers 503 JSON naming `manage.py temporal_setup`, the workers say it loudly,
and once the setup has run the same web and workers take orders without a restart."""

import os
import subprocess
import sys
import time
import uuid

import pytest

from orders.models import Order
from orders.temporal import client as order_client
from orders.temporal import readiness
from tests.api.test_api import START_BODY
from tests.api.test_api_e2e import Http, token_for
from tests.conftest import ROOT, WorkerProcess, database_url, wait_for_status
from workflows.binaries import temporal_cli
from workflows.codec import new_key

e2e = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FIX = "manage.py temporal_setup"


def app_env(live_temporal) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "TEMPORAL_ADDRESS": live_temporal.TEMPORAL_ADDRESS,
        "TEMPORAL_NAMESPACE": live_temporal.TEMPORAL_NAMESPACE,
        "TEMPORAL_MAIN_TASK_QUEUE": live_temporal.TEMPORAL_MAIN_TASK_QUEUE,
        "TEMPORAL_SHIPPING_TASK_QUEUE": live_temporal.TEMPORAL_SHIPPING_TASK_QUEUE,
        "DB_POOL_MAX_SIZE": "8",
        "WORKER_METRICS_PORT": "0",
    }


def temporal_setup(live_temporal) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "temporal_setup", "--wait", "30"],
        cwd=ROOT, env=app_env(live_temporal), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def readyz(live_server) -> tuple[int, dict]:
    status, body = Http(live_server.url, "")("GET", "/readyz")
    return status, body["checks"]["temporal"]


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return found


@pytest.fixture
def namespace(live_temporal):
    """A namespace of this test's own, on the session's dev server (which sets up only `default`)."""
    live_temporal.TEMPORAL_NAMESPACE = f"bare-{uuid.uuid4().hex[:8]}"
    order_client._runner._client = None
    return live_temporal.TEMPORAL_NAMESPACE


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_namespace_without_the_search_attributes_works_once_the_setup_has_run(live_temporal, live_server, namespace, roles):
    subprocess.run(
        [temporal_cli(), "operator", "namespace", "create", "--namespace", namespace, "--address", live_temporal.TEMPORAL_ADDRESS],
        check=True, capture_output=True, timeout=60,
    )
    worker = WorkerProcess(app_env(live_temporal))  # polls: the namespace exists
    shop = Http(live_server.url, token_for("shop", "Order clients"))
    try:
        ready_before = readyz(live_server)
        refused = shop("POST", "/orders/bare-1/start", START_BODY)

        setup = temporal_setup(live_temporal)
        ready_after = readyz(live_server)
        started = shop("POST", "/orders/bare-1/start", START_BODY)
        order = wait_for_status("bare-1", Order.Status.AWAITING_REVIEW)
    finally:
        assert worker.stop() == 0, worker.output()

    assert ready_before[0] == 503 and not ready_before[1]["ok"]
    assert "OrderStatus" in ready_before[1]["detail"] and FIX in ready_before[1]["detail"]
    assert refused[0] == 503 and refused[1]["error"] == "temporal_not_set_up", refused
    assert FIX in refused[1]["detail"] and namespace in refused[1]["detail"]
    assert "ERROR" in worker.output() and FIX in worker.output()
    assert "Search attribute OrderStatus: added" in setup and "in effect" in setup
    assert ready_after[0] == 200 and ready_after[1]["ok"], ready_after
    assert started[0] in (201, 202), started
    assert order.status == Order.Status.AWAITING_REVIEW


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_workers_wait_for_a_namespace_that_does_not_exist_yet(live_temporal, live_server, namespace, roles):
    log = open(ROOT / "var" / f"worker-{namespace}.log", "w+")
    worker = subprocess.Popen([sys.executable, "manage.py", "run_workers"], cwd=ROOT, env=app_env(live_temporal), stdout=log, stderr=subprocess.STDOUT)
    shop = Http(live_server.url, token_for("shop", "Order clients"))

    def output() -> str:
        log.seek(0)
        return log.read()

    try:
        said = wait_for(lambda: FIX in output() and output())
        ready_before = readyz(live_server)
        refused = shop("POST", "/orders/fresh-1/start", START_BODY)

        temporal_setup(live_temporal)
        wait_for(lambda: "workers polling" in output())
        started = shop("POST", "/orders/fresh-1/start", START_BODY)
        order = wait_for_status("fresh-1", Order.Status.AWAITING_REVIEW)
    finally:
        worker.terminate()
        code = worker.wait(timeout=30)

    assert "ERROR" in said and f"namespace {namespace} does not exist" in said and "workers polling" not in said
    assert worker.returncode is not None and code == 0, output()
    assert ready_before[0] == 503 and "does not exist" in ready_before[1]["detail"] and FIX in ready_before[1]["detail"]
    assert refused[0] == 503 and refused[1]["error"] == "temporal_not_set_up" and FIX in refused[1]["detail"], refused
    assert started[0] in (201, 202), started
    assert order.status == Order.Status.AWAITING_REVIEW


@pytest.mark.parametrize(
    "keys, active, problem",
    [("", "", None), (f"k1:{new_key()}", "k1", None), ("k1:dG9vIHNob3J0", "k1", "the payload key does not work")],
)
async def test_readiness_checks_that_the_payload_key_works(settings, keys, active, problem):
    settings.TEMPORAL_PAYLOAD_KEYS, settings.TEMPORAL_PAYLOAD_KEY_ID = keys, active
    found = await readiness.codec_problem()
    assert found == problem if problem is None else problem in found


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_an_attribute_of_another_type_is_named_with_its_fix(live_temporal, live_server, namespace):
    address = ["--namespace", namespace, "--address", live_temporal.TEMPORAL_ADDRESS]
    subprocess.run([temporal_cli(), "operator", "namespace", "create", *address], check=True, capture_output=True, timeout=60)
    subprocess.run(
        [temporal_cli(), "operator", "search-attribute", "create", "--name", "OrderStatus", "--type", "Text", *address],
        check=True, capture_output=True, timeout=60,
    )
    status, temporal = readyz(live_server)
    setup = subprocess.run(
        [sys.executable, "manage.py", "temporal_setup", "--wait", "30"],
        cwd=ROOT, env=app_env(live_temporal), capture_output=True, text=True, timeout=120,
    )

    assert status == 503 and "OrderStatus is text, not keyword" in temporal["detail"]
    assert f"search-attribute remove --name OrderStatus --namespace {namespace}" in temporal["detail"]
    assert setup.returncode == 2 and "OrderStatus is text, not keyword" in setup.stderr
