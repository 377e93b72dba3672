"""The order list and the order page: read-only (the workflow is the only writer), with the review buttons, why
the order is here (its risk and related orders, orders/admin/risk.py), the hold on the customer's money, the
payments and the event timeline."""

from django.conf import settings
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from orders import limits, selectors
from orders.admin.actions import TAKE_OVER_PERMISSION, ReviewActions
from orders.admin.risk import FraudActions, RiskColumns, risk_context
from orders.models import Order, Payment

STATUS_COLOURS = {
    Order.Status.RECEIVED: "#6c757d",
    Order.Status.AWAITING_REVIEW: "#d97706",
    Order.Status.APPROVED: "#2563eb",
    Order.Status.PAID: "#0891b2",
    Order.Status.SHIPPING: "#7c3aed",
    Order.Status.COMPLETED: "#15803d",
    Order.Status.CANCELLED: "#6b7280",
    Order.Status.REJECTED: "#b91c1c",
    Order.Status.PAYMENT_FAILED: "#b91c1c",
    Order.Status.FAILED: "#991b1b",
}


class PaymentInline(admin.TabularInline):
    model = Payment
    fields = ["payment_id", "amount", "currency", "status", "expires_at", "provider_reference", "failure_reason", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderColumns:
    """The columns and fields the order list, the queue and the order page show."""

    @admin.display(description="Customer", ordering="customer_name")
    def customer(self, order):
        # A long email may break after its "@" rather than widen the column.
        local, at, domain = order.customer_email.rpartition("@")
        email = format_html("{}<wbr>@{}", local, domain) if at else order.customer_email
        return format_html("{}<br><small>{}</small>", order.customer_name, email)

    @admin.display(description="Amount", ordering="amount")
    def money(self, order):
        return f"{order.amount} {order.currency}"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, order):
        approvals = ""
        if order.status == Order.Status.AWAITING_REVIEW and order.approvals:
            approvals = f" (approved {len(order.approvals)} of {order.approvals_required})"
        return format_html(
            '<span class="status-badge" data-status="{}" style="background:{};color:#fff;padding:2px 8px;'
            'border-radius:10px;white-space:nowrap">{}{}</span>',
            order.status,
            STATUS_COLOURS.get(order.status, "#6c757d"),
            order.get_status_display(),
            approvals,
        )

    @admin.display(description="Age", ordering="created_at")
    def age(self, order):
        return timesince(order.created_at)

    @admin.display(description="Waiting for review", ordering="review_started_at")
    def review_wait(self, order):
        if order.status != Order.Status.AWAITING_REVIEW:
            return "-"
        since = order.review_started_at or order.created_at
        if order.escalated or (order.escalates_at and order.escalates_at <= timezone.now()):
            return format_html('<strong class="overdue" style="color:#b91c1c">{} (overdue)</strong>', timesince(since))
        return timesince(since)

    @admin.display(description="Escalates in", ordering="escalates_at")
    def escalates_in(self, order):
        return _time_left(order, order.escalates_at, done=order.escalated)

    @admin.display(description="Auto-cancels in", ordering="auto_cancels_at")
    def auto_cancels_in(self, order):
        return _time_left(order, order.auto_cancels_at)

    @admin.display(description="Approvals")
    def approvals_summary(self, order):
        if not order.approvals:
            return f"none of {order.approvals_required}"
        return f"{len(order.approvals)} of {order.approvals_required}: {', '.join(order.approvals)}"

    @admin.display(description="Claimed by", ordering="claimed_by")
    def claim(self, order):
        holder = order.claim_holder(timezone.now())
        if not holder:
            return "-"
        return format_html('<span class="claim-holder">{}</span><br><small>until {} UTC</small>', holder, f"{order.claimed_until:%H:%M}")

    @admin.display(description="Workflow")
    def workflow_link(self, order):
        url = f"{settings.TEMPORAL_UI_URL.rstrip('/')}/namespaces/{settings.TEMPORAL_NAMESPACE}/workflows/{order.workflow_id}"
        return format_html('<a href="{}" target="_blank" rel="noopener">{} in the Temporal UI</a>', url, order.workflow_id)

    @admin.display(description="Shipping address")
    def address_summary(self, order):
        a = order.shipping_address
        parts = [a.get("name"), a.get("line1"), a.get("line2"), f"{a.get('postal_code', '')} {a.get('city', '')}".strip(), a.get("country")]
        return ", ".join(p for p in parts if p)

    @admin.display(description="Hold")
    def hold(self, order):
        """The newest hold on the customer's money (a re-authorization replaces a lapsed one): its amount, state and
        when the gateway drops it."""
        payment = order.payments.filter(expires_at__isnull=False).order_by("-created_at").first()
        if payment is None:
            return "-"
        summary = format_html(
            '<span class="hold" data-state="{}">{} {}, {}</span>', payment.status, payment.amount, payment.currency, payment.get_status_display()
        )
        expiry = hold_expiry(payment.status, payment.expires_at)
        return format_html("{}<br><small>{}</small>", summary, expiry) if expiry else summary

    @admin.display(description="Items")
    def items_summary(self, order):
        return "; ".join(f"{i['quantity']} × {i['sku']} at {i['unit_price']}" for i in order.items)


def hold_expiry(status: str, expires_at) -> str:
    """When an open hold lapses, or when an expired one did; nothing for a hold captured or voided."""
    if expires_at is None or status not in (Payment.Status.AUTHORIZED, Payment.Status.EXPIRED):
        return ""
    when = f"{expires_at:%Y-%m-%d %H:%M} UTC"
    if status == Payment.Status.EXPIRED:
        return f"lapsed {when}"
    return format_html("{} ({})", hold_left(expires_at), when)


def hold_left(expires_at) -> str:
    """The time an open hold has left; in red once it has lapsed by our clock (the gateway may have dropped it, and
    the workflow re-authorizes before capture)."""
    now = timezone.now()
    if expires_at <= now:
        return format_html('<strong class="overdue" style="color:#b91c1c">lapsed {} ago</strong>', timesince(expires_at, now))
    return f"expires in {timeuntil(expires_at, now)}"


def _time_left(order: Order, deadline, done: bool = False):
    if order.status != Order.Status.AWAITING_REVIEW or deadline is None or done:
        return "-"
    now = timezone.now()
    if deadline <= now:
        return format_html('<strong class="overdue" style="color:#b91c1c">overdue by {}</strong>', timesince(deadline, now))
    left = timeuntil(deadline, now)
    if deadline - now <= selectors.DUE_SOON:
        return format_html('<strong class="due-soon" style="color:#d97706">{}</strong>', left)
    return left


@admin.register(Order)
class OrderAdmin(ReviewActions, FraudActions, OrderColumns, RiskColumns, admin.ModelAdmin):
    list_display = ["id", "customer", "money", "status_badge", "age", "review_wait", "escalated", "claim"]
    list_filter = ["status", "escalated", "created_at"]
    search_fields = ["id", "customer_email"]
    date_hierarchy = "created_at"
    list_per_page = 50
    inlines = [PaymentInline]
    fieldsets = [
        ("Order", {"fields": ["id", "status_badge", "status_reason", "workflow_link", "created_at", "updated_at"]}),
        ("Customer", {"fields": ["customer_name", "customer_email", "address_summary"]}),
        ("Money", {"fields": ["money", "hold", "items_summary", "payment_id"]}),
        (
            "Review",
            {"fields": ["claim", "approvals_summary", "reviewer", "decided_at", "escalated", "review_wait", "escalates_in", "auto_cancels_in"]},
        ),
        ("Shipping", {"fields": ["shipping_attempts", "tracking_number"]}),
    ]
    # Everything on the page is read-only: the workflow is the only writer.
    readonly_fields = [name for _, section in fieldsets for name in section["fields"]]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return self.review_urls() + self.fraud_urls() + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        # Without the app list beside them the list's columns fit from 1280 px wide (review_desk.css does the rest).
        return super().changelist_view(request, extra_context={**(extra_context or {}), "is_nav_sidebar_enabled": False})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra = {**(extra_context or {})}
        if order is not None:
            holder = order.claim_holder(timezone.now())
            mine = holder == request.user.get_username()
            extra.update(
                timeline=selectors.order_events(order),
                can_review=self.has_review_permission(request) and not order.is_terminal,
                waiting_for_review=order.status == Order.Status.AWAITING_REVIEW,
                claim_holder=holder,
                claimed_by_me=mine,
                can_take_over=bool(holder) and not mine and request.user.has_perm(TAKE_OVER_PERMISSION),
                note_max_length=limits.NOTE,
                **risk_context(request, order),
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)
