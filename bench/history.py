"""A shop's order history, generated for `manage.py fill_orders`: rows of the orders table, in time order, for COPY.

The shape (one seed gives the same history):
- customers from a pool with a long tail: most order a few times, a few hundred times; a share of orders come
  from one-off customers. Names, emails and addresses come from pools of different sizes, so households share
  an address and common names meet at a postal code; some orders spell the email (+tag, capitals) or the
  address differently, which the keys (orders/risk/keys.py) still link;
- more orders lately than two years ago; bursts (card testing: one address, many emails within minutes, or one
  email with many addresses), mostly cancelled, a share of them marked as fraud;
- mostly completed, some cancelled, rejected, failed; the last days' orders still on their way or awaiting
  review; the assessment (score, band, route, signals) and the decision filled in as the app leaves them.
"""

import json
import math
import random
from datetime import datetime, timedelta
from hashlib import sha256
from typing import Iterator

from bench.history_pools import CATALOG_SIZE, Pools, customer_email, reviewer_names
from orders.risk import keys as risk_keys
from workflows import risk
from workflows.types import order_workflow_id

COLUMNS = (
    "id", "customer_name", "customer_email", "items", "amount", "currency", "shipping_address", "status",
    "status_reason", "payment_id", "workflow_id", "fingerprint", "reviewer", "decided_at", "escalated", "claimed_by",
    "approvals", "approvals_required", "review_escalate_after", "review_timeout", "review_started_at",
    "escalates_at", "auto_cancels_at", "shipping_attempts", "tracking_number", "created_at", "updated_at",
    "email_key", "address_key", "name_key", "risk_score", "risk_band", "risk_signals", "risk_route", "decided_by",
    "decision", "fraud",
)  # fmt: skip
ID_PREFIX = "fill-"
ONE_OFF_SHARE = 0.3  # orders from customers who never order again
ORDERS_PER_BURST = (5, 30)
ESCALATE_AFTER, REVIEW_TIMEOUT = timedelta(hours=1), timedelta(days=1)
MEDIUM_FROM, HIGH_FROM = 30, 70  # the settings' defaults: the bands the stored assessments were made with

# Final statuses of orders older than a few days, and their shares; bursts end mostly cancelled.
SETTLED = (("completed", 0.905), ("cancelled", 0.06), ("payment_failed", 0.015), ("rejected", 0.01), ("failed", 0.01))
BURST_SETTLED = (("cancelled", 0.6), ("completed", 0.3), ("rejected", 0.1))
RECENT = (("awaiting_review", 0.35), ("approved", 0.05), ("paid", 0.05), ("shipping", 0.25), ("completed", 0.25), ("cancelled", 0.05))
VALIDATED_NOT_DECIDED = {"awaiting_review"}
NOT_VALIDATED = {"rejected"}
CANCEL_LABELS = {"customer_request": "Customer request", "suspected_fraud": "Suspected fraud", "out_of_stock": "Out of stock"}
OTHER_CANCEL_CODES = ("customer_request", "out_of_stock")


def _pick(rng: random.Random, shares) -> str:
    roll, total = rng.random(), 0.0
    for value, share in shares:
        total += share
        if roll < total:
            return value
    return shares[0][0]


class History:
    """`rows()` yields the orders, oldest first, as tuples in COLUMNS' order."""

    def __init__(self, orders: int, *, until: datetime, days: int = 730, seed: int = 1):
        self.orders, self.until, self.days = orders, until, days
        self.rng = random.Random(seed)
        self.customers = max(10, int(orders * 0.25))
        # Households share an address: a little fewer addresses than customers, one-off ones included.
        self.pools = Pools(self.rng, customers=self.customers, addresses=int((self.customers + orders * ONE_OFF_SHARE) * 0.85))
        self.reviewers = reviewer_names()
        self._addresses: dict[tuple, tuple] = {}
        self._names: dict[tuple, str] = {}
        self._emails: dict[str, str] = {}
        self._signals_json: dict[tuple, str] = {}
        self.completed_emails: set[str] = set()
        self.marked_emails: set[str] = set()
        self.marked_addresses: set[str] = set()
        self.one_off = self.customers  # one-off customers are numbered after the pool

    # --- the plan: when each order comes, and from whom -------------------------------------------

    def _plan(self) -> list[tuple]:
        rng, span = self.rng, self.days * 86400.0
        bursts = max(1, self.orders // 3000)
        burst_orders = []
        for burst in range(bursts):
            size = rng.randint(*ORDERS_PER_BURST)
            start = rng.random() * span
            minutes = rng.choice((5, 10, 30, 60))
            by_email = rng.random() < 0.3
            for _ in range(size):
                burst_orders.append((start + rng.random() * minutes * 60, "burst", (burst, by_email)))
        burst_orders = burst_orders[: max(0, self.orders - 1)]
        plan = burst_orders
        # Denser lately: order times with density growing from 1 to 3 across the span.
        for _ in range(self.orders - len(burst_orders)):
            x = (-1 + math.sqrt(1 + 8 * rng.random())) / 2
            plan.append((x * span, "regular", None))
        plan.sort(key=lambda event: event[0])
        return plan

    def _customer(self) -> int:
        if self.rng.random() < ONE_OFF_SHARE:
            self.one_off += 1
            return self.one_off
        return int(self.customers * self.rng.random() ** 2)

    # --- one order -----------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple]:
        start = self.until - timedelta(days=self.days)
        for number, (offset, kind, detail) in enumerate(self._plan(), start=1):
            created = start + timedelta(seconds=offset)
            if kind == "burst":
                name, email, address = self._burst_customer(*detail)
            else:
                name, email, address = self._regular_customer(self._customer())
            yield self._row(number, created, name, email, address, burst=kind == "burst")

    def _regular_customer(self, customer: int):
        pools, rng = self.pools, self.rng
        name, email, home, other = pools.customer(customer)
        roll = rng.random()
        if roll < 0.05:
            email = email.replace("@", "+shop@")
        elif roll < 0.08:
            email = email.upper()
        address = pools.address(other if rng.random() < 0.08 else home)
        if rng.random() < 0.04:
            address = pools.respelled(address)
        return name, email, address

    def _burst_customer(self, burst: int, by_email: bool):
        pools, rng = self.pools, self.rng
        if by_email:
            name, email, _, _ = pools.customer(self.customers + 10_000_000 + burst)
            return name, email, pools.address(rng.randrange(pools.addresses))
        name = pools.name()
        return name, customer_email(rng, name, 20_000_000 + rng.randrange(10**6)), pools.drop_address(burst)

    def _keys_of(self, name: str, email: str, address: dict) -> tuple[dict, str]:
        """The keys, as orders/risk/keys.py computes them when the app receives the order (each of the three
        functions of order_keys, remembered per email, address and name), and the address as stored."""
        where = tuple(address.values())
        found = self._addresses.get(where)
        if found is None:
            found = self._addresses[where] = (risk_keys.address_key(address), json.dumps(address))
        at = (name, address["postal_code"], address["country"])
        named = self._names.get(at)
        if named is None:
            named = self._names[at] = risk_keys.name_key(name, address)
        emailed = self._emails.get(email)
        if emailed is None:
            emailed = self._emails[email] = risk_keys.email_key(email)
        return {"email_key": emailed, "address_key": found[0], "name_key": named}, found[1]

    def _json(self, signals: list[dict]) -> str:
        memo = tuple(s["text"] for s in signals)
        found = self._signals_json.get(memo)
        if found is None:
            found = self._signals_json[memo] = json.dumps(signals)
        return found

    def _row(self, number: int, created: datetime, name: str, email: str, address: dict, burst: bool) -> tuple:
        rng = self.rng
        order_id = f"{ID_PREFIX}{number:07d}"
        keys, address_json = self._keys_of(name, email, address)
        items, cents, large = self._items()
        age = self.until - created
        if age < timedelta(days=3):
            status = _pick(rng, RECENT)
        else:
            status = _pick(rng, BURST_SETTLED if burst else SETTLED)
        cancel_code = ""
        if status == "cancelled":
            cancel_code = "suspected_fraud" if rng.random() < (0.6 if burst else 0.05) else rng.choice(OTHER_CANCEL_CODES)
        fraud = self._fraud(status, cancel_code, burst)
        validated = status not in NOT_VALIDATED
        signals = self._signals(keys, email, large, burst) if validated else []
        score = max(0, min(100, sum(s["points"] for s in signals)))
        decided = validated and status not in VALIDATED_NOT_DECIDED
        review_started = created + timedelta(seconds=1 + rng.random() * 2)
        decided_at = review_started + timedelta(minutes=rng.lognormvariate(3, 1.2)) if decided else None
        decided_by = self._decided_by(status, cancel_code) if decided else ""
        reviewer = rng.choice(self.reviewers) if decided_by == "person" else ""
        approved = decided and status != "cancelled"
        updated = created if not validated else (decided_at or review_started)
        if status in ("completed", "shipping", "payment_failed", "failed"):
            updated = (decided_at or review_started) + timedelta(hours=rng.uniform(1, 96))
        if status == "completed":
            self.completed_emails.add(keys["email_key"])
        if fraud in ("suspected", "confirmed"):
            self.marked_emails.add(keys["email_key"])
            self.marked_addresses.add(keys["address_key"])
        return (
            order_id, name, email, items, f"{cents // 100}.{cents % 100:02d}", "USD", address_json, status,
            self._reason(status, cancel_code, decided_by), f"pay-{order_id}", order_workflow_id(order_id),
            sha256(order_id.encode()).hexdigest(), reviewer, decided_at,
            decided and rng.random() < 0.03, "", f'["{reviewer}"]' if approved and reviewer else "[]", 1,
            ESCALATE_AFTER, REVIEW_TIMEOUT,
            review_started if validated else None,
            review_started + ESCALATE_AFTER if validated else None,
            review_started + REVIEW_TIMEOUT if validated else None,
            1 if status in ("shipping", "completed") else 0,
            f"TRK{number:010d}" if status == "completed" else "",
            created, updated, keys["email_key"], keys["address_key"], keys["name_key"],
            score if validated else None,
            risk.band(score, MEDIUM_FROM, HIGH_FROM) if validated else "",
            self._json(signals),
            risk.suggested_route(score, None, None, MEDIUM_FROM, HIGH_FROM) if validated else "",
            decided_by,
            ("approved" if approved else "cancelled") if decided else "",
            fraud,
        )  # fmt: skip

    def _decided_by(self, status: str, cancel_code: str) -> str:
        if status != "cancelled" or cancel_code == "suspected_fraud":
            return "person"
        if cancel_code == "customer_request":
            return "client"
        return "system" if self.rng.random() < 0.3 else "person"  # a review that timed out

    def _items(self) -> tuple[str, int, bool]:
        rng, pools = self.rng, self.pools
        lines = 1 if rng.random() < 0.55 else (2 if rng.random() < 0.67 else rng.randint(3, 4))
        items, cents, large = [], 0, False
        for sku in rng.sample(range(CATALOG_SIZE), lines):
            roll = rng.random()
            quantity = 1 if roll < 0.8 else (rng.randint(2, 3) if roll < 0.997 else rng.randint(11, 40))
            large = large or quantity > 10
            price = pools.prices[sku]
            cents += price * quantity
            items.append(f'{{"sku": "SKU-{sku:04d}", "quantity": {quantity}, "unit_price": "{price // 100}.{price % 100:02d}"}}')
        return f"[{', '.join(items)}]", cents, large

    def _fraud(self, status: str, cancel_code: str, burst: bool) -> str:
        roll = self.rng.random()
        if cancel_code == "suspected_fraud":
            return "cleared" if roll < 0.05 else "suspected"
        if status == "completed":
            if roll < (0.2 if burst else 0.002):
                return "confirmed"
            if roll < (0.2 if burst else 0.002) + 0.0005:
                return "cleared"
        return ""

    def _signals(self, keys: dict, email: str, large: bool, burst: bool) -> list[dict]:
        found = []
        if keys["email_key"] in self.completed_emails:
            found.append({"name": "returning_customer", "points": -10, "text": "Returning customer: an earlier order from this email was completed"})
        else:
            found.append({"name": "new_customer", "points": 10, "text": "First order from this email: none completed before"})
        if burst:
            count = self.rng.randint(3, 12)
            found.append({"name": "velocity_address_10m", "points": min(20 + 5 * (count - 3), 35), "text": f"{count} orders from this shipping address in the last 10 minutes"})
        if large:
            found.append({"name": "quantity", "points": 15, "text": "Unusual quantity (more than 10 of one item)"})
        if email.rpartition("@")[2].lower() in self.pools.disposable_domains:
            found.append({"name": "disposable_email", "points": 30, "text": f"The email is at a disposable-address provider ({email.rpartition('@')[2]})"})
        if keys["email_key"] in self.marked_emails:
            found.append({"name": "fraud_history_email", "points": 60, "text": "This email is linked to an order marked as fraud"})
        elif keys["address_key"] in self.marked_addresses:
            found.append({"name": "fraud_history_address", "points": 50, "text": "This shipping address is linked to an order marked as fraud"})
        return found

    @staticmethod
    def _reason(status: str, cancel_code: str, decided_by: str) -> str:
        if status == "cancelled":
            return "The review timed out" if decided_by == "system" else CANCEL_LABELS[cancel_code]
        return {
            "rejected": "amount 25000.00 is over the limit of 10000.00",
            "payment_failed": "the card was declined",
            "failed": "the carrier refused the address",
        }.get(status, "")
