"""Fraud feedback through the API: a person with orders.mark_fraud says, after the fact, whether a decided order
was fraud (a chargeback) or not. It feeds the fraud-history rule."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from orders import limits, services
from orders.api.errors import Conflict
from orders.api.fields import TEXT, Text
from orders.api.views import ERRORS, ORDER_ID, WRITE_ERRORS
from orders.models import Order


class FraudVerdictSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(
        choices=[Order.Fraud.CONFIRMED, Order.Fraud.CLEARED], help_text="confirmed (fraud, e.g. a chargeback) or cleared (not fraud)."
    )
    note = Text(pattern=TEXT, max_length=limits.NOTE, required=False, blank=True, default="", help_text="Why, for the order's history.")


class FraudResultSerializer(serializers.Serializer):
    id = serializers.CharField()
    fraud = serializers.CharField(help_text="The order's fraud mark now: confirmed or cleared.")


class MarksFraud(permissions.BasePermission):
    message = "Only people with orders.mark_fraud may mark orders as fraud."

    def has_permission(self, request, view):
        return request.user.has_perm("orders.mark_fraud")


class FraudViewSet(viewsets.ViewSet):
    permission_classes = [permissions.IsAuthenticated, MarksFraud]

    @extend_schema(
        summary="Mark a completed or cancelled order fraud confirmed, or not fraud (orders.mark_fraud)",
        description="Recorded as an event (fraud_confirmed or not_fraud). Orders linked to a confirmed one by email "
        "or address score higher from then on; cleared removes the link. 409 for an order still in progress.",
        parameters=[ORDER_ID],
        request=FraudVerdictSerializer,
        responses={200: FraudResultSerializer, **WRITE_ERRORS, 403: ERRORS[403]},
    )
    def mark(self, request: Request, pk: str) -> Response:
        order = get_object_or_404(Order.objects.only("pk"), pk=pk)
        body = FraudVerdictSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            order = services.order_mark_fraud(order_id=order.pk, actor=request.user.get_username(), **body.validated_data)
        except services.InvalidTransition as exc:
            raise Conflict(str(exc), code="not_decided") from exc
        return Response({"id": order.pk, "fraud": order.fraud})
