from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from orders.models import Order

register = template.Library()

# Low green, medium amber, high red: dark enough for white text.
RISK_COLOURS = {"low": "#15803d", "medium": "#b45309", "high": "#b91c1c"}
ROUTES = {"approve": "Approve", "review": "Review by a person", "cancel": "Cancel"}
FRAUD_LABELS = {Order.Fraud.SUSPECTED: "Suspected", Order.Fraud.CONFIRMED: "Fraud confirmed", Order.Fraud.CLEARED: "Not fraud"}


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


@register.simple_tag
def risk_badge(order: Order) -> str:
    """The score and its band on the band's colour; "-" before the order is assessed."""
    if order.risk_score is None:
        return mark_safe('<span class="risk-badge" data-band="">-</span>')
    return format_html(
        '<span class="risk-badge" data-band="{}" data-score="{}" style="background:{}">{} {}</span>',
        order.risk_band,
        order.risk_score,
        RISK_COLOURS.get(order.risk_band, "#6b7280"),
        order.risk_score,
        order.risk_band or "",
    )


@register.filter
def decider(order: Order) -> str:
    """Who decided: the reviewer's name (a person), "Risk policy", the system, or nobody yet."""
    if order.decided_by == Order.DecidedBy.PERSON:
        return order.reviewer or "A person"
    if order.decided_by == Order.DecidedBy.POLICY:
        return "Risk policy"
    if order.decided_by == Order.DecidedBy.SYSTEM:
        return "System (the review timed out)"
    if order.decided_by == Order.DecidedBy.CLIENT:
        return "The customer (withdrawn)"
    return "Not decided yet"


@register.filter
def route_label(route: str) -> str:
    return ROUTES.get(route, route or "-")


@register.filter
def fraud_label(fraud: str) -> str:
    """A fraud mark in a word or two, "-" for none."""
    return FRAUD_LABELS.get(fraud, fraud or "-")


@register.filter
def points(value: int) -> str:
    """Signed points: +25, -10."""
    return f"{value:+d}" if isinstance(value, int) else str(value)
