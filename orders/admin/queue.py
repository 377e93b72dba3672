"""The review queue: orders awaiting review, oldest first, with their risk (score and band, sortable by score), who
holds each claim, the time left before escalation and auto-cancel (sortable), when the hold on the customer's money
lapses (sortable), filters for "claimed by me", "due within 15 minutes" and the risk band, a claim button per row,
and the dashboard one click away."""

from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from orders import selectors
from orders.admin.dashboard import dashboard_view
from orders.admin.orders import OrderAdmin, hold_left
from orders.models import Order, Payment, ReviewQueueOrder


class ClaimFilter(admin.SimpleListFilter):
    title = "claim"
    parameter_name = "claim"

    def lookups(self, request, model_admin):
        return [("mine", "Claimed by me"), ("free", "Not claimed")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "mine":
            return selectors.claimed_by(queryset, request.user.get_username(), now)
        if self.value() == "free":
            return queryset.exclude(claimed_until__gt=now)
        return queryset


class DueFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("15m", "Due within 15 minutes")]

    def queryset(self, request, queryset):
        return selectors.due_soon(queryset, timezone.now()) if self.value() == "15m" else queryset


@admin.register(ReviewQueueOrder)
class ReviewQueueAdmin(OrderAdmin):
    """Orders awaiting review, oldest first."""

    list_display = [
        "id", "customer", "money", "risk", "status_badge", "review_wait", "escalates_in", "auto_cancels_in", "hold_expires", "claim",
    ]
    list_filter = [ClaimFilter, DueFilter, "risk_band", "escalated", "created_at"]
    ordering = ["review_started_at", "created_at"]

    def has_view_permission(self, request, obj=None):
        # The queue is for reviewers: the order permissions decide, not the proxy model's own.
        return self.has_review_permission(request)

    def get_queryset(self, request):
        # The newest open hold's expiry, in the list's own query.
        held = Payment.objects.filter(order=OuterRef("pk"), status=Payment.Status.AUTHORIZED).order_by("-created_at")
        return (
            super().get_queryset(request)
            .filter(status=Order.Status.AWAITING_REVIEW)
            .annotate(hold_expires_at=Subquery(held.values("expires_at")[:1]))
        )

    @admin.display(description="Hold expires", ordering="hold_expires_at")
    def hold_expires(self, order):
        if order.hold_expires_at is None:
            return "-"
        return format_html('{}<br><small>{} UTC</small>', hold_left(order.hold_expires_at), f"{order.hold_expires_at:%Y-%m-%d %H:%M}")

    def get_urls(self):
        dashboard = self.admin_site.admin_view(lambda request: dashboard_view(self, request))
        return [path("dashboard/", dashboard, name="orders_reviewqueueorder_dashboard"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[object_id]))

    def get_list_display(self, request):
        # The claim button depends on who is looking: built per request, never kept on this shared instance.
        return [*self.list_display, claim_button_for(request.user.get_username())]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, extra_context={**(extra_context or {}), "dashboard_link": True})


def claim_button_for(username: str):
    """A button of the list's own form (rows can't hold forms of their own): it posts the form's CSRF token to the
    order's claim or release view, which comes back to the queue."""

    @admin.display(description="")
    def claim_button(order):
        view = "release" if order.claim_holder(timezone.now()) == username else "claim"
        url = reverse(f"admin:orders_order_{view}", args=[order.pk])
        return format_html(
            '<button type="submit" class="button claim-button" formaction="{}" formmethod="post" name="back" value="queue">{}</button>',
            url,
            view.capitalize(),
        )

    return claim_button
