"""The one way events are written. Keys make every write idempotent: a retried step finds its key taken."""

import hashlib

from orders import limits
from orders.models import Order, OrderEvent


def event_key(order_id: str, *parts) -> str:
    """The parts joined with ":". A key longer than its column (a long username in it) keeps its start and ends with
    a hash of the whole, so a retry builds the same key and two different keys stay different."""
    key = ":".join([order_id, *(str(p) for p in parts)])
    if len(key) <= limits.EVENT_KEY:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key[: limits.EVENT_KEY - len(digest) - 1]}:{digest}"


def already_recorded(key: str) -> bool:
    return OrderEvent.objects.filter(key=key).exists()


def record(*, order: Order, type: str, key: str, actor: str = OrderEvent.SYSTEM_ACTOR, **payload) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, type=type, key=key, actor=actor or OrderEvent.SYSTEM_ACTOR, payload=limits.storable(payload)
    )
