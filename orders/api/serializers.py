"""API serializers. Every field is listed explicitly; what the process owns (status, money, payments, ids) is
read-only. Input serializers hold the whole contract that the schema states: JSON types as declared (a number is
not a string), every text bounded by the column it lands in (orders.limits) and free of what the database cannot
store, quantities and prices bounded so that any order's total fits the amount column. Business rules (a complete
address, the amount limit) are the workflow's validate step, whose verdict shows in the order's status and reason."""

import copy

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from orders import limits
from orders.api.fields import (
    COUNTRY,
    CURRENCY,
    FILLED_TEXT,
    LINE,
    TEXT,
    Price,
    QueryNumber,
    StrictBoolean,
    StrictChoice,
    StrictEmail,
    StrictInteger,
    Text,
)
from orders.api.risk import RiskField, RiskFreePayload, RiskSummaryFields
from orders.models import ORDER_ID_PATTERN, Order, OrderEvent, Payment
from workflows.types import CancelCodes


class AddressSerializer(serializers.Serializer):
    name = Text(max_length=limits.ADDRESS["name"])
    line1 = Text(max_length=limits.ADDRESS["line1"])
    line2 = Text(max_length=limits.ADDRESS["line2"], pattern=LINE, required=False, blank=True, default="")
    city = Text(max_length=limits.ADDRESS["city"])
    postal_code = Text(max_length=limits.ADDRESS["postal_code"])
    country = Text(pattern=COUNTRY, max_length=limits.ADDRESS["country"], help_text="ISO 3166-1 alpha-2 code")


class ItemSerializer(serializers.Serializer):
    sku = Text(max_length=limits.SKU)
    quantity = StrictInteger(min_value=1, max_value=limits.QUANTITY)
    unit_price = Price()


class StartOrderSerializer(serializers.Serializer):
    customer_name = Text(max_length=limits.CUSTOMER_NAME)
    customer_email = StrictEmail(max_length=limits.CUSTOMER_EMAIL)
    items = ItemSerializer(many=True, max_length=limits.ITEMS)
    currency = Text(pattern=CURRENCY, max_length=limits.CURRENCY, help_text="ISO 4217 code, e.g. USD")
    shipping_address = AddressSerializer()
    payment_id = Text(
        pattern=ORDER_ID_PATTERN,
        max_length=limits.PAYMENT_ID,
        required=False,
        help_text="Idempotency key of the payment; defaults to pay-{order id}.",
    )

    def validated_request(self) -> dict:
        data = dict(self.validated_data)
        data["items"] = [{**item, "unit_price": str(item["unit_price"])} for item in data["items"]]
        data["shipping_address"] = dict(data["shipping_address"])
        data["currency"] = data["currency"].upper()
        return data


# The longest ?wait= a status read takes, in seconds.
STATUS_WAIT_MAX = 60


class StatusQuerySerializer(serializers.Serializer):
    """The query of a status read. Its fields are made per instance, so that the schema and the check both
    follow STATUS_WAIT_MAX."""

    def get_fields(self):
        wait = QueryNumber(
            min_value=0,
            max_value=STATUS_WAIT_MAX,
            required=False,
            default=0,
            help_text=f"Seconds to wait for the order to be final (0-{STATUS_WAIT_MAX}).",
        )
        return {"wait": wait}


REASON_CODES = list(CancelCodes.LABELS)
ORDER_IDS_HELP = "The order ids, at most BULK_REVIEW_CAP (1000 by default); past it, nothing is sent."


class CancelSerializer(serializers.Serializer):
    """A reason code (other needs a note, or a reason that stands for it), or the free-text reason of clients
    written before reason codes: the schema states the alternatives (anyOf, CancelSchema)."""

    reason_code = StrictChoice(choices=REASON_CODES, required=False, help_text="Why the order is cancelled.")
    note = Text(
        pattern=TEXT, max_length=limits.NOTE, required=False, blank=True, default="", help_text="Required with other."
    )
    reason = Text(
        pattern=FILLED_TEXT,
        max_length=limits.NOTE,
        required=False,
        help_text="Deprecated: the free text of clients written before reason codes.",
    )

    def validate(self, data):
        if not data.get("reason_code") and not data.get("reason"):
            raise serializers.ValidationError({"reason_code": ["This field is required."]})
        if data.get("reason_code") == CancelCodes.OTHER and not data["note"].strip() and data.get("reason"):
            data["note"] = data["reason"]
        problem = CancelCodes.problem(data.get("reason_code", ""), data.get("note", ""))
        if problem:
            raise serializers.ValidationError({"note" if "note" in problem else "reason_code": [problem]})
        return data


class CancelSchema(OpenApiSerializerExtension):
    """The cancel's alternatives in its request schema: a reason code other than other; other with a note that says
    something; or a free-text reason."""

    target_class = CancelSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            plain = "|".join(code for code in REASON_CODES if code != CancelCodes.OTHER)
            schema["anyOf"] = [
                {"required": ["reason_code"], "properties": {"reason_code": {"pattern": f"^(?:{plain})$"}}},
                {
                    "required": ["reason_code", "note"],
                    "properties": {"reason_code": {"pattern": f"^{CancelCodes.OTHER}$"}, "note": {"pattern": FILLED_TEXT}},
                },
                {"required": ["reason"]},
            ]
        return schema


class ApproveSerializer(serializers.Serializer):
    note = Text(pattern=TEXT, max_length=limits.NOTE, required=False, blank=True, default="")


class ClaimSerializer(serializers.Serializer):
    take_over = StrictBoolean(
        required=False, default=False, help_text="Take the order from the reviewer who holds it (orders.take_over_review)."
    )


class OrderIdsMixin(serializers.Serializer):
    ids = serializers.ListField(
        child=Text(pattern=ORDER_ID_PATTERN, max_length=limits.ORDER_ID),
        min_length=1,
        max_length=settings.BULK_REVIEW_CAP,
        help_text=ORDER_IDS_HELP,
    )

    def validate_ids(self, ids):
        if len(ids) > settings.BULK_REVIEW_CAP:
            raise serializers.ValidationError(f"At most {settings.BULK_REVIEW_CAP} orders at once; nothing was sent.")
        return list(dict.fromkeys(ids))


class BulkApproveSerializer(OrderIdsMixin, ApproveSerializer):
    pass


class BulkCancelSerializer(OrderIdsMixin, CancelSerializer):
    pass


class OrderItemSerializer(serializers.Serializer):
    """An item as stored (orders taken before the API's bounds may hold others)."""

    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)


class ShippingAddressSerializer(serializers.Serializer):
    """An address as stored."""

    name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField(required=False, allow_blank=True)
    city = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()


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
    """One payment id: the hold made before review (and each re-authorization's), its capture, or a charge."""

    class Meta:
        model = Payment
        fields = [
            "payment_id", "amount", "currency", "status", "expires_at", "provider_reference", "failure_reason", "created_at", "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": "authorized: the money is held, not yet taken; captured: taken; expired: the hold lapsed "
                "before it was captured; voided: the hold was released (the order will not be paid), or the gateway "
                "never answered and the key was voided."
            },
            "expires_at": {"help_text": "When the gateway drops the hold; null for a payment that was never held."},
        }


class EventSerializer(FieldsOnce, serializers.ModelSerializer):
    payload = RiskFreePayload(read_only=True)

    class Meta:
        model = OrderEvent
        fields = ["id", "type", "actor", "payload", "created_at"]
        read_only_fields = fields


class OrderListSerializer(FieldsOnce, RiskSummaryFields, serializers.ModelSerializer):
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
            "risk_band",
            "decided_by",
            "workflow_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class OrderDetailSerializer(FieldsOnce, RiskSummaryFields, serializers.ModelSerializer):
    items = OrderItemSerializer(many=True, read_only=True)
    shipping_address = ShippingAddressSerializer(read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)
    risk = RiskField()

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
            "risk_band",
            "risk",
            "decided_by",
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
    shipping_address = ShippingAddressSerializer()
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
