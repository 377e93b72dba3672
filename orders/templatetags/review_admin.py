from django import template

from orders.models import Order

register = template.Library()


@register.simple_tag
def review_queue_count() -> int:
    return Order.objects.filter(status=Order.Status.AWAITING_REVIEW).count()


@register.filter
def payload_summary(payload: dict) -> str:
    """A one-line summary of an event payload: the interesting keys first, addresses shortened."""
    if not payload:
        return ""
    parts = []
    for key, value in payload.items():
        if isinstance(value, dict):
            value = ", ".join(str(v) for k, v in value.items() if v and k in ("line1", "city", "postal_code"))
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)
