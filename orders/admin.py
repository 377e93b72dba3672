"""The reviewers' admin: an order list and a review queue, approve / cancel actions, and an order page with its
payments, its event timeline and buttons. Status is never edited by hand: every decision goes through the workflow
client, and the reviewer is told, order by order, what the workflow accepted and what it refused."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from orders import selectors
from orders.api.serializers import AddressSerializer
from orders.models import Order, Payment, ReviewQueueOrder
from orders.review import ReviewOutcome, approve_orders, cancel_orders, update_address

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


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.TextInput(attrs={"size": 60, "autofocus": True}))


class AddressForm(forms.Form):
    name = forms.CharField(max_length=200)
    line1 = forms.CharField(max_length=200)
    line2 = forms.CharField(max_length=200, required=False)
    city = forms.CharField(max_length=100)
    postal_code = forms.CharField(max_length=20)
    country = forms.CharField(max_length=2, min_length=2)


class PaymentInline(admin.TabularInline):
    model = Payment
    fields = ["payment_id", "amount", "currency", "status", "provider_reference", "failure_reason", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "money", "status_badge", "age", "review_wait", "escalated"]
    list_filter = ["status", "escalated", "created_at"]
    search_fields = ["id", "customer_email"]
    date_hierarchy = "created_at"
    list_per_page = 50
    inlines = [PaymentInline]
    actions = ["approve_selected", "cancel_selected"]
    fieldsets = [
        ("Order", {"fields": ["id", "status_badge", "status_reason", "workflow_link", "created_at", "updated_at"]}),
        ("Customer", {"fields": ["customer_name", "customer_email", "address_summary"]}),
        ("Money", {"fields": ["money", "items_summary", "payment_id"]}),
        ("Review", {"fields": ["reviewer", "decided_at", "escalated", "review_wait"]}),
        ("Shipping", {"fields": ["shipping_attempts", "tracking_number"]}),
    ]
    # Everything on the page is read-only: the workflow is the only writer.
    readonly_fields = [name for _, section in fieldsets for name in section["fields"]]

    # --- permissions: orders are created and changed by their workflows only ----------------

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request):
        return selectors.can_review(request.user)

    # --- columns -----------------------------------------------------------------------------

    @admin.display(description="Customer", ordering="customer_name")
    def customer(self, order):
        return format_html("{}<br><small>{}</small>", order.customer_name, order.customer_email)

    @admin.display(description="Amount", ordering="amount")
    def money(self, order):
        return f"{order.amount} {order.currency}"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, order):
        return format_html(
            '<span class="status-badge" data-status="{}" style="background:{};color:#fff;padding:2px 8px;'
            'border-radius:10px;white-space:nowrap">{}</span>',
            order.status,
            STATUS_COLOURS.get(order.status, "#6c757d"),
            order.get_status_display(),
        )

    @admin.display(description="Age", ordering="created_at")
    def age(self, order):
        return timesince(order.created_at)

    @admin.display(description="Waiting for review")
    def review_wait(self, order):
        if order.status != Order.Status.AWAITING_REVIEW:
            return "-"
        waited = timezone.now() - order.created_at
        if waited.total_seconds() >= settings.REVIEW_ESCALATE_AFTER:
            return format_html('<strong class="overdue" style="color:#b91c1c">{} (overdue)</strong>', timesince(order.created_at))
        return timesince(order.created_at)

    @admin.display(description="Workflow")
    def workflow_link(self, order):
        url = f"{settings.TEMPORAL_UI_URL.rstrip('/')}/namespaces/{settings.TEMPORAL_NAMESPACE}/workflows/{order.workflow_id}"
        return format_html('<a href="{}" target="_blank" rel="noopener">{} in the Temporal UI</a>', url, order.workflow_id)

    @admin.display(description="Shipping address")
    def address_summary(self, order):
        a = order.shipping_address
        parts = [a.get("name"), a.get("line1"), a.get("line2"), f"{a.get('postal_code', '')} {a.get('city', '')}".strip(), a.get("country")]
        return ", ".join(p for p in parts if p)

    @admin.display(description="Items")
    def items_summary(self, order):
        return "; ".join(f"{i['quantity']} × {i['sku']} at {i['unit_price']}" for i in order.items)

    # --- actions -----------------------------------------------------------------------------

    @admin.action(description="Approve selected orders", permissions=["review"])
    def approve_selected(self, request, queryset: QuerySet[Order]):
        self._report(request, approve_orders(self._ids(queryset), actor=request.user.get_username()))

    @admin.action(description="Cancel selected orders", permissions=["review"])
    def cancel_selected(self, request, queryset: QuerySet[Order]):
        form = CancelForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            ids = self._ids(queryset)
            self._report(request, cancel_orders(ids, actor=request.user.get_username(), reason=form.cleaned_data["reason"]))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel orders",
            "orders": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/order/cancel_confirmation.html", context)

    def _ids(self, queryset: QuerySet[Order]) -> list[str]:
        return list(queryset.order_by("created_at", "pk").values_list("pk", flat=True))

    def _report(self, request, outcome: ReviewOutcome):
        for level, text in outcome.messages():
            self.message_user(request, text, level=getattr(messages, level.upper()))

    # --- the change page: buttons, timeline --------------------------------------------------

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        own = [
            path("<path:object_id>/approve/", self.admin_site.admin_view(self.approve_view), name="%s_%s_approve" % info),
            path("<path:object_id>/cancel/", self.admin_site.admin_view(self.cancel_view), name="%s_%s_cancel" % info),
            path(
                "<path:object_id>/update-address/",
                self.admin_site.admin_view(self.update_address_view),
                name="%s_%s_update_address" % info,
            ),
        ]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra = {**(extra_context or {})}
        if order is not None:
            extra["timeline"] = selectors.order_events(order)
            extra["can_review"] = self.has_review_permission(request) and not order.is_terminal
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def _reviewable(self, request: HttpRequest, object_id: str) -> Order:
        if not self.has_review_permission(request):
            raise PermissionDenied
        return get_object_or_404(Order, pk=object_id)

    def _back(self, order: Order):
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    def approve_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self._reviewable(request, object_id)
        self._report(request, approve_orders([order.pk], actor=request.user.get_username()))
        return self._back(order)

    def cancel_view(self, request, object_id):
        order = self._reviewable(request, object_id)
        form = CancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            self._report(request, cancel_orders([order.pk], actor=request.user.get_username(), reason=form.cleaned_data["reason"]))
            return self._back(order)
        return self._form_page(request, order, form, "Cancel order", "Cancel the order")

    def update_address_view(self, request, object_id):
        order = self._reviewable(request, object_id)
        form = AddressForm(request.POST or None, initial=order.shipping_address)
        if request.method == "POST" and form.is_valid():
            address = dict(AddressSerializer(form.cleaned_data).data)
            self._report(request, update_address(order.pk, actor=request.user.get_username(), address=address))
            return self._back(order)
        return self._form_page(request, order, form, "Update shipping address", "Save the address")

    def _form_page(self, request, order, form, title, submit):
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {order.pk}",
            "order": order,
            "form": form,
            "submit": submit,
            "opts": self.model._meta,
            "original": order,
        }
        return TemplateResponse(request, "admin/orders/order/order_form.html", context)


@admin.register(ReviewQueueOrder)
class ReviewQueueAdmin(OrderAdmin):
    """Orders awaiting review, oldest first."""

    list_filter = ["escalated", "created_at"]
    ordering = ["created_at"]

    def has_view_permission(self, request, obj=None):
        # The queue is for reviewers: the order permissions decide, not the proxy model's own.
        return self.has_review_permission(request)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=Order.Status.AWAITING_REVIEW)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[object_id]))
