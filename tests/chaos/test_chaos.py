"""The chaos scenarios, on the real stack: processes SIGKILLed, the Temporal server killed, PostgreSQL
stopped, a web worker killed mid-request, reviewers racing. Each ends with nothing lost (Scenario.assert_nothing_lost)."""

import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from bench.load import START_BODY
from orders.models import CarrierShipment, Order, Payment
from tests.chaos.clients import Api, follow, run_orders, start, status_of

pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True), pytest.mark.timeout(900)]

PG_VERSION = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0] if Path("/etc/postgresql").exists() else ""


def keep_killing(scenario, stop: threading.Event, every: float, kills: list, most: int = 4) -> None:
    """SIGKILL the worker processes in turn every `every` seconds (at most `most` times), starting each again a
    second later."""
    n = 0
    while n < most and not stop.wait(every):
        worker = scenario.stack.workers[n % len(scenario.stack.workers)]
        worker.kill()
        kills.append(time.monotonic())
        time.sleep(1)
        worker.start()
        n += 1


def test_worker_kills_under_faults(scenario):
    s = scenario(FLAKY_FAILURE_RATE="0.3", FLAKY_LOST_REPLY_RATE="0.3", FLAKY_MAX_DELAY="0.1")
    order_ids = [f"kill-{n:03}" for n in range(300)]
    stop, kills = threading.Event(), []
    killer = threading.Thread(target=keep_killing, args=(s, stop, 12.0, kills))
    killer.start()
    try:
        finals = run_orders(s.shop, s.reviewer, order_ids)
        while len(kills) < 3:  # a fast run still gets its three kills before the books are checked
            time.sleep(1)
    finally:
        stop.set()
        killer.join()

    assert len(kills) >= 3
    assert set(finals.values()) <= {"completed", "payment_failed", "failed"}, Counter(finals.values())
    assert Counter(finals.values())["completed"] >= 150, Counter(finals.values())
    s.assert_nothing_lost(order_ids)


def test_temporal_server_killed_and_restarted(scenario):
    s = scenario()
    order_ids = [f"tkill-{n:03}" for n in range(100)]

    def kill_and_restart():
        time.sleep(4)
        s.stack.temporal.kill()
        time.sleep(3)
        s.stack.start_temporal()  # the same data file

    chaos = threading.Thread(target=kill_and_restart)
    chaos.start()
    finals = run_orders(s.shop, s.reviewer, order_ids)
    chaos.join()

    assert s.stack.temporal.starts == 2
    assert Counter(finals.values()) == {"completed": 100}
    s.assert_nothing_lost(order_ids)


def pg_ctl(action: str) -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSION, "main", action, *(["-m", "fast"] if action == "stop" else [])], check=True)
    if action == "start":
        subprocess.run(["sh", "-c", "for i in $(seq 60); do pg_isready -h 127.0.0.1 -q && exit 0; sleep 0.5; done; exit 1"], check=True)


class Probe:
    """One request made while the database is down: what came back and how fast."""

    def __init__(self, api: Api, name: str, method: str, path: str, body=None, headers=None):
        began = time.monotonic()
        try:
            self.status, self.body, self.headers = api.once(method, path, body, headers, timeout=10)
        except OSError as exc:
            self.status, self.body, self.headers = 0, {"raw": repr(exc)}, {}
        self.name, self.seconds = name, time.monotonic() - began

    def __repr__(self):
        return f"{self.name}: {self.status} in {self.seconds:.2f}s {self.body}"


OUTAGE_SECONDS = 30
# The one request the circuit breaker lets through waits the pool's timeout (DB_POOL_TIMEOUT, 1.5 s) for a
# connection; the rest is this 2-core machine running the whole stack and eight drivers at once.
ANSWER_WITHIN = 1.5 + 1.0


def test_postgres_stopped_under_the_whole_stack(scenario):
    s = scenario()
    order_ids = [f"pg-{n:03}" for n in range(60)]
    session = Client()
    session.force_login(User.objects.get(username="rita"))
    csrf = _get_new_csrf_string()
    cookies = f"sessionid={session.cookies['sessionid'].value}; csrftoken={csrf}"
    browser = Api(s.stack.url, "")
    as_browser = {"Cookie": cookies, "X-CSRFToken": csrf, "Authorization": ""}
    for order_id in order_ids[:10]:
        start(s.shop, order_id)
    status_of(s.shop, order_ids[0], wait=0)

    driving = ThreadPoolExecutor(1).submit(run_orders, s.shop, s.reviewer, order_ids, 8)
    time.sleep(3)
    probes = []
    pg_ctl("stop")
    try:
        stopped = time.monotonic()
        while time.monotonic() - stopped < OUTAGE_SECONDS - 5:
            probes += [
                Probe(s.shop, "token list", "GET", "/orders/"),
                Probe(s.shop, "token detail", "GET", f"/orders/{order_ids[0]}/"),
                Probe(s.shop, "token status", "GET", f"/orders/{order_ids[0]}/status"),
                Probe(s.shop, "token start", "POST", "/orders/pg-new/start", START_BODY),
                Probe(s.reviewer, "token approve", "POST", f"/orders/{order_ids[1]}/signals/approve"),
                Probe(browser, "session list", "GET", "/orders/", headers=as_browser),
                Probe(browser, "session cancel", "POST", f"/orders/{order_ids[2]}/signals/cancel", {"reason_code": "customer_request"}, as_browser),
                Probe(browser, "readyz", "GET", "/readyz"),
                Probe(browser, "admin", "GET", "/admin/", headers=as_browser),
            ]
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
    finally:
        pg_ctl("start")
        connections.close_all()
    finals = driving.result(timeout=600)

    def answered_right(probe: Probe) -> bool:
        if probe.status != 503 or probe.seconds > ANSWER_WITHIN or not probe.headers.get("Retry-After"):
            return False
        if probe.name == "admin":
            return probe.headers["Content-Type"].startswith("text/html") and "Service unavailable" in probe.body["raw"]
        return probe.name == "readyz" or probe.body.get("error") == "unavailable"

    assert [p for p in probes if not answered_right(p)] == []
    assert len(probes) >= 9 * 2  # every kind of request, asked again and again through the outage
    assert Counter(finals.values()) == {"completed": 60}
    s.assert_nothing_lost(order_ids)


def test_web_worker_killed_mid_start_then_the_retry_is_idempotent(scenario):
    s = scenario()
    broken = None
    for attempt in range(10):  # until a kill lands while the start is being handled
        order_id = f"web-{attempt}"
        sending = ThreadPoolExecutor(1).submit(s.shop.once, "POST", f"/orders/{order_id}/start", START_BODY)
        time.sleep(0.05)
        for pid in s.stack.web_worker_pids():
            subprocess.run(["kill", "-9", str(pid)], check=False)
        try:
            sending.result(timeout=30)
        except OSError as exc:
            broken = (order_id, exc)
            break
        time.sleep(1)
    assert broken, "no start was ever cut off mid-request"
    order_id = broken[0]

    start(s.shop, order_id)  # the client's retry of the very same request
    start(s.shop, order_id)

    assert follow(s.shop, s.reviewer, order_id) == "completed"
    assert Order.objects.filter(pk=order_id).count() == 1
    assert Payment.objects.filter(order_id=order_id).count() == 1
    s.assert_nothing_lost([f"web-{n}" for n in range(int(order_id.split("-")[1]) + 1) if Order.objects.filter(pk=f"web-{n}").exists()])


def test_approve_against_cancel_on_100_orders(scenario):
    s = scenario()
    order_ids = [f"race-{n:03}" for n in range(100)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda order_id: start(s.shop, order_id), order_ids))
        for order_id in order_ids:
            while status_of(s.shop, order_id, wait=0) != "awaiting_review":
                time.sleep(0.1)

        def race(n_and_id) -> tuple[int, int]:
            # The cancel follows the approval by 0 to 1.35 s: at once, during the payment, during the shipping.
            n, order_id = n_and_id
            approve = pool.submit(s.reviewer.call, "POST", f"/orders/{order_id}/signals/approve")
            time.sleep((n % 10) * 0.15)
            cancel = s.second_reviewer.call("POST", f"/orders/{order_id}/signals/cancel", {"reason_code": "customer_request"})
            return approve.result()[0], cancel[0]

        answers = dict(zip(order_ids, ThreadPoolExecutor(16).map(race, enumerate(order_ids))))
    finals = {order_id: follow(s.shop, None, order_id) for order_id in order_ids}

    for order_id, (approved, cancelled) in answers.items():
        assert approved in (200, 202) or (approved, finals[order_id]) == (409, "cancelled"), (order_id, approved)
        if finals[order_id] == "cancelled":
            assert cancelled in (200, 202), (order_id, cancelled)
            assert not Payment.objects.filter(order_id=order_id, status=Payment.Status.CAPTURED).exists()
        else:
            assert (finals[order_id], cancelled) == ("completed", 409), (order_id, finals[order_id], cancelled)
    assert len(set(finals.values())) == 2, Counter(finals.values())  # both outcomes really happened
    s.assert_nothing_lost(order_ids)


NEW_ADDRESS = {"name": "Moved", "line1": "9 New Road", "city": "Leeds", "postal_code": "LS1", "country": "GB"}


def test_address_change_against_dispatch(scenario):
    """Changes sent at spread moments around the dispatch: each one accepted reaches the carrier; each one that
    missed it is refused with the reason."""
    s = scenario(FLAKY_MAX_DELAY="0.3")
    order_ids = [f"addr-{n:02}" for n in range(40)]
    for order_id in order_ids:
        start(s.shop, order_id)

    def approve_then_move(n_and_id) -> tuple[int, dict]:
        n, order_id = n_and_id
        while status_of(s.shop, order_id, wait=0) != "awaiting_review":
            time.sleep(0.1)
        s.reviewer.call("POST", f"/orders/{order_id}/signals/approve")
        time.sleep(n * 0.05)  # 0 to 2 s after the approval: before, during and after the dispatch
        return s.shop.call("POST", f"/orders/{order_id}/signals/update-address", {**NEW_ADDRESS, "line1": f"{n} New Road"})

    with ThreadPoolExecutor(16) as pool:
        answers = dict(zip(order_ids, pool.map(approve_then_move, enumerate(order_ids))))
    finals = {order_id: follow(s.shop, None, order_id) for order_id in order_ids}

    outcomes = Counter()
    for n, order_id in enumerate(order_ids):
        status, answer = answers[order_id]
        shipped = CarrierShipment.objects.get(order_id=order_id, state=CarrierShipment.State.DISPATCHED).address
        assert finals[order_id] == "completed"
        if status in (200, 202) and answer.get("accepted"):
            assert shipped["line1"] == f"{n} New Road", (order_id, answer, shipped)
            outcomes["accepted"] += 1
        else:
            assert status == 409 and answer["detail"], (order_id, status, answer)
            assert shipped["line1"] == START_BODY["shipping_address"]["line1"], (order_id, shipped)
            outcomes["refused"] += 1
    assert outcomes["accepted"] and outcomes["refused"], outcomes  # the changes really straddled the dispatch
    s.assert_nothing_lost(order_ids)
