"""The benchmark's clients: C threads, each with its own keep-alive HTTP connection, driving orders through the REST
API as a shop and a reviewer would (start, approve once it awaits review, follow it to the end), or reading."""

import http.client
import json
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional
from urllib.parse import urlsplit

FINAL = {"completed", "cancelled", "rejected", "payment_failed", "failed"}
POLL_SECONDS = 0.1

START_BODY = {
    "customer_name": "Bench Customer",
    "customer_email": "bench@example.com",
    "currency": "USD",
    "items": [{"sku": "BENCH-1", "quantity": 1, "unit_price": "12.50"}],
    "shipping_address": {"name": "Bench", "line1": "1 Main St", "city": "London", "postal_code": "N1", "country": "GB"},
}


@dataclass
class OrderRun:
    order_id: str
    status: str = ""
    client_seconds: Optional[float] = None  # start request sent -> final status seen
    server_seconds: Optional[float] = None  # `received` event -> final event, by the server's timestamps
    captured_payments: int = 0
    error: str = ""


class Recorder:
    """Request times by route, from every thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, route: str, seconds: float, status: int) -> None:
        with self._lock:
            self.times[route].append(seconds)
            self.statuses[route][status] += 1


class Api:
    """poll: follow orders by polling GET /orders/{id}/ every POLL_SECONDS, as a naive client would; otherwise
    wait for them with GET /orders/{id}/status?wait=N."""

    def __init__(self, url: str, client_token: str, reviewer_token: str, recorder: Recorder, poll: bool = False):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.client_token, self.reviewer_token, self.recorder, self.poll = client_token, reviewer_token, recorder, poll
        self._local = threading.local()

    def _connection(self, fresh: bool = False) -> http.client.HTTPConnection:
        if fresh or getattr(self._local, "conn", None) is None:
            self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        return self._local.conn

    def call(self, route: str, method: str, path: str, token: str, body=None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        began = time.monotonic()
        for attempt in (1, 2):  # a keep-alive connection the server closed is reopened once
            conn = self._connection(fresh=attempt == 2)
            try:
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                if attempt == 2:
                    raise
        self.recorder.add(route, time.monotonic() - began, response.status)
        return response.status, json.loads(payload or b"null")

    def order(self, order_id: str, approve: bool = True) -> OrderRun:
        """One order from start to its final status (or, without approve, to awaiting review)."""
        run = OrderRun(order_id)
        began = time.monotonic()
        status, body = self.call("POST /orders/{id}/start", "POST", f"/orders/{order_id}/start", self.client_token, START_BODY)
        if status not in (200, 201, 202):
            run.error = f"start answered {status}: {body}"
            return run
        current = body.get("order", {}).get("status", "") if status != 202 else ""
        approved = False
        while True:
            if current in FINAL or (current == "awaiting_review" and not approve):
                break
            if current == "awaiting_review" and not approved:
                approved = True
                code, answer = self.call(
                    "POST /orders/{id}/signals/approve", "POST", f"/orders/{order_id}/signals/approve", self.reviewer_token
                )
                if code not in (200, 202):
                    run.error = f"approve answered {code}: {answer}"
                    return run
                current = answer.get("status", "")
                continue
            if self.poll or current != "approved" and current not in ("paid", "shipping"):
                time.sleep(POLL_SECONDS)
                code, answer = self.call("GET /orders/{id}/", "GET", f"/orders/{order_id}/", self.client_token)
            else:
                code, answer = self.call(
                    "GET /orders/{id}/status?wait=30", "GET", f"/orders/{order_id}/status?wait=30", self.client_token
                )
            if code != 200:
                run.error = f"reading the order answered {code}: {answer}"
                return run
            current = answer["status"]
        run.client_seconds = time.monotonic() - began
        run.status = current
        if current in FINAL:
            code, detail = self.call("GET /orders/{id}/", "GET", f"/orders/{order_id}/", self.client_token)
            events = detail["events"]
            run.server_seconds = (_timestamp(events[-1]["created_at"]) - _timestamp(events[0]["created_at"])).total_seconds()
            run.captured_payments = sum(p["status"] == "captured" for p in detail["payments"])
        return run


def _timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def drive_orders(api: Api, order_ids: list[str], concurrency: int, approve: bool = True, progress: Callable = lambda: None) -> tuple[list[OrderRun], float]:
    """All orders, `concurrency` at a time; returns their runs and the wall time."""

    def one(order_id: str) -> OrderRun:
        try:
            return api.order(order_id, approve=approve)
        except Exception as exc:  # reported per order; the run goes on
            return OrderRun(order_id, error=f"{type(exc).__name__}: {exc}")
        finally:
            progress()

    began = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        runs = list(pool.map(one, order_ids))
    return runs, time.monotonic() - began


def bulk_approve(api: Api, order_ids: list[str], max_rounds: int = 10) -> list[dict]:
    """Approve the orders with POST /orders/bulk/approve as a reviewer would: once, then again with those whose
    outcome was unknown (not taken within the budget), until none is left. One entry per round."""
    rounds, remaining = [], list(order_ids)
    while remaining and len(rounds) < max_rounds:
        began = time.monotonic()
        status, body = api.call("POST /orders/bulk/approve", "POST", "/orders/bulk/approve", api.reviewer_token, {"ids": remaining})
        seconds = time.monotonic() - began
        if status != 200:
            rounds.append({"orders": len(remaining), "seconds": round(seconds, 2), "status": status, "counts": {}})
            break
        unknown = [o["id"] for o in body["outcomes"] if o["outcome"] == "unknown"]
        rounds.append({"orders": len(remaining), "seconds": round(seconds, 2), "status": status, "counts": body["counts"], "unknown": unknown[:20]})
        remaining = unknown
    return rounds


def wait_until_final(api: Api, order_ids: list[str], concurrency: int) -> dict[str, int]:
    """Follow the orders with GET /orders/{id}/status?wait=30 until each is final; their final statuses, counted."""

    def final(order_id: str) -> str:
        for _ in range(10):
            code, answer = api.call("GET /orders/{id}/status?wait=30", "GET", f"/orders/{order_id}/status?wait=30", api.client_token)
            if code == 200 and answer["status"] in FINAL:
                return answer["status"]
        return "not final"

    counts: dict[str, int] = defaultdict(int)
    with ThreadPoolExecutor(concurrency) as pool:
        for status in pool.map(final, order_ids):
            counts[status] += 1
    return dict(counts)


def hammer(api: Api, route: str, paths: list[str], seconds: float, concurrency: int) -> float:
    """GET the paths round-robin from `concurrency` threads for `seconds`; returns requests per second."""
    deadline = time.monotonic() + seconds
    counts = []

    def loop(offset: int) -> None:
        done = 0
        while time.monotonic() < deadline:
            status, _ = api.call(route, "GET", paths[(offset + done) % len(paths)], api.client_token)
            if status != 200:
                raise RuntimeError(f"{route} answered {status}")
            done += 1
        counts.append(done)

    began = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(loop, range(concurrency)))
    return sum(counts) / (time.monotonic() - began)
