"""Reads of the order domain: who sees which orders, and the status view that merges the workflow's live state
with the database."""

from typing import Optional

from django.contrib.auth.models import Permission
from django.db.models import Prefetch, Q, QuerySet

from orders.models import Order, OrderEvent, Payment

REVIEW_PERMISSION = "orders.review_order"
PLACE_PERMISSION = "orders.place_order"


def _order_roles(user) -> frozenset[str]:
    """The order permissions the user holds, in one query, remembered on the user object for the request. The same
    rules as Django's ModelBackend (which would load every permission of the user, in two queries): active users
    only, superusers hold them all."""
    roles = getattr(user, "_order_roles", None)
    if roles is None:
        if not (user and user.is_authenticated and user.is_active):
            roles = frozenset()
        elif user.is_superuser:
            roles = frozenset({REVIEW_PERMISSION, PLACE_PERMISSION})
        else:
            codenames = [p.split(".", 1)[1] for p in (REVIEW_PERMISSION, PLACE_PERMISSION)]
            granted = Permission.objects.filter(Q(user=user) | Q(group__user=user), content_type__app_label="orders", codename__in=codenames)
            roles = frozenset(f"orders.{codename}" for codename in granted.values_list("codename", flat=True))
        user._order_roles = roles
    return roles


def can_review(user) -> bool:
    return REVIEW_PERMISSION in _order_roles(user)


def can_place(user) -> bool:
    return PLACE_PERMISSION in _order_roles(user)


def orders_visible_to(user) -> QuerySet[Order]:
    """Reviewers see every order; order clients see the orders they started; anyone else sees none."""
    orders = Order.objects.all()
    if can_review(user):
        return orders
    if can_place(user):
        return orders.filter(created_by=user)
    return orders.none()


def order_with_history(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.prefetch_related(
        Prefetch("payments", queryset=Payment.objects.order_by("created_at")),
        Prefetch("events", queryset=OrderEvent.objects.order_by("created_at", "id")),
    )


def order_events(order: Order) -> QuerySet[OrderEvent]:
    return order.events.order_by("created_at", "id")


def payment_status(order: Order) -> str:
    payment = order.payments.order_by("-created_at").first()
    return payment.status if payment else ""


def order_status(order: Order, live: Optional[dict]) -> dict:
    """The database's view of the order, overlaid with the running workflow's state when there is one."""
    last = order.events.filter(type__in=[OrderEvent.Type.SHIPPING_ATTEMPT_FAILED, OrderEvent.Type.FAILED]).last()
    view = {
        "id": order.id,
        "workflow_id": order.workflow_id,
        "status": order.status,
        "step": "done" if order.is_terminal else "",
        "approved": order.decided_at is not None and order.status != Order.Status.CANCELLED,
        "cancelled": order.status == Order.Status.CANCELLED,
        "reason": order.status_reason,
        "escalated": order.escalated,
        "shipping_address": order.shipping_address,
        "shipping_attempts": order.shipping_attempts,
        "last_failure": (last.payload.get("detail") or last.payload.get("reason", "")) if last else order.status_reason,
        "payment_status": payment_status(order),
        "tracking_number": order.tracking_number,
        "live": bool(live and live.get("running")),
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "decided_at": order.decided_at,
    }
    if view["live"]:
        view.update(
            status=live["status"],
            step=live["step"],
            approved=live["approved"],
            cancelled=live["cancel_requested"],
            escalated=live["escalated"],
            shipping_address=live["address"] or view["shipping_address"],
            shipping_attempts=live["shipping_attempts"],
            last_failure=live["last_failure"] or view["last_failure"],
            payment_status=live["payment_status"] or view["payment_status"],
        )
    return view
