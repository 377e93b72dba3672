"""Orders for the risk tests: the keys set as at receive, and `created_at` where the test puts it (the rules take an
order's own `created_at` as "now")."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from orders.models import Order
from orders.risk.keys import order_keys
from tests.factories import ADDRESS, OrderFactory

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=timezone.utc)


def make_order(
    *, email="ada@example.com", name="Ada Lovelace", address=None, at=NOW, amount=None, **fields
) -> Order:
    """One order; `address` changes some fields of the factory's, `at` is its created_at."""
    shipping = {**ADDRESS, **(address or {})}
    keys = order_keys(customer_name=name, customer_email=email, shipping_address=shipping)
    if amount is not None:
        fields["amount"] = Decimal(str(amount))
    order = OrderFactory(customer_email=email, customer_name=name, shipping_address=shipping, **keys, **fields)
    Order.objects.filter(pk=order.pk).update(created_at=at)
    order.refresh_from_db()
    return order


def stranger(n: int, **changes) -> dict:
    """The fields of a customer sharing nothing with Ada or with any other stranger."""
    fields = {
        "email": f"someone{n}@elsewhere.org",
        "name": f"Someone Number{n}",
        "address": {"line1": f"{n} Other Road", "postal_code": f"ZZ{n} 9ZZ"},
    }
    return {**fields, **changes}


def before(**delta) -> datetime:
    return NOW - timedelta(**delta)


def signals(rule, order) -> dict[str, tuple[int, str]]:
    """A rule's signals for an order, by name: (points, text)."""
    return {s.name: (s.points, s.text) for s in rule.signals(order)}
