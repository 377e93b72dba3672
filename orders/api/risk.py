"""The order's risk in the API. Reviewers see the score, the band, the route the policy gives and every signal;
an order's own client sees the band and who decided, never the signals (they would teach a fraudster the rules)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders import selectors
from orders.models import Order
from workflows.risk import Band

# Keys of event payloads that carry the assessment: shown to reviewers only.
RISK_PAYLOAD_KEYS = ("risk_score", "risk_band", "risk_route")


class SignalSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Stable name of the signal, e.g. velocity_email_10m.")
    points = serializers.IntegerField(help_text="Its contribution to the score (negative lowers it).")
    text = serializers.CharField(help_text='What it means, e.g. "3 orders from this email in the last 10 minutes".')


class RiskSerializer(serializers.Serializer):
    score = serializers.IntegerField(source="risk_score", help_text="0 (no signal) to 100.")
    band = serializers.CharField(source="risk_band", help_text="low, medium or high.")
    route = serializers.CharField(
        source="risk_route", help_text="The route the policy gives the order (approve, review, cancel), whether or not routing is on."
    )
    signals = SignalSerializer(source="risk_signals", many=True)


class RiskSummaryFields(serializers.Serializer):
    """What every reader of an order sees of its risk: the band and who took the review's decision ("" until
    then; orders validated before scoring have no band)."""

    risk_band = serializers.ChoiceField(
        choices=Band.ALL, allow_blank=True, read_only=True, help_text="low, medium or high; empty until the order is validated."
    )
    decided_by = serializers.ChoiceField(
        choices=Order.DecidedBy.choices, allow_blank=True, read_only=True,
        help_text="Who took the review's decision: person, policy, system (the review timed out) or client; empty until then.",
    )  # fmt: skip


def sees_risk(serializer: serializers.Serializer) -> bool:
    request = serializer.context.get("request")
    return bool(request and selectors.can_review(request.user))


@extend_schema_field(RiskSerializer(allow_null=True, help_text="For reviewers; null for clients, and until the order is validated."))
class RiskField(serializers.Field):
    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, order):
        if order.risk_score is None or not sees_risk(self.parent):
            return None
        return RiskSerializer(order).data


class RiskFreePayload(serializers.JSONField):
    """An event's payload, without the assessment for those who may not see it."""

    def to_representation(self, payload):
        if isinstance(payload, dict) and not sees_risk(self.parent):
            payload = {k: v for k, v in payload.items() if k not in RISK_PAYLOAD_KEYS}
        return super().to_representation(payload)
