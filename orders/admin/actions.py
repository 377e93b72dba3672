"""Decisions from the admin: bulk actions on the order list and the queue (up to BULK_REVIEW_CAP orders, "select
all" included), and the order page's buttons: approve, cancel with a reason code, claim, release, take over,
update the address, and "& next". Each goes through the workflow client; the reviewer is told the truth, order by
order (orders.review.ReviewOutcome)."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from orders import review, selectors
from orders.admin.forms import AddressForm, ApproveForm, CancelForm, errors_text
from orders.api.serializers import AddressSerializer
from orders.models import Order
from orders.review import ReviewOutcome, TooManyOrders
from orders.selectors import TAKE_OVER_PERMISSION
from orders.temporal import client


class ReviewActions:
    """Mixed into the order admins."""

    actions = ["approve_selected", "cancel_selected"]

    def has_review_permission(self, request):
        return selectors.can_review(request.user)

    # --- bulk actions ---------------------------------------------------------------------------

    @admin.action(description="Approve selected orders", permissions=["review"])
    def approve_selected(self, request, queryset: QuerySet[Order]):
        ids = self._ids(request, queryset)
        if ids:
            self._report(request, lambda: review.approve_orders(ids, actor=request.user.get_username()))

    @admin.action(description="Cancel selected orders…", permissions=["review"])
    def cancel_selected(self, request, queryset: QuerySet[Order]):
        form = CancelForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            ids = self._ids(request, queryset)
            if ids:
                data = form.cleaned_data
                actor = request.user.get_username()
                self._report(request, lambda: review.cancel_orders(ids, actor=actor, code=data["reason_code"], note=data["note"]))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel orders",
            "orders": queryset[:50],
            "count": queryset.count(),
            "select_across": request.POST.get("select_across", "0"),
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/order/cancel_confirmation.html", context)

    def _ids(self, request, queryset: QuerySet[Order]) -> list[str]:
        """The selected ids, oldest first, or none (with a message) past the cap."""
        if queryset.count() > settings.BULK_REVIEW_CAP:
            self.message_user(
                request,
                f"{queryset.count()} orders selected; at most {settings.BULK_REVIEW_CAP} can be decided at once. "
                "Nothing was sent: narrow the selection with a filter.",
                level=messages.ERROR,
            )
            return []
        return list(queryset.order_by("created_at", "pk").values_list("pk", flat=True))

    def _report(self, request, decide) -> None:
        try:
            outcome: ReviewOutcome = decide()
        except TooManyOrders as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return
        for level, text in outcome.messages():
            self.message_user(request, text, level=getattr(messages, level.upper()))

    # --- the order page's buttons -----------------------------------------------------------------

    def review_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/approve/", view(self.approve_view), name="%s_%s_approve" % info),
            path("<path:object_id>/cancel/", view(self.cancel_view), name="%s_%s_cancel" % info),
            path("<path:object_id>/claim/", view(self.claim_view), name="%s_%s_claim" % info),
            path("<path:object_id>/release/", view(self.release_view), name="%s_%s_release" % info),
            path("<path:object_id>/next/", view(self.next_view), name="%s_%s_next" % info),
            path("<path:object_id>/update-address/", view(self.update_address_view), name="%s_%s_update_address" % info),
        ]

    def _reviewable(self, request: HttpRequest, object_id: str) -> Order:
        if not self.has_review_permission(request):
            raise PermissionDenied
        return get_object_or_404(Order, pk=object_id)

    def _after(self, request, order: Order):
        """Back to where the reviewer was: the next order in the queue ("& next"), the queue, or the order."""
        if request.POST.get("next") or request.GET.get("next"):
            following = review.next_in_queue(request.user, after=order)
            if following is None:
                self.message_user(request, "The review queue is empty.", level=messages.INFO)
                return HttpResponseRedirect(reverse("admin:orders_reviewqueueorder_changelist"))
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[following.pk]))
        if request.POST.get("back") == "queue":
            return HttpResponseRedirect(reverse("admin:orders_reviewqueueorder_changelist"))
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    def approve_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self._reviewable(request, object_id)
        form = ApproveForm(request.POST)
        if not form.is_valid():
            self._report(request, lambda: review.ReviewOutcome(verb="approved", refused=[(order.pk, errors_text(form))]))
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        note, actor = form.cleaned_data["note"], request.user.get_username()
        self._report(request, lambda: review.single("approved", order.pk, lambda: client.approve(order.pk, actor=actor, note=note)))
        return self._after(request, order)

    def cancel_view(self, request, object_id):
        order = self._reviewable(request, object_id)
        form = CancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data, actor = form.cleaned_data, request.user.get_username()
            send = lambda: client.cancel(order.pk, actor=actor, code=data["reason_code"], note=data["note"])  # noqa: E731
            self._report(request, lambda: review.single("cancelled", order.pk, send))
            return self._after(request, order)
        return self._form_page(request, order, form, "Cancel order", "Cancel the order", and_next=True)

    def claim_view(self, request, object_id):
        return self._claim(request, object_id, client.claim, "claimed")

    def release_view(self, request, object_id):
        return self._claim(request, object_id, client.release, "released")

    def _claim(self, request, object_id, send, verb):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self._reviewable(request, object_id)
        take_over = bool(request.POST.get("take_over"))
        if take_over and not request.user.has_perm(TAKE_OVER_PERMISSION):
            raise PermissionDenied
        actor = request.user.get_username()
        self._report(request, lambda: review.single(verb, order.pk, lambda: send(order.pk, actor=actor, take_over=take_over)))
        return self._after(request, order)

    def next_view(self, request, object_id):
        order = self._reviewable(request, object_id)
        request.GET = request.GET.copy()
        request.GET["next"] = "1"
        return self._after(request, order)

    def update_address_view(self, request, object_id):
        order = self._reviewable(request, object_id)
        form = AddressForm(request.POST or None, initial=order.shipping_address)
        if request.method == "POST" and form.is_valid():
            address = dict(AddressSerializer(form.cleaned_data).data)
            self._report(request, lambda: review.update_address(order.pk, actor=request.user.get_username(), address=address))
            return self._after(request, order)
        return self._form_page(request, order, form, "Update shipping address", "Save the address")

    def _form_page(self, request, order, form, title, submit, and_next=False):
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {order.pk}",
            "order": order,
            "form": form,
            "submit": submit,
            "and_next": and_next,
            "opts": self.model._meta,
            "original": order,
        }
        return TemplateResponse(request, "admin/orders/order/order_form.html", context)
