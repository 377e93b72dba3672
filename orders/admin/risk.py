"""Risk on the review desk: the queue's risk column, what the order page shows about why the order is here (its
score, band, the policy's route, its signals, the related orders, who decided), and people's word on fraud after
the fact (orders.services.order_mark_fraud, for holders of orders.mark_fraud)."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse

from orders import services
from orders.admin.forms import FraudForm, errors_text
from orders.models import Order
from orders.risk.related import related_orders
from orders.services.risk import DECIDED
from orders.templatetags.review_admin import risk_badge

MARK_FRAUD_PERMISSION = "orders.mark_fraud"


class RiskColumns:
    @admin.display(description="Risk", ordering="risk_score")
    def risk(self, order):
        return risk_badge(order)


def risk_context(request, order: Order) -> dict:
    """What the order page's "Why this order is here" section and its fraud buttons need."""
    return {
        "related": related_orders(order),
        "can_mark_fraud": order.status in DECIDED and request.user.has_perm(MARK_FRAUD_PERMISSION),
        "fraud_verdicts": FraudForm.base_fields["verdict"].choices,
        "risk_medium_from": settings.RISK_MEDIUM_FROM,
        "risk_high_from": settings.RISK_HIGH_FROM,
    }


class FraudActions:
    """Mixed into the order admin: the order page's "fraud confirmed" and "not fraud" buttons."""

    def fraud_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [path("<path:object_id>/mark-fraud/", self.admin_site.admin_view(self.mark_fraud_view), name="%s_%s_mark_fraud" % info)]

    def mark_fraud_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(MARK_FRAUD_PERMISSION):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=object_id)
        form = FraudForm(request.POST)
        if not form.is_valid():
            self.message_user(request, f"Not marked ({errors_text(form)}): {order.pk}.", level=messages.ERROR)
        else:
            verdict = form.cleaned_data["verdict"]
            try:
                services.order_mark_fraud(
                    order_id=order.pk, actor=request.user.get_username(), verdict=verdict, note=form.cleaned_data["note"]
                )
            except services.ServiceError as exc:
                self.message_user(request, f"Not marked ({exc}): {order.pk}.", level=messages.ERROR)
            else:
                label = dict(FraudForm.base_fields["verdict"].choices)[verdict]
                self.message_user(request, f"Marked {label}: {order.pk}.", level=messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
