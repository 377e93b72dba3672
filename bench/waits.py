"""Long polls beside everything else (`manage.py bench_waits`, `make bench-waits`): many clients wait on their orders
with GET /orders/{id}/status?wait=N at once, while probes read /healthz, the admin's order page and
GET /orders/{id}/ as people and other integrations would. What it measures: the probes' latency while every wait is
open, the 5xx answers, and the waits cut short (answered before their N seconds, or not with 200, while the order
was not final). It never asserts a timing."""

import http.client
import json
import re
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from bench import procs
from bench.load import FINAL, Api, Recorder
from bench.stack import Stack
from bench.stats import percentiles

NO_ANSWER = 0  # the status recorded when the connection failed
MAKE_CLIENTS = """
from rest_framework.authtoken.models import Token
from django.contrib.auth.models import Group, User
group = Group.objects.get(name="Order clients")
for n in range({clients}):
    user, _ = User.objects.get_or_create(username=f"bench-shop-{{n}}")
    user.groups.add(group)
    print("token", Token.objects.get_or_create(user=user)[0].key)
"""


@dataclass
class Wait:
    order_id: str
    code: int = 0
    status: str = ""
    seconds: float = 0.0
    error: str = ""

    def cut_short(self, wait: float) -> bool:
        """Answered otherwise than 200, or before its time while the order was not final."""
        return self.code != 200 or (self.status not in FINAL and self.seconds < wait - 0.5)


@dataclass
class Window:
    """The probes' time while every wait is open: from the last wait sent to the first one answered."""

    all_sent: threading.Event = field(default_factory=threading.Event)
    first_answer: threading.Event = field(default_factory=threading.Event)


def client_tokens(stack: Stack, clients: int) -> list[str]:
    out = stack.manage("shell", "-c", MAKE_CLIENTS.format(clients=clients))
    return re.findall(r"token ([0-9a-f]{40})", out)


def place_orders(stack: Stack, tokens: list[str], orders: int, run: str, concurrency: int = 16) -> dict[str, str]:
    """`orders` orders left waiting for review, spread over the clients: order id -> its client's token."""
    owners = {f"wait-{run}-{n}": tokens[n % len(tokens)] for n in range(orders)}
    apis = {token: Api(stack.url, token, stack.reviewer_token, Recorder()) for token in tokens}
    with ThreadPoolExecutor(concurrency) as pool:
        runs = list(pool.map(lambda item: apis[item[1]].order(item[0], approve=False), owners.items()))
    bad = [f"{r.order_id}: {r.error or r.status}" for r in runs if r.error or r.status != "awaiting_review"]
    if bad:
        raise RuntimeError(f"{len(bad)} orders did not reach awaiting_review: {bad[:5]}")
    return owners


class Session:
    """A reviewer signed in to the admin, on one keep-alive connection."""

    def __init__(self, url: str, username: str, password: str):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.get("/admin/login/")
        body = urlencode({"username": username, "password": password, "next": "/admin/", "csrfmiddlewaretoken": self.cookies["csrftoken"]})
        code = self.request("POST", "/admin/login/", body, {"Content-Type": "application/x-www-form-urlencoded"})
        if code != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"the admin sign-in answered {code}")

    def get(self, path: str) -> int:
        return self.request("GET", path)

    def request(self, method: str, path: str, body=None, headers=None) -> int:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):  # a keep-alive connection the server closed is reopened once
            try:
                self.conn.request(method, path, body=body, headers={**(headers or {}), "Cookie": cookie})
                response = self.conn.getresponse()
                response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status


def open_waits(url: str, owners: dict[str, str], wait: float, window: Window) -> list[Wait]:
    """One thread and connection per order, each waiting on its order with ?wait=`wait`."""
    parts = urlsplit(url)
    waits = [Wait(order_id) for order_id in owners]
    sent, lock = [0], threading.Lock()

    def one(result: Wait) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=wait + 60)
        began = time.monotonic()
        try:
            conn.request("GET", f"/orders/{result.order_id}/status?wait={wait:g}", headers={"Authorization": f"Token {owners[result.order_id]}"})
            with lock:
                sent[0] += 1
                if sent[0] == len(waits):
                    window.all_sent.set()
            response = conn.getresponse()
            body = json.loads(response.read() or b"null")
            result.code, result.status = response.status, (body or {}).get("status", "")
        except (OSError, http.client.HTTPException, ValueError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            result.seconds = time.monotonic() - began
            window.first_answer.set()
            conn.close()

    threads = [threading.Thread(target=one, args=(w,), daemon=True) for w in waits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    window.all_sent.set()  # even if some could not be sent
    return waits


def probe(start: threading.Event, stop: threading.Event, recorder: "Timeline", name: str, call, every: float) -> None:
    """Call `call` (returns an HTTP status) every `every` seconds from `start` until `stop`; the slowest answers
    are kept with when they came (seconds after `start`)."""
    start.wait()
    opened = time.monotonic()
    while not stop.is_set():
        began = time.monotonic()
        try:
            code = call()
        except (OSError, http.client.HTTPException):
            code = NO_ANSWER
        seconds = time.monotonic() - began
        recorder.add_at(name, seconds, code, began - opened)
        time.sleep(max(0.0, every - seconds))


class Timeline(Recorder):
    """Request times by route, and when each was sent."""

    def __init__(self):
        super().__init__()
        self.when: dict[str, list[tuple[float, float]]] = defaultdict(list)

    def add_at(self, route: str, seconds: float, status: int, at: float) -> None:
        self.add(route, seconds, status)
        with self._lock:
            self.when[route].append((round(at, 2), round(seconds, 4)))


def probing(probes: dict, start: threading.Event, stop: threading.Event, every: float) -> tuple[Timeline, list[threading.Thread]]:
    recorder = Timeline()
    threads = [threading.Thread(target=probe, args=(start, stop, recorder, name, call, every), daemon=True) for name, call in probes.items()]
    for thread in threads:
        thread.start()
    return recorder, threads


def web_threads(stack: Stack) -> dict[int, int]:
    """OS threads of each gunicorn process (its master and workers)."""
    counts = {}
    for pid in procs.children(stack.root_pid) if stack.root_pid else []:
        if procs.role(pid) == "web":
            status = procs._read(pid, "status")
            found = re.search(r"^Threads:\s+(\d+)", status, re.M)
            if found:
                counts[pid] = int(found.group(1))
    return counts


def run(stack: Stack, owners: dict[str, str], *, wait: float, admin: tuple[str, str], alone: float, every: float) -> dict:
    """Probe alone for `alone` seconds (the baseline); then open a wait on every order at once and probe meanwhile."""
    order_id, token = next(iter(owners.items()))
    reader = Api(stack.url, token, stack.reviewer_token, Recorder())
    admin_session = Session(stack.url, *admin)
    healthz = Api(stack.url, "", "", Recorder())
    probes = {
        "GET /healthz": lambda: healthz.call("h", "GET", "/healthz", "")[0],
        "admin order page": lambda: admin_session.get(f"/admin/orders/order/{order_id}/change/"),
        "GET /orders/{id}/": lambda: reader.call("d", "GET", f"/orders/{order_id}/", token)[0],
    }
    started, stop = threading.Event(), threading.Event()
    started.set()
    baseline, helpers = probing(probes, started, stop, every)
    time.sleep(alone)
    stop.set()
    for helper in helpers:
        helper.join()

    window = Window()
    recorder, helpers = probing(probes, window.all_sent, window.first_answer, every)
    threads_seen: dict[int, int] = {}

    def sample_threads() -> None:
        window.all_sent.wait()
        time.sleep(min(5.0, wait / 4))
        threads_seen.update(web_threads(stack))

    helpers.append(threading.Thread(target=sample_threads, daemon=True))
    helpers[-1].start()
    before = procs.by_role(stack.root_pid) if stack.root_pid else None
    began = time.monotonic()
    waits = open_waits(stack.url, owners, wait, window)
    wall = time.monotonic() - began
    for helper in helpers:
        helper.join()
    resources = procs.usage(before, procs.by_role(stack.root_pid)) if before else None
    return figures(waits, recorder, baseline, wait, wall, threads_seen, resources)


def figures(waits: list[Wait], recorder: Recorder, baseline: Recorder, wait: float, wall: float, threads: dict, resources) -> dict:
    codes: dict[int, int] = defaultdict(int)
    for w in waits:
        codes[w.code] += 1
    answers = [codes, *recorder.statuses.values(), *baseline.statuses.values()]
    server_errors = sum(n for statuses in answers for code, n in statuses.items() if code >= 500)
    no_answer = sum(statuses.get(NO_ANSWER, 0) for statuses in answers)
    report = {
        "waits": len(waits),
        "wait_seconds": wait,
        "seconds": round(wall, 1),
        "wait_statuses": {str(code): n for code, n in sorted(codes.items())},
        "waits_cut_short": sum(w.cut_short(wait) for w in waits),
        "cut_short_examples": [f"{w.order_id}: {w.code} {w.status or w.error} after {w.seconds:.1f}s" for w in waits if w.cut_short(wait)][:10],
        "wait_answered_after": percentiles([w.seconds for w in waits]),
        "server_errors": server_errors,
        "no_answer": no_answer,
        "probes": {
            name: {
                "requests": len(times),
                **percentiles(times),
                "statuses": dict(recorder.statuses[name]),
                "slowest_at": sorted(recorder.when[name], key=lambda sample: -sample[1])[:10],
            }
            for name, times in sorted(recorder.times.items())
        },
        "probes_alone": {
            name: {"requests": len(times), **percentiles(times), "statuses": dict(baseline.statuses[name])}
            for name, times in sorted(baseline.times.items())
        },
        "web_process_threads": threads,
    }
    if resources:
        report["resources"] = resources
    return report
