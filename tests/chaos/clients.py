"""Clients that behave as a careful shop and reviewer do while things break: every request that got no answer,
or a 502/503, is sent again as it was (starts are idempotent by order id and body, decisions by Idempotency-Key)."""

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional
from urllib.parse import urlsplit

from bench.load import FINAL, START_BODY

RETRY_STATUSES = {502, 503, 504}


class Gone(Exception):
    """No usable answer before the deadline."""


class Api:
    def __init__(self, url: str, token: str):
        parts = urlsplit(url)
        self.host, self.port, self.token = parts.hostname, parts.port, token

    def once(self, method: str, path: str, body=None, headers: Optional[dict] = None, timeout: float = 30) -> tuple[int, dict, dict]:
        """One request on a new connection: (status, JSON body, headers). Raises OSError or HTTPException when
        the connection breaks."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers={
                "Authorization": f"Token {self.token}", "Content-Type": "application/json", **(headers or {})
            })
            response = conn.getresponse()
            raw = response.read()
            try:
                payload = json.loads(raw or b"null")
            except ValueError:
                payload = {"raw": raw[:200].decode(errors="replace")}
            return response.status, payload, dict(response.getheaders())
        finally:
            conn.close()

    def call(self, method: str, path: str, body=None, headers: Optional[dict] = None, deadline: float = 240) -> tuple[int, dict]:
        """Retry until a real answer (not a broken connection, not 502/503/504) or the deadline."""
        until = time.monotonic() + deadline
        while True:
            try:
                status, payload, _ = self.once(method, path, body, headers)
                if status not in RETRY_STATUSES:
                    return status, payload
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > until:
                raise Gone(f"{method} {path}: no answer in {deadline:.0f}s")
            time.sleep(0.5)


def start(shop: Api, order_id: str, body: Optional[dict] = None) -> None:
    status, answer = shop.call("POST", f"/orders/{order_id}/start", body or START_BODY)
    assert status in (200, 201, 202), (order_id, status, answer)


def status_of(api: Api, order_id: str, wait: int = 5) -> str:
    status, answer = api.call("GET", f"/orders/{order_id}/status?wait={wait}")
    if status == 404:  # started (202), its row not written yet
        return ""
    assert status == 200, (order_id, status, answer)
    return answer["status"]


def follow(shop: Api, reviewer: Optional[Api], order_id: str, deadline: float = 300) -> str:
    """Follow an order to its final status, approving it (once, by idempotency key) when it awaits review."""
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        current = status_of(shop, order_id)
        if current in FINAL:
            return current
        if current == "awaiting_review" and reviewer is not None:
            code, answer = reviewer.call("POST", f"/orders/{order_id}/signals/approve", headers={"Idempotency-Key": f"chaos-{order_id}"})
            assert code in (200, 202), (order_id, code, answer)
        elif current in ("", "received", "awaiting_review"):
            time.sleep(0.2)
    raise Gone(f"order {order_id} was not final after {deadline:.0f}s")


def run_orders(shop: Api, reviewer: Optional[Api], order_ids: list[str], concurrency: int = 16, body: Optional[dict] = None) -> dict[str, str]:
    """Start and follow every order, `concurrency` at a time; their final statuses by id."""

    def one(order_id: str) -> str:
        start(shop, order_id, body)
        return follow(shop, reviewer, order_id)

    with ThreadPoolExecutor(concurrency) as pool:
        return dict(zip(order_ids, pool.map(one, order_ids)))
