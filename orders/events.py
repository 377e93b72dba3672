"""The one way events are written. Keys make every write idempotent: a retried step finds its key taken."""

from orders.models import Order, OrderEvent


def event_key(order_id: str, *parts) -> str:
    return ":".join([order_id, *(str(p) for p in parts)])


def already_recorded(key: str) -> bool:
    return OrderEvent.objects.filter(key=key).exists()


def record(*, order: Order, type: str, key: str, actor: str = OrderEvent.SYSTEM_ACTOR, **payload) -> OrderEvent:
    return OrderEvent.objects.create(order=order, type=type, key=key, actor=actor or OrderEvent.SYSTEM_ACTOR, payload=payload)
