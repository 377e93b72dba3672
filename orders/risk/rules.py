"""The built-in risk rules. Each is configured in settings.RISK_RULES by its dotted path and options, the way Django
configures AUTH_PASSWORD_VALIDATORS, and finds signals in our own data with indexed queries (orders/models.py).
Those queries are plain SQL (orders/risk/queries.py): building an ORM query costs several times what the database
takes to answer it, and most of the time an order's scoring may take.

A rule of your own: subclass `Rule`, give it a `name`, check its options in `__init__` (raise ValueError or
TypeError: `manage.py check` reports it), and yield `Signal`s from `signals(order)`. It sees the order as it is
validated; `order.created_at` is "now" for it, so that an order is always scored the same way."""

from datetime import timedelta
from decimal import Decimal
from typing import Iterable

import disposable_email_domains
import pycountry

from orders.models import FRAUD_MARKS, Order
from orders.risk import queries
from orders.risk.signals import Signal
from ordersite.durations import parse_duration_seconds


class Rule:
    name = "rule"

    def signals(self, order: Order) -> Iterable[Signal]:
        raise NotImplementedError


def _points(value, option: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -100 <= value <= 100:
        raise ValueError(f"{option} must be a whole number of points from -100 to 100, not {value!r}")
    return value


def _positive(value, option: str, kind=int):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0 or (kind is int and value != int(value)):
        raise ValueError(f"{option} must be a positive {'whole number' if kind is int else 'number'}, not {value!r}")
    return kind(value)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


_UNITS = (("d", "day", 86400), ("h", "hour", 3600), ("m", "minute", 60), ("s", "second", 1))


def _window_unit(window, seconds: float) -> tuple[int, str, str]:
    """The window as a whole number of a unit: the unit it was written in ("24h": 24 hours, not 1 day), else the
    largest that divides it. Its signal name and text say it so."""
    text = str(window).strip()
    written = "s" if text[-1:].isdigit() else "" if text.endswith("ms") else text[-1:]
    for unit, word, size in [u for u in _UNITS if u[0] == written] + [u for u in _UNITS if seconds >= u[2]]:
        if seconds % size == 0:
            return int(seconds // size), unit, word
    raise ValueError(f"window must be a whole number of seconds, not {window!r}")


class Velocity(Rule):
    """Many orders from one customer in a short time: by email, by normalised shipping address, and by name and
    postal code. `allowed` earlier orders in the window give no signal; each one past them adds points."""

    name = "velocity"
    KEYS = {
        "email": ("email_key", "this email"),
        "address": ("address_key", "this shipping address"),
        "name": ("name_key", "this name and postal code"),
    }

    def __init__(self, *, window="10m", allowed=1, points=20, points_per_extra=5, max_points=35, keys=("email", "address", "name")):
        self.seconds = parse_duration_seconds(window)
        if self.seconds <= 0:
            raise ValueError(f"window must be longer than 0, not {window!r}")
        count, unit, word = _window_unit(window, self.seconds)
        self.label, self.words = f"{count}{unit}", _plural(count, word)
        if not isinstance(allowed, int) or isinstance(allowed, bool) or allowed < 0:
            raise ValueError(f"allowed must be a whole number of orders, 0 or more, not {allowed!r}")
        self.allowed = allowed
        self.points, self.per_extra, self.max_points = (
            _points(points, "points"),
            _points(points_per_extra, "points_per_extra"),
            _points(max_points, "max_points"),
        )
        unknown = set(keys) - set(self.KEYS)
        if unknown or not keys:
            raise ValueError(f"keys must be some of {', '.join(self.KEYS)}, not {list(keys)!r}")
        self.keys = tuple(dict.fromkeys(keys))  # each key counted once

    def signals(self, order: Order) -> Iterable[Signal]:
        keys = [key for key in self.keys if getattr(order, self.KEYS[key][0])]  # an empty key links nothing
        if not keys:
            return
        since = order.created_at - timedelta(seconds=self.seconds)
        counts = queries.earlier_counts(order, since, [self.KEYS[key][0] for key in keys])
        for key, earlier in zip(keys, counts):
            words = self.KEYS[key][1]
            if earlier > self.allowed:
                points = min(self.points + self.per_extra * (earlier - self.allowed - 1), self.max_points)
                text = f"{_plural(earlier + 1, 'order')} from {words} in the last {self.words}"
                yield Signal(f"velocity_{key}_{self.label}", points, text)


class NewCustomer(Rule):
    """No completed order from this email placed at least `min_age` before; a customer with one lowers the score
    (`returning_points`). The age keeps a fraudster from vouching for itself with a small order that just went
    through."""

    name = "new_customer"

    def __init__(self, *, points=10, returning_points=-10, min_age="1d"):
        self.points, self.returning_points = _points(points, "points"), _points(returning_points, "returning_points")
        self.min_age = timedelta(seconds=parse_duration_seconds(min_age))

    def signals(self, order: Order) -> Iterable[Signal]:
        if not order.email_key:
            return
        returning = queries.completed_before(order, order.created_at - self.min_age)
        if not returning and self.points:
            yield Signal("new_customer", self.points, "First order from this email: none completed before")
        elif returning and self.returning_points:
            yield Signal("returning_customer", self.returning_points, "Returning customer: an earlier order from this email was completed")


class Amount(Rule):
    """An amount far above this customer's own completed orders, or above the shop's usual range (a percentile of
    its last orders)."""

    name = "amount"

    def __init__(
        self, *, customer_factor=3, customer_history=20, customer_points=20,
        shop_percentile=95, shop_sample=1000, shop_min_sample=50, shop_points=15,
    ):  # fmt: skip
        self.customer_factor = Decimal(str(_positive(customer_factor, "customer_factor", float)))
        self.customer_history = _positive(customer_history, "customer_history")
        self.customer_points, self.shop_points = _points(customer_points, "customer_points"), _points(shop_points, "shop_points")
        if not isinstance(shop_percentile, int) or isinstance(shop_percentile, bool) or not 1 <= shop_percentile <= 99:
            raise ValueError(f"shop_percentile must be a whole number from 1 to 99, not {shop_percentile!r}")
        self.shop_percentile = shop_percentile
        self.shop_sample, self.shop_min_sample = _positive(shop_sample, "shop_sample"), _positive(shop_min_sample, "shop_min_sample")

    def signals(self, order: Order) -> Iterable[Signal]:
        # Amounts are compared only in the order's own currency (queries.py): 5,000 JPY is not 500 times 10 USD.
        amount = order.amount
        if order.email_key and self.customer_points:
            largest = queries.largest_completed(order, self.customer_history)
            if largest > 0 and amount > self.customer_factor * largest:
                yield Signal(
                    "amount_customer", self.customer_points,
                    f"Amount {amount} is {amount / largest:.1f}× this customer's largest completed order ({largest})",
                )  # fmt: skip
        if self.shop_points:
            # The shop's last orders in any currency (the created_at index), those in this one the sample: a
            # currency rarely used has too few to judge by, not a scan of the whole table for more. The percentile
            # by nearest rank: at 95 % of 100 orders, the 95th smallest.
            count, usual = queries.shop_percentile(order, self.shop_sample, self.shop_percentile)
            if count >= self.shop_min_sample and amount > usual:
                yield Signal(
                    "amount_shop", self.shop_points,
                    f"Amount {amount} is above {self.shop_percentile} % of the shop's last {count} orders (up to {usual})",
                )  # fmt: skip


def _country(code: str):
    code = str(code or "").strip().upper()
    if len(code) == 2:
        return pycountry.countries.get(alpha_2=code)
    if len(code) == 3:
        return pycountry.countries.get(alpha_3=code)
    return None


def _country_codes(codes, option: str) -> frozenset[str]:
    if isinstance(codes, str):
        codes = [c for c in codes.split(",") if c.strip()]
    found, unknown = set(), []
    for code in codes:
        country = _country(code)
        found.add(country.alpha_2) if country else unknown.append(code)
    if unknown:
        raise ValueError(f"{option}: not ISO 3166 country codes: {', '.join(map(repr, unknown))}")
    return frozenset(found)


class Destination(Rule):
    """A shipping country outside the allowed list (empty: all are allowed), on the watch list, or not a country."""

    name = "destination"

    def __init__(self, *, allowed=(), watch=(), outside_points=40, watch_points=25, unknown_points=30):
        self.allowed, self.watch = _country_codes(allowed, "allowed"), _country_codes(watch, "watch")
        self.outside_points = _points(outside_points, "outside_points")
        self.watch_points, self.unknown_points = _points(watch_points, "watch_points"), _points(unknown_points, "unknown_points")

    def signals(self, order: Order) -> Iterable[Signal]:
        code = str(order.shipping_address.get("country", "")).strip()
        country = _country(code)
        if country is None:
            yield Signal("destination_unknown", self.unknown_points, f"Shipping country {code!r} is not an ISO 3166 country code")
            return
        if self.allowed and country.alpha_2 not in self.allowed:
            yield Signal("destination_outside", self.outside_points, f"Ships to {country.name}, outside the countries the shop ships to")
        if country.alpha_2 in self.watch:
            yield Signal("destination_watched", self.watch_points, f"Ships to {country.name}, on the watch list")


class DisposableEmail(Rule):
    """An email at a disposable-address provider (the maintained `disposable-email-domains` list)."""

    name = "disposable_email"

    def __init__(self, *, points=30):
        self.points = _points(points, "points")

    def signals(self, order: Order) -> Iterable[Signal]:
        domain = order.customer_email.rpartition("@")[2].strip().lower().rstrip(".")
        labels = domain.split(".")
        # A subdomain of a listed domain is the same provider.
        if any(".".join(labels[i:]) in disposable_email_domains.blocklist for i in range(len(labels) - 1)):
            yield Signal("disposable_email", self.points, f"The email is at a disposable-address provider ({domain})")


class Quantity(Rule):
    """More than `max_per_sku` of one item, counted over every line that names it."""

    name = "quantity"

    def __init__(self, *, max_per_sku=10, points=15):
        self.max_per_sku, self.points = _positive(max_per_sku, "max_per_sku"), _points(points, "points")

    def signals(self, order: Order) -> Iterable[Signal]:
        per_sku = {}
        for item in order.items:
            sku = item.get("sku", "?")
            per_sku[sku] = per_sku.get(sku, 0) + int(item.get("quantity", 0))
        large = [(sku, quantity) for sku, quantity in per_sku.items() if quantity > self.max_per_sku]
        if large:
            named = ", ".join(f"{quantity} × {sku}" for sku, quantity in large[:3])
            yield Signal("quantity", self.points, f"Unusual quantity: {named} (more than {self.max_per_sku} of one item)")


class FraudHistory(Rule):
    """The email or the address is linked to an order a person cancelled as suspected fraud, or marked fraud after
    the fact. The policy's own cancels never count (it cannot feed itself), and "not fraud" clears a mark."""

    name = "fraud_history"

    def __init__(self, *, email_points=60, address_points=50):
        self.email_points, self.address_points = _points(email_points, "email_points"), _points(address_points, "address_points")

    def signals(self, order: Order) -> Iterable[Signal]:
        links = (("email_key", "this email", self.email_points), ("address_key", "this shipping address", self.address_points))
        found = queries.fraud_links(order, [field for field, _, points in links if points and getattr(order, field)], FRAUD_MARKS)
        for field, words, points in links:
            linked = found.get(field)
            if linked:
                how = "fraud confirmed" if linked[1] == Order.Fraud.CONFIRMED else "cancelled as suspected fraud"
                yield Signal(f"fraud_history_{field.split('_')[0]}", points, f"{words.capitalize()} is linked to order {linked[0]}, {how}")
