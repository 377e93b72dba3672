"""Reads of the order domain: who sees which orders, and the status view that merges the workflow's live state
with the database."""

from collections import Counter
from datetime import datetime, timedelta
from typing import Optional

from django.contrib.auth.models import Permission
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from orders.models import Order, OrderEvent, Payment
from workflows.names import POLICY_ACTOR

REVIEW_PERMISSION = "orders.review_order"
PLACE_PERMISSION = "orders.place_order"
TAKE_OVER_PERMISSION = "orders.take_over_review"


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


def can_take_over(user) -> bool:
    return can_review(user) and user.has_perm(TAKE_OVER_PERMISSION)


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
        "approvals": order.approvals,
        "approvals_required": order.approvals_required,
        "claimed_by": order.claim_holder(timezone.now()),
        "claimed_until": order.claimed_until if order.claim_holder(timezone.now()) else None,
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
            approvals=live["approvals"],
            approvals_required=live["approvals_required"],
            claimed_by=(live["claim"] or {}).get("reviewer", ""),
            claimed_until=(live["claim"] or {}).get("until"),
            shipping_address=live["address"] or view["shipping_address"],
            shipping_attempts=live["shipping_attempts"],
            last_failure=live["last_failure"] or view["last_failure"],
            payment_status=live["payment_status"] or view["payment_status"],
        )
    return view


# --- the review desk -----------------------------------------------------------------------------

DUE_SOON = timedelta(minutes=15)


def due_soon(queryset: QuerySet[Order], now: datetime) -> QuerySet[Order]:
    """Orders whose next deadline (escalation unless already escalated, then auto-cancel) is within 15 minutes
    or past."""
    horizon = now + DUE_SOON
    return queryset.filter(Q(escalated=False, escalates_at__lte=horizon) | Q(auto_cancels_at__lte=horizon))


def claimed_by(queryset: QuerySet[Order], username: str, now: datetime) -> QuerySet[Order]:
    return queryset.filter(claimed_by=username, claimed_until__gt=now)


def _decisions(since: datetime) -> QuerySet[OrderEvent]:
    """Reviewers' decisions: approvals (the first of two included) and their cancels; not the risk policy's."""
    return OrderEvent.objects.filter(created_at__gte=since).filter(
        (Q(type__in=[OrderEvent.Type.APPROVED, OrderEvent.Type.APPROVAL_RECORDED]) & ~Q(actor=POLICY_ACTOR))
        | Q(type=OrderEvent.Type.CANCELLED, payload__role="reviewer")
    )


def review_dashboard(now: datetime) -> dict:
    """The queue's figures, from the orders table and the events: depth, oldest waiting, decisions today, time to
    decision (p50/p95 over 24 h), decisions per reviewer, auto-cancel and escalation rates, and per hour."""
    day_ago, today = now - timedelta(hours=24), now.replace(hour=0, minute=0, second=0, microsecond=0)
    waiting = Order.objects.filter(status=Order.Status.AWAITING_REVIEW)
    oldest = waiting.exclude(review_started_at=None).order_by("review_started_at").values_list("review_started_at", flat=True).first()
    decided = list(
        _decisions(day_ago).exclude(type=OrderEvent.Type.APPROVAL_RECORDED).values_list("order_id", "created_at")
    )
    started = dict(
        Order.objects.filter(pk__in=[order_id for order_id, _ in decided]).values_list("pk", "review_started_at")
    )
    waits = sorted((at - started[o]).total_seconds() for o, at in decided if started.get(o) and at >= started[o])
    entered = Order.objects.filter(review_started_at__gte=day_ago).count()
    left = Order.objects.filter(review_started_at__isnull=False, decided_at__gte=day_ago)
    auto_cancelled = OrderEvent.objects.filter(created_at__gte=day_ago, type=OrderEvent.Type.CANCELLED, payload__role="system").count()
    escalations = OrderEvent.objects.filter(created_at__gte=day_ago, type=OrderEvent.Type.ESCALATED).count()
    return {
        "now": now,
        "queue_depth": waiting.count(),
        "oldest_waiting_since": oldest,
        "decisions_today": _decisions(today).count(),
        "time_to_decision": {"p50": _quantile(waits, 0.50), "p95": _quantile(waits, 0.95), "decisions": len(waits)},
        "per_reviewer": list(
            _decisions(day_ago).values("actor").annotate(decisions=Count("id")).order_by("-decisions", "actor")
        ),
        "auto_cancel_rate": _rate(auto_cancelled, left.count()),
        "escalation_rate": _rate(escalations, entered),
        "hours": _per_hour(now, waiting),
    }


def _quantile(values: list[float], q: float) -> Optional[float]:
    return values[min(len(values) - 1, int(q * len(values)))] if values else None


def _rate(part: int, whole: int) -> Optional[float]:
    return part / whole if whole else None


def _per_hour(now: datetime, waiting: QuerySet[Order]) -> list[dict]:
    """The last 24 hours, hour by hour: decisions made, and the queue's depth at the end of the hour."""
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    starts = [end - timedelta(hours=24 - n) for n in range(24)]
    decisions = Counter(
        at.replace(minute=0, second=0, microsecond=0) for at in _decisions(starts[0]).values_list("created_at", flat=True)
    )
    spans = list(
        Order.objects.filter(review_started_at__isnull=False)
        .filter(Q(pk__in=waiting.values("pk")) | Q(decided_at__gte=starts[0]))
        .values_list("review_started_at", "decided_at")
    )
    hours = []
    for start in starts:
        close = min(start + timedelta(hours=1), now)
        depth = sum(1 for began, ended in spans if began <= close and (ended is None or ended > close))
        hours.append({"hour": start, "decisions": decisions.get(start, 0), "queue_depth": depth})
    return hours
