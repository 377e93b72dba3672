"""The orders a reviewer should see beside one order: the same customer by email or by shipping address, newest
first. Each key is read through its own (key, created_at) index, newest first and limited, and the two short lists
are merged: an OR of the two keys would collect every order of a busy address before sorting them."""

from dataclasses import dataclass

from orders.models import Order

LIMIT = 10
COLUMNS = ("id", "status", "status_reason", "fraud", "decided_by", "risk_score", "risk_band", "amount", "currency",
           "customer_email", "email_key", "address_key", "created_at")
KEYS = (("email_key", "email"), ("address_key", "address"))


@dataclass(frozen=True)
class Related:
    order: Order
    same: tuple[str, ...]  # what links it: "email", "address" or both


def related_orders(order: Order, limit: int = LIMIT) -> list[Related]:
    """Up to `limit` other orders with the order's email key or address key, newest first. An empty key links
    nothing (orders received before keys existed have none)."""
    branches = [
        Order.objects.filter(**{field: getattr(order, field)}).exclude(pk=order.pk).order_by("-created_at").only(*COLUMNS)[:limit]
        for field, _ in KEYS
        if getattr(order, field)
    ]
    if not branches:
        return []
    merged = branches[0] if len(branches) == 1 else branches[0].union(*branches[1:]).order_by("-created_at", "-pk")[:limit]
    return [
        Related(other, tuple(name for field, name in KEYS if getattr(order, field) and getattr(other, field) == getattr(order, field)))
        for other in merged
    ]
