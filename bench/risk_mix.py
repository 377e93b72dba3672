"""The orders `manage.py bench_risk` scores, drawn from the filled history (bench/history.py) so that each kind
meets the rules the way it would in a real shop:
- new: a customer the shop has never seen;
- repeat: a customer picked at random from the history;
- long: one of the customers with the longest histories (hundreds of orders);
- burst: runs of orders to one address from different emails within a minute or two, half to a new address and
  half to the busiest addresses of the history;
- fraud: an email linked to an order marked as fraud."""

import json
import random
from dataclasses import dataclass

from django.db import connection

from bench.history_pools import CATALOG_SIZE, customer_email

KINDS = {"new": 0.3, "repeat": 0.2, "long": 0.2, "burst": 0.2, "fraud": 0.1}
BURST_RUN = 10
QUANTITIES = (1,) * 6 + (2, 2, 3, 12)  # one line in ten more than the quantity rule allows
SAMPLE = 200

LONG = """
    WITH top AS (
        SELECT email_key FROM orders WHERE email_key <> '' GROUP BY email_key ORDER BY count(*) DESC LIMIT 40
    )
    SELECT DISTINCT ON (o.email_key) o.customer_name, o.customer_email, o.shipping_address::text
    FROM orders o JOIN top USING (email_key) ORDER BY o.email_key, o.created_at DESC
"""
BUSY_ADDRESSES = """
    WITH top AS (
        SELECT address_key FROM orders WHERE address_key <> '' GROUP BY address_key ORDER BY count(*) DESC LIMIT 20
    )
    SELECT DISTINCT ON (o.address_key) '', '', o.shipping_address::text FROM orders o JOIN top USING (address_key)
    ORDER BY o.address_key, o.created_at DESC
"""
SAMPLED = "FROM orders TABLESAMPLE SYSTEM (%s) REPEATABLE (%s) LIMIT %s"
RANDOM = f"SELECT customer_name, customer_email, shipping_address::text {SAMPLED}"
PRICES = f"SELECT (items->0->>'unit_price')::numeric {SAMPLED}"
FRAUD = """
    SELECT customer_name, customer_email, shipping_address::text FROM orders
    WHERE fraud IN ('suspected', 'confirmed') ORDER BY id LIMIT %s
"""


def _shares(count: int) -> dict[str, int]:
    """count split by KINDS' shares, the remainder to the largest fractions, so that the parts add up."""
    exact = {kind: count * share for kind, share in KINDS.items()}
    found = {kind: int(value) for kind, value in exact.items()}
    for kind in sorted(exact, key=lambda k: exact[k] - found[k], reverse=True)[: count - sum(found.values())]:
        found[kind] += 1
    return found


@dataclass(frozen=True)
class Spec:
    kind: str
    name: str
    email: str
    address: dict
    items: list


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _customers(sql: str, params=()) -> list[tuple[str, str, dict]]:
    return [(name, email, json.loads(address)) for name, email, address in _rows(sql, params)]


class Mix:
    """The customers each kind is drawn from, read once from the history."""

    def __init__(self, seed: int = 7):
        self.rng = random.Random(seed)
        total = _rows("SELECT count(*) FROM orders")[0][0]
        percent = min(100.0, max(0.01, 100.0 * 4 * SAMPLE / max(total, 1)))
        self.pools = {
            "long": _customers(LONG),
            "repeat": _customers(RANDOM, [percent, seed, SAMPLE]),
            "fraud": _customers(FRAUD, [SAMPLE]),
        }
        self.busy = [address for _, _, address in _customers(BUSY_ADDRESSES)]
        self.prices = [int(row[0] * 100) for row in _rows(PRICES, [percent, seed, 400]) if row[0]] or [2500]
        self.fresh = 0

    def specs(self, count: int) -> list[Spec]:
        """count orders of every kind in KINDS' shares (a kind with no customers in the history gives new ones),
        bursts as runs of BURST_RUN in a row, the rest shuffled."""
        singles, runs = [], []
        for kind, wanted in _shares(count).items():
            if kind == "burst":
                while wanted > 0:
                    runs.append(self._burst(min(BURST_RUN, wanted), len(runs)))
                    wanted -= BURST_RUN
            else:
                singles += [self._one(kind) for _ in range(wanted)]
        self.rng.shuffle(singles)
        found, step = [], max(1, len(singles) // (len(runs) + 1))
        for i, run in enumerate(runs):
            found += singles[i * step : (i + 1) * step] + run
        found += singles[len(runs) * step :]
        return found[:count]

    def _one(self, kind: str) -> Spec:
        pool = self.pools.get(kind) or []
        if kind == "new" or not pool:
            name, email, address = self._new_customer()
            return Spec("new" if kind == "new" else kind, name, email, address, self._items())
        name, email, address = self.rng.choice(pool)
        return Spec(kind, name, email, address, self._items())

    def _burst(self, size: int, number: int) -> list[Spec]:
        if number % 2 and self.busy:
            address = self.rng.choice(self.busy)
        else:
            address = self._new_customer()[2]
        return [Spec("burst", *self._new_customer()[:2], address, self._items()) for _ in range(size)]

    def _new_customer(self) -> tuple[str, str, dict]:
        self.fresh += 1
        rng, number = self.rng, self.fresh
        name = f"{rng.choice(('Nora', 'Ivan', 'Lena', 'Omar', 'Petra'))} {rng.choice(('Quist', 'Rask', 'Vale', 'Wren'))}"
        address = {
            "name": name, "line1": f"{rng.randint(1, 900)} Benchmark Row {number}", "line2": "",
            "city": "Testville", "postal_code": f"B{number:05d}", "country": "US",
        }  # fmt: skip
        return name, customer_email(rng, name, 90_000_000 + number), address

    def _items(self) -> list[dict]:
        rng = self.rng
        items = []
        for sku in rng.sample(range(CATALOG_SIZE), rng.choice((1, 1, 1, 2, 3))):
            cents = rng.choice(self.prices)
            items.append({"sku": f"SKU-{sku:04d}", "quantity": rng.choice(QUANTITIES), "unit_price": f"{cents // 100}.{cents % 100:02d}"})
        return items
