"""`make run` as a newcomer uses it: start it, wait for /readyz, run the demo, stop it, and check nothing is left
running; then start it again and find the data kept. Also: JSON logs from a worker process."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from bench.stack import wait_until_ready
from orders.models import Order
from orders.temporal import client as order_client
from tests.conftest import ROOT, wait_for_status
from tests.e2e.test_e2e import order_request
from workflows.binaries import temporal_cli
from workflows.devserver import free_port

pytestmark = pytest.mark.e2e


def descendants(pid: int) -> set[int]:
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        children = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
        for child in map(int, children):
            found.add(child)
            frontier.append(child)
    return found


class Stack:
    def __init__(self, tmp_path):
        self.web_port, self.temporal_port, self.ui_port = free_port(), free_port(), free_port()
        self.env = {
            **os.environ,
            # The embedded defaults, in a folder of this test's own.
            "DATABASE_URL": f"sqlite:///{tmp_path / 'stack.sqlite3'}",
            "RUN_DATA_DIR": str(tmp_path / "var"),
            "WEB_PORT": str(self.web_port),
            "TEMPORAL_PORT": str(self.temporal_port),
            "TEMPORAL_UI_PORT": str(self.ui_port),
            "WORKER_METRICS_PORT": str(free_port()),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
        }
        self.log = tmp_path / "stack.log"

    def start(self) -> subprocess.Popen:
        self.process = subprocess.Popen(
            ["make", "run"], cwd=ROOT, env=self.env, stdout=open(self.log, "a"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_ready(f"http://127.0.0.1:{self.web_port}/readyz", process=self.process, log=self.log)
        return self.process

    def manage(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env={**self.env, "DEBUG": "1"}, capture_output=True,
            text=True, timeout=300,
        )

    def stop(self) -> set[int]:
        """Ctrl-C, as a person would (SIGINT to the foreground process group); returns what is left running."""
        children = descendants(self.process.pid)
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=60)
        time.sleep(0.5)
        return {pid for pid in children if os.path.exists(f"/proc/{pid}") and not _zombie(pid)}


def _zombie(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().split(")")[1].split()[0] == "Z"
    except OSError:
        return True


def test_make_run_demo_and_clean_stop(tmp_path):
    stack = Stack(tmp_path)
    stack.start()
    try:
        children = descendants(stack.process.pid)
        demo = stack.manage("demo", "--orders", "5")
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{stack.web_port}/metrics", timeout=5).read().decode()
        # Static files come from gunicorn itself (whitenoise), so the admin and Swagger UI work without a proxy.
        css = urllib.request.urlopen(f"http://127.0.0.1:{stack.web_port}/static/admin/css/base.css", timeout=5)
        swagger = urllib.request.urlopen(
            f"http://127.0.0.1:{stack.web_port}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", timeout=5
        )
        worker_metrics = urllib.request.urlopen(
            f"http://127.0.0.1:{stack.env['WORKER_METRICS_PORT']}/metrics", timeout=5
        ).read().decode()
    finally:
        left = stack.stop()

    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "All 5 orders finished as expected." in demo.stdout
    assert demo.stdout.count("completed") >= 5
    assert len(children) >= 4  # make's recipe, the dev server, the workers and gunicorn (with its workers)
    assert "django_http_requests_total_by_method_total" in metrics
    assert css.status == 200 and swagger.status == 200
    assert "temporal_" in worker_metrics
    assert left == set(), f"still running after Ctrl-C: {left}"
    log = stack.log.read_text()
    assert "Admin (review queue): http://localhost:" in log and "Temporal Web UI:" in log
    assert "admin / admin" in log and "reviewer / reviewer" in log

    # A second run keeps the data: the orders, and their workflows in the persisted dev server.
    stack.start()
    try:
        listed = stack.manage("orders", "list", "--status", "completed", "--json")
        first = json.loads(listed.stdout)[0]["id"]
        described = subprocess.run(
            [temporal_cli(), "workflow", "describe", "--workflow-id", f"order-{first}",
             "--address", stack.env["TEMPORAL_ADDRESS"], "--output", "json"],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        left = stack.stop()

    assert len(json.loads(listed.stdout)) == 5
    assert json.loads(described.stdout)["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED", described.stderr
    assert left == set()


@pytest.mark.django_db(transaction=True)
def test_json_logs_carry_order_and_workflow_ids(start_worker):
    worker = start_worker(LOG_FORMAT="json")
    order_client.start_order(**order_request("log-1"))
    wait_for_status("log-1", Order.Status.AWAITING_REVIEW)
    worker.stop()

    lines = [line for line in worker.output().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    non_json = [line for line in worker.output().splitlines() if line.strip() and not line.startswith("{")]

    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    workflow_lines = [r for r in records if r["logger"] == "temporalio.workflow" and r.get("order_id") == "log-1"]
    activity_lines = [r for r in records if r["logger"] == "orders.temporal.activities" and r.get("order_id") == "log-1"]
    assert workflow_lines and all(r["workflow_id"] == "order-log-1" for r in workflow_lines)
    assert {r["message"].split(" ")[0] for r in activity_lines} >= {"receive_order", "screen_order"}
    assert all(r["workflow_id"] == "order-log-1" for r in activity_lines)
    # Only the command's own banner lines are plain text.
    assert all(line.startswith(("Starting workers", "Workers stopped")) for line in non_json), non_json
