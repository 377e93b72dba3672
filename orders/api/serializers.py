"""API serializers. Every field is listed explicitly; what the process owns (status, money, payments, ids) is
read-only. Input serializers check the shape; business rules (positive quantities, a complete address, the amount
limit) are the workflow's validate step, whose verdict shows in the order's status and reason."""

import copy

from django.conf import settings
from rest_framework import serializers

from orders.models import ORDER_ID_PATTERN, Order, OrderEvent, Payment
from orders.rules import MAX_AMOUNT, amount_fits, order_total
from workflows.types import CancelCodes


class AddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.CharField(max_length=2, min_length=2, help_text="ISO 3166-1 alpha-2 code")


class ItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=-(10**6), max_value=10**6)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)


class StartOrderSerializer(serializers.Serializer):
    customer_name = serializers.CharField(max_length=200)
    customer_email = serializers.EmailField()
    items = ItemSerializer(many=True, max_length=200)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", max_length=3, help_text="ISO 4217 code, e.g. USD")
    shipping_address = AddressSerializer()
    payment_id = serializers.RegexField(
        ORDER_ID_PATTERN, required=False, help_text="Idempotency key of the payment; defaults to pay-{order id}."
    )

    def validate_items(self, items):
        if not amount_fits(order_total(items)):
            raise serializers.ValidationError(f"The order total must be within ±{MAX_AMOUNT}.")
        return items

    def validated_request(self) -> dict:
        data = dict(self.validated_data)
        data["items"] = [{**item, "unit_price": str(item["unit_price"])} for item in data["items"]]
        data["shipping_address"] = dict(data["shipping_address"])
        data["currency"] = data["currency"].upper()
        return data


class StatusQuerySerializer(serializers.Serializer):
    wait = serializers.FloatField(min_value=0, max_value=60, required=False, default=0)


REASON_CODES = list(CancelCodes.LABELS)
ORDER_IDS_HELP = "The order ids, at most BULK_REVIEW_CAP (1000 by default); past it, nothing is sent."


class CancelSerializer(serializers.Serializer):
    reason_code = serializers.ChoiceField(choices=REASON_CODES, required=False, help_text="Why the order is cancelled.")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="", help_text="Required with other.")
    reason = serializers.CharField(
        max_length=500, required=False, help_text="Deprecated: the free text of clients written before reason codes."
    )

    def validate(self, data):
        if not data.get("reason_code") and not data.get("reason"):
            raise serializers.ValidationError({"reason_code": ["This field is required."]})
        problem = CancelCodes.problem(data.get("reason_code", ""), data.get("note", ""))
        if problem:
            raise serializers.ValidationError({"note" if "note" in problem else "reason_code": [problem]})
        return data


class ApproveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ClaimSerializer(serializers.Serializer):
    take_over = serializers.BooleanField(
        required=False, default=False, help_text="Take the order from the reviewer who holds it (orders.take_over_review)."
    )


class OrderIdsMixin(serializers.Serializer):
    ids = serializers.ListField(child=serializers.RegexField(ORDER_ID_PATTERN), min_length=1, help_text=ORDER_IDS_HELP)

    def validate_ids(self, ids):
        if len(ids) > settings.BULK_REVIEW_CAP:
            raise serializers.ValidationError(f"At most {settings.BULK_REVIEW_CAP} orders at once; nothing was sent.")
        return list(dict.fromkeys(ids))


class BulkApproveSerializer(OrderIdsMixin, ApproveSerializer):
    pass


class BulkCancelSerializer(OrderIdsMixin, CancelSerializer):
    pass


class FieldsOnce:
    """A ModelSerializer builds its fields from the model for every instance (a few milliseconds per order read).
    Build them once per class and hand out copies, as DRF does for declared fields."""

    def get_fields(self):
        prototype = type(self).__dict__.get("_fields_prototype")
        if prototype is None:
            prototype = super().get_fields()
            type(self)._fields_prototype = prototype
        return copy.deepcopy(prototype)


class PaymentSerializer(FieldsOnce, serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["payment_id", "amount", "currency", "status", "provider_reference", "failure_reason", "created_at", "updated_at"]
        read_only_fields = fields


class EventSerializer(FieldsOnce, serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["id", "type", "actor", "payload", "created_at"]
        read_only_fields = fields


class OrderListSerializer(FieldsOnce, serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = [
            "id",
            "customer_name",
            "customer_email",
            "amount",
            "currency",
            "status",
            "escalated",
            "workflow_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class OrderDetailSerializer(FieldsOnce, serializers.ModelSerializer):
    items = ItemSerializer(many=True, read_only=True)
    shipping_address = AddressSerializer(read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "customer_name",
            "customer_email",
            "items",
            "amount",
            "currency",
            "shipping_address",
            "status",
            "status_reason",
            "escalated",
            "reviewer",
            "decided_at",
            "approvals",
            "approvals_required",
            "claimed_by",
            "claimed_until",
            "escalates_at",
            "auto_cancels_at",
            "shipping_attempts",
            "tracking_number",
            "payment_id",
            "workflow_id",
            "payments",
            "events",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class StartResultSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False when this repeats an earlier identical start.")
    order = OrderDetailSerializer()


class BulkOutcomeSerializer(serializers.Serializer):
    id = serializers.CharField(source="order_id")
    outcome = serializers.ChoiceField(
        choices=["done", "processing", "refused", "unknown"],
        help_text="done: decided (detail says e.g. approved 1 of 2); processing: accepted, still running; refused: "
        "with the workflow's reason; unknown: not taken in time, try again.",
    )
    detail = serializers.CharField(allow_blank=True)


class BulkCountsSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    processing = serializers.IntegerField()
    refused = serializers.IntegerField()
    unknown = serializers.IntegerField()


class BulkResultSerializer(serializers.Serializer):
    counts = BulkCountsSerializer()
    outcomes = BulkOutcomeSerializer(many=True)


class MessageResultSerializer(serializers.Serializer):
    id = serializers.CharField()
    accepted = serializers.BooleanField()
    status = serializers.CharField(help_text='The order status after the message, or "processing".')
    detail = serializers.CharField(allow_blank=True)


class StatusSerializer(serializers.Serializer):
    id = serializers.CharField()
    workflow_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
    step = serializers.CharField(allow_blank=True)
    approved = serializers.BooleanField()
    cancelled = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    escalated = serializers.BooleanField()
    approvals = serializers.ListField(child=serializers.CharField(), help_text="The reviewers who approved, in order.")
    approvals_required = serializers.IntegerField(help_text="2 for orders under four-eyes review.")
    claimed_by = serializers.CharField(allow_blank=True, help_text="The reviewer holding a live claim, if any.")
    claimed_until = serializers.DateTimeField(allow_null=True)
    shipping_address = AddressSerializer()
    shipping_attempts = serializers.IntegerField()
    last_failure = serializers.CharField(allow_blank=True)
    payment_status = serializers.CharField(allow_blank=True)
    tracking_number = serializers.CharField(allow_blank=True)
    live = serializers.BooleanField(help_text="True while the workflow runs and the state comes from it.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A stable code, e.g. not_found, not_allowed, unavailable.")
    detail = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="Field errors, for 400 responses.")
