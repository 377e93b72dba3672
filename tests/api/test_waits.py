"""GET /orders/{id}/status?wait=N: a wait holds no thread of the web tier, waits on one order share one long poll,
and each client may have ORDER_WAITS_PER_CLIENT waits open at once (429 with Retry-After past it; a wait let in is
held to its end). The end-to-end tests run the web tier as `make run` runs it (run_stack.web_command)."""

import asyncio
import http.client
import json
import os
import signal
import subprocess
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from temporalio.client import Client

from bench.stack import wait_until_ready
from orders.api.waits import WaitSlots
from orders.management.commands.run_stack import web_command
from orders.models import Order
from orders.temporal import client as order_client
from orders.temporal import waiting
from tests.conftest import ROOT, database_url, wait_for_status
from tests.e2e.test_e2e import order_request
from tests.factories import OrderFactory
from workflows.devserver import free_port
from workflows.types import order_workflow_id


def client_user(username: str) -> User:
    user = User.objects.create_user(username)
    user.groups.add(Group.objects.get(name="Order clients"))
    return user


def token(user: User) -> str:
    return Token.objects.get_or_create(user=user)[0].key


# --- the cap, on the test client ----------------------------------------------------------------


@pytest.mark.django_db
class TestCap:
    @pytest.fixture(autouse=True)
    def small_cap(self, settings):
        settings.ORDER_WAITS_PER_CLIENT = 2
        cache.clear()
        yield
        cache.clear()

    def test_a_wait_past_the_clients_cap_is_refused_with_429_and_retry_after(self):
        shop = client_user("shop-a")
        order = OrderFactory(status=Order.Status.AWAITING_REVIEW, created_by=shop)
        held = [WaitSlots.take(client_id=shop.id, seconds=30) for _ in range(2)]
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token(shop)}")

        response = api.get(f"/orders/{order.id}/status?wait=5")

        assert response.status_code == 429, response.content
        assert response.json()["error"] == "too_many_waits"
        assert "2 waits open" in response.json()["detail"]
        assert 1 <= int(response["Retry-After"]) <= 30
        assert len(set(held)) == 2

    def test_reading_a_final_order_is_no_wait(self):
        shop = client_user("shop-a")
        order = OrderFactory(status=Order.Status.COMPLETED, created_by=shop)
        for _ in range(2):
            WaitSlots.take(client_id=shop.id, seconds=30)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token(shop)}")

        response = api.get(f"/orders/{order.id}/status?wait=5")

        assert response.status_code == 200 and response.json()["status"] == "completed"

    def test_a_slot_given_back_is_taken_again(self):
        first = WaitSlots.take(client_id=7, seconds=30)
        WaitSlots.take(client_id=7, seconds=30)
        WaitSlots.give_back(first)

        assert WaitSlots.take(client_id=7, seconds=30) == first


def test_the_schema_documents_the_wait_and_its_429():
    schema = APIClient().get("/api/schema/?format=json").json()
    operation = schema["paths"]["/orders/{id}/status"]["get"]

    wait = next(p for p in operation["parameters"] if p["name"] == "wait")
    assert (wait["in"], wait["schema"]["minimum"], wait["schema"]["maximum"]) == ("query", 0, 60)
    assert {"200", "400", "401", "403", "404", "429", "503"} <= set(operation["responses"])
    assert operation["operationId"] == "orders_status_retrieve"


# --- one long poll per order ----------------------------------------------------------------------


async def until(condition) -> None:
    async with asyncio.timeout(30):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture
async def unworked_workflow(live_temporal):
    """An order workflow that no worker runs: it stays open until it is terminated."""
    temporal = await Client.connect(live_temporal.TEMPORAL_ADDRESS)
    order_id = f"shared-{uuid.uuid4().hex[:8]}"
    handle = await temporal.start_workflow("OrderWorkflow", id=order_workflow_id(order_id), task_queue=f"nobody-{order_id}")
    yield order_id, handle
    if (await handle.describe()).status.name == "RUNNING":
        await handle.terminate()


async def test_waits_on_one_order_share_one_long_poll(unworked_workflow):
    order_id, handle = unworked_workflow
    waits = [asyncio.ensure_future(waiting.until_closed(order_id, 30)) for _ in range(3)]
    await until(lambda: order_id in waiting._here().waits and waiting._here().waits[order_id].waiters == 3)
    polls = [shared for key, shared in waiting._here().waits.items() if key == order_id]

    await handle.terminate()

    assert await asyncio.gather(*waits) == [True, True, True]
    assert len(polls) == 1
    await until(lambda: order_id not in waiting._here().waits)


async def test_a_wait_that_runs_out_ends_its_poll_when_nobody_else_waits(unworked_workflow):
    order_id, _ = unworked_workflow

    closed = await waiting.until_closed(order_id, 0.5)

    assert closed is False
    assert order_id not in waiting._here().waits


# --- the web tier, as `make run` runs it ----------------------------------------------------------


class WebServer:
    """gunicorn with run_stack's command, against the test database and dev server: one process of two threads."""

    PROCESSES, THREADS = 1, 2

    def __init__(self, live_temporal, log: Path, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "TEMPORAL_ADDRESS": live_temporal.TEMPORAL_ADDRESS,
            "TEMPORAL_MAIN_TASK_QUEUE": live_temporal.TEMPORAL_MAIN_TASK_QUEUE,
            "TEMPORAL_SHIPPING_TASK_QUEUE": live_temporal.TEMPORAL_SHIPPING_TASK_QUEUE,
            "DEBUG": "0",
            "SECRET_KEY": "test-" + "k" * 50,
            "HTTPS_ONLY": "0",
            "WEB_THREADS": str(self.THREADS),
            "DB_POOL_MAX_SIZE": "4",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        command = web_command(bind=f"127.0.0.1:{self.port}", workers=self.PROCESSES)
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        wait_until_ready(f"{self.url}/readyz", timeout=60, process=self.process, log=log)

    def has_read(self, connections: int) -> bool:
        """True once the server holds exactly `connections` connections and has read every byte sent on them: it
        has taken each request, not left it queued (read from the kernel's socket table, /proc/net/tcp)."""
        server_side = []
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local_port, state, queues = int(fields[1].split(":")[1], 16), fields[3], fields[4]
            if local_port == self.port and state == "01":  # ESTABLISHED
                server_side.append(int(queues.split(":")[1], 16))
        return len(server_side) == connections and not any(server_side)

    def until_read(self, connections: int) -> None:
        deadline = threading.Event()
        for _ in range(300):
            if self.has_read(connections):
                return
            deadline.wait(0.1)
        raise AssertionError(f"the server left some of the {connections} requests queued, unread:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


class OpenWait(threading.Thread):
    """GET /orders/{id}/status?wait=N on a connection of its own, answered whenever the server answers."""

    def __init__(self, url: str, key: str, order_id: str, seconds: float = 60):
        super().__init__(daemon=True)
        self.url, self.key, self.order_id, self.seconds = url, key, order_id, seconds
        self.code, self.body, self.headers = 0, {}, {}
        self.start()

    def run(self) -> None:
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.seconds + 60)
        conn.request("GET", f"/orders/{self.order_id}/status?wait={self.seconds:g}", headers={"Authorization": f"Token {self.key}"})
        response = conn.getresponse()
        self.code, self.headers, self.body = response.status, response.headers, json.loads(response.read())
        conn.close()


def call(url: str, method: str, path: str, key: str = "", body=None) -> tuple[int, dict]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Token {key}"} if key else {})}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    answer = (response.status, json.loads(response.read() or b"null"), response.headers)
    conn.close()
    return answer


@pytest.fixture
def web(live_temporal, start_worker, roles, tmp_path):
    start_worker()
    servers = []

    def boot(**env) -> WebServer:
        server = WebServer(live_temporal, tmp_path / f"web-{len(servers)}.log", **env)
        servers.append(server)
        return server

    yield boot
    for server in servers:
        server.stop()


def orders_of(user: User, count: int) -> list[str]:
    ids = [f"{user.username}-{uuid.uuid4().hex[:6]}" for _ in range(count)]
    for order_id in ids:
        order_client.start_order(**order_request(order_id), created_by_id=user.id)
    for order_id in ids:
        wait_for_status(order_id, Order.Status.AWAITING_REVIEW)
    return ids


def cancel(url: str, key: str, order_id: str) -> None:
    code, body, _ = call(url, "POST", f"/orders/{order_id}/signals/cancel", key, {"reason_code": "customer_request"})
    assert code in (200, 202), body


@pytest.mark.e2e
def test_healthz_answers_while_more_waits_are_open_than_the_web_tier_has_threads(web):
    server = web()
    shop = client_user("shop")
    key = token(shop)
    ids = orders_of(shop, server.PROCESSES * server.THREADS + 1)

    waits = [OpenWait(server.url, key, order_id) for order_id in ids]
    server.until_read(len(waits))
    healthz, _, _ = call(server.url, "GET", "/healthz")
    answered_before_healthz = [w.order_id for w in waits if not w.is_alive()]
    for order_id in ids:
        cancel(server.url, key, order_id)
    for w in waits:
        w.join(timeout=90)

    assert healthz == 200
    assert answered_before_healthz == []
    # Each wait was held until its order ended, then answered with the outcome.
    assert [(w.code, w.body.get("status")) for w in waits] == [(200, "cancelled")] * len(waits)


@pytest.mark.e2e
def test_a_client_past_its_cap_gets_429_and_the_waits_it_has_are_held_to_their_end(web):
    server = web(ORDER_WAITS_PER_CLIENT="2")
    shop, other = client_user("shop"), client_user("other-shop")
    shop_key, other_key = token(shop), token(other)
    first, second, third = orders_of(shop, 3)
    (others,) = orders_of(other, 1)

    held = [OpenWait(server.url, shop_key, first), OpenWait(server.url, shop_key, second)]
    server.until_read(2)
    refused, body, headers = call(server.url, "GET", f"/orders/{third}/status?wait=60", shop_key)
    other_wait = OpenWait(server.url, other_key, others)
    server.until_read(3)
    still_open = [w.is_alive() for w in [*held, other_wait]]
    for order_id in (first, second):
        cancel(server.url, shop_key, order_id)
    cancel(server.url, other_key, others)
    for w in [*held, other_wait]:
        w.join(timeout=90)
    # The slots were given back: the client may wait again.
    again = OpenWait(server.url, shop_key, third, seconds=1)
    again.join(timeout=60)

    assert refused == 429 and body["error"] == "too_many_waits"
    assert int(headers["Retry-After"]) >= 1
    assert still_open == [True, True, True]  # the other client is not counted against this one
    assert [(w.code, w.body.get("status")) for w in [*held, other_wait]] == [(200, "cancelled")] * 3
    assert (again.code, again.body.get("status")) == (200, "awaiting_review")
