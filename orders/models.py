import re
from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from workflows.types import OrderStatus, order_workflow_id

ORDER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ORDER_ID_RULE = "Order ids are 1-64 characters of A-Z, a-z, 0-9, _ and -."
order_id_validator = RegexValidator(ORDER_ID_PATTERN, ORDER_ID_RULE)


def is_valid_order_id(value: str) -> bool:
    return re.fullmatch(ORDER_ID_PATTERN, value) is not None


class DecidedBy(models.TextChoices):
    """Who took the review's decision: the first approve or cancel of the order (a later cancel, e.g. of a paid
    order, does not change it)."""

    PERSON = "person", "A reviewer"
    POLICY = "policy", "The risk policy"
    SYSTEM = "system", "The system (review timed out)"
    CLIENT = "client", "The customer (withdrawn)"


class Decision(models.TextChoices):
    APPROVED = "approved", "Approved"
    CANCELLED = "cancelled", "Cancelled"


class Fraud(models.TextChoices):
    SUSPECTED = "suspected", "Suspected (cancelled by a person)"
    CONFIRMED = "confirmed", "Fraud confirmed"
    CLEARED = "cleared", "Not fraud"


# What links an order to fraud for the fraud-history rule (a person's "not fraud" clears it).
FRAUD_MARKS = [Fraud.SUSPECTED, Fraud.CONFIRMED]


class Order(models.Model):
    DecidedBy = DecidedBy
    Decision = Decision
    Fraud = Fraud

    class Status(models.TextChoices):
        RECEIVED = OrderStatus.RECEIVED.value, "Received"
        AWAITING_REVIEW = OrderStatus.AWAITING_REVIEW.value, "Awaiting review"
        APPROVED = OrderStatus.APPROVED.value, "Approved"
        PAID = OrderStatus.PAID.value, "Paid"
        SHIPPING = OrderStatus.SHIPPING.value, "Shipping"
        COMPLETED = OrderStatus.COMPLETED.value, "Completed"
        CANCELLED = OrderStatus.CANCELLED.value, "Cancelled"
        REJECTED = OrderStatus.REJECTED.value, "Rejected"
        PAYMENT_FAILED = OrderStatus.PAYMENT_FAILED.value, "Payment failed"
        FAILED = OrderStatus.FAILED.value, "Failed"

    # The one table of allowed transitions. SHIPPING -> SHIPPING is a new shipping attempt.
    TRANSITIONS = {
        # -> FAILED from any open status: a step could not succeed (its write refused, an unexpected error); after a
        # capture, the money was refunded first.
        # -> PAYMENT_FAILED: the authorization, made before review, was declined.
        Status.RECEIVED: {Status.AWAITING_REVIEW, Status.REJECTED, Status.CANCELLED, Status.PAYMENT_FAILED, Status.FAILED},
        Status.AWAITING_REVIEW: {Status.APPROVED, Status.CANCELLED, Status.FAILED},
        Status.APPROVED: {Status.PAID, Status.PAYMENT_FAILED, Status.CANCELLED, Status.FAILED},
        Status.PAID: {Status.SHIPPING, Status.CANCELLED, Status.FAILED},
        Status.SHIPPING: {Status.SHIPPING, Status.COMPLETED, Status.FAILED, Status.CANCELLED},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
        Status.REJECTED: set(),
        Status.PAYMENT_FAILED: set(),
        Status.FAILED: set(),
    }

    id = models.CharField(primary_key=True, max_length=64, validators=[order_id_validator])
    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField()
    items = models.JSONField(default=list)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="USD")
    shipping_address = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    status_reason = models.CharField(max_length=500, blank=True)
    payment_id = models.CharField(max_length=64, unique=True)
    workflow_id = models.CharField(max_length=100, unique=True)
    fingerprint = models.CharField(max_length=64, help_text="Hash of the client's request, to tell repeats from conflicts.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    reviewer = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    escalated = models.BooleanField(default=False, db_index=True)
    # The review, as the workflow judges it (these columns mirror it for the queue): claims, approvals (four-eyes
    # orders need two) and the deadlines from the order's snapshotted settings.
    claimed_by = models.CharField(max_length=150, blank=True, db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    approvals = models.JSONField(default=list, blank=True, help_text="The reviewers who approved, in order.")
    approvals_required = models.PositiveSmallIntegerField(default=1)
    review_escalate_after = models.DurationField(null=True, blank=True)
    review_timeout = models.DurationField(null=True, blank=True)
    review_started_at = models.DateTimeField(null=True, blank=True)
    escalates_at = models.DateTimeField(null=True, blank=True, db_index=True)
    auto_cancels_at = models.DateTimeField(null=True, blank=True, db_index=True)
    shipping_attempts = models.PositiveSmallIntegerField(default=0)
    tracking_number = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Risk (orders/risk/): the keys its rules find related orders by, set when the order is received; the
    # assessment, made once at validation and never changed; who decided; and what people later said about fraud.
    email_key = models.CharField(max_length=254, blank=True, help_text="The email, lower case, without a +tag.")
    address_key = models.CharField(max_length=40, blank=True, help_text="A digest of the normalised address.")
    name_key = models.CharField(max_length=40, blank=True, help_text="A digest of the name and postal code.")
    risk_score = models.PositiveSmallIntegerField(null=True, blank=True)
    risk_band = models.CharField(max_length=6, blank=True, choices=[(b, b.capitalize()) for b in ("low", "medium", "high")])
    risk_signals = models.JSONField(default=list, blank=True, help_text="Each signal: name, points and text.")
    risk_route = models.CharField(
        max_length=7, blank=True, help_text="The route the policy gives the order (approve, review or cancel), whether or not routing is on."
    )
    decided_by = models.CharField(max_length=6, blank=True, choices=DecidedBy.choices)
    decision = models.CharField(max_length=9, blank=True, choices=Decision.choices, help_text="What the review decided.")
    fraud = models.CharField(max_length=9, blank=True, choices=Fraud.choices)

    class Meta:
        db_table = "orders"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["email_key", "created_at"], name="orders_email_key_idx"),
            models.Index(fields=["address_key", "created_at"], name="orders_address_key_idx"),
            models.Index(fields=["name_key", "created_at"], name="orders_name_key_idx"),
            # The fraud-history rule: small, as only orders with a fraud mark are in them.
            models.Index(fields=["email_key"], name="orders_fraud_email_idx", condition=Q(fraud__in=FRAUD_MARKS)),
            models.Index(fields=["address_key"], name="orders_fraud_address_idx", condition=Q(fraud__in=FRAUD_MARKS)),
        ]
        permissions = [
            ("review_order", "Can approve or cancel any order"),
            ("place_order", "Can start orders and manage the orders it started"),
            ("take_over_review", "Can take over an order another reviewer has claimed"),
            ("mark_fraud", "Can mark a decided order as fraud confirmed or not fraud"),
        ]

    def __str__(self):
        return self.id

    def save(self, *args, **kwargs):
        if not self.workflow_id:
            self.workflow_id = order_workflow_id(self.id)
        super().save(*args, **kwargs)

    def can_transition(self, to_status: str) -> bool:
        return to_status in self.TRANSITIONS[self.Status(self.status)]

    def can_approve(self) -> bool:
        return self.can_transition(self.Status.APPROVED)

    def can_cancel(self) -> bool:
        return self.can_transition(self.Status.CANCELLED)

    @classmethod
    def terminal_statuses(cls) -> list[str]:
        return [status for status, allowed in cls.TRANSITIONS.items() if not allowed]

    @property
    def is_terminal(self) -> bool:
        return not self.TRANSITIONS[self.Status(self.status)]

    def claim_holder(self, now) -> str:
        """Who holds a live claim ("" when nobody does, or it has expired)."""
        return self.claimed_by if self.claimed_by and self.claimed_until and self.claimed_until > now else ""


class ReviewQueueOrder(Order):
    """The admin's review queue: orders awaiting review, oldest first."""

    class Meta:
        proxy = True
        verbose_name = "order awaiting review"
        verbose_name_plural = "Review queue"


class Payment(models.Model):
    class Status(models.TextChoices):
        AUTHORIZED = "authorized", "Authorized (held)"
        CAPTURED = "captured", "Captured"
        REFUNDED = "refunded", "Refunded"
        DECLINED = "declined", "Declined"
        VOIDED = "voided", "Voided"  # the hold was released, or the gateway never answered and the key was voided
        EXPIRED = "expired", "Authorization expired"

    # The order's payment id, or a re-authorization's key derived from it ("pay-1:reauth:1").
    payment_id = models.CharField(primary_key=True, max_length=80, help_text="Also the idempotency key.")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices)
    provider_reference = models.CharField(max_length=100, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When the gateway drops the hold.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "payments"
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.payment_id} ({self.status})"


class OrderEvent(models.Model):
    class Type(models.TextChoices):
        RECEIVED = "received", "Received"
        VALIDATED = "validated", "Validated, awaiting review"
        REJECTED = "rejected", "Rejected"
        ESCALATED = "escalated", "Review escalated"
        CLAIMED = "claimed", "Claimed for review"
        CLAIM_RELEASED = "claim_released", "Claim released"
        CLAIM_TAKEN_OVER = "claim_taken_over", "Review taken over"
        APPROVAL_RECORDED = "approval_recorded", "Approved (1 of 2)"
        APPROVED = "approved", "Approved"
        CANCELLED = "cancelled", "Cancelled"
        ADDRESS_UPDATED = "address_updated", "Address updated"
        PAYMENT_AUTHORIZED = "payment_authorized", "Payment authorized (held)"
        AUTHORIZATION_EXPIRED = "authorization_expired", "Authorization expired"
        PAYMENT_REAUTHORIZED = "payment_reauthorized", "Payment re-authorized"
        PAYMENT_CAPTURED = "payment_captured", "Payment captured"
        PAYMENT_DECLINED = "payment_declined", "Payment declined"
        PAYMENT_VOIDED = "payment_voided", "Payment voided"
        PAYMENT_REFUNDED = "payment_refunded", "Payment refunded"
        SHIPPING_STARTED = "shipping_started", "Shipping attempt started"
        PACKAGE_PREPARED = "package_prepared", "Package prepared"
        DISPATCHED = "dispatched", "Carrier dispatched"
        SHIPPING_ATTEMPT_FAILED = "shipping_attempt_failed", "Shipping attempt failed"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        FRAUD_CONFIRMED = "fraud_confirmed", "Marked fraud confirmed"
        NOT_FRAUD = "not_fraud", "Marked not fraud"

    SYSTEM_ACTOR = "system"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=Type.choices)
    payload = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=150, default=SYSTEM_ACTOR)
    key = models.CharField(max_length=200, unique=True, help_text="Idempotency key: a retried step never writes twice.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "events"
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.order_id}: {self.type}"


# --- The outside world's own books ---------------------------------------------------------------
# The payment gateway's and the carrier's records, kept by their simulators (orders/providers/simulated.py) and never by
# our services: they are the truth our tables are checked against. A real deployment talks to real providers,
# whose books these stand for. No foreign keys into our tables: a provider knows our ids, not our rows.


class GatewayLedgerEntry(models.Model):
    class State(models.TextChoices):
        AUTHORIZED = "authorized", "Authorized"
        CAPTURED = "captured", "Captured"
        REFUNDED = "refunded", "Refunded"
        VOIDED = "voided", "Voided"
        EXPIRED = "expired", "Expired"

    payment_id = models.CharField(primary_key=True, max_length=80, help_text="The idempotency key of the payment.")
    order_id = models.CharField(max_length=64, db_index=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=10, choices=State.choices)
    reference = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gateway_ledger"
        verbose_name = "gateway ledger entry"
        verbose_name_plural = "gateway ledger"

    def __str__(self):
        return f"{self.payment_id} ({self.state})"


class CarrierShipment(models.Model):
    class State(models.TextChoices):
        DISPATCHED = "dispatched", "Dispatched"
        CANCELLED = "cancelled", "Cancelled"  # never dispatched, and the key can no longer be used

    shipment_key = models.CharField(primary_key=True, max_length=100, help_text="One per order: SHIP-{order id}.")
    order_id = models.CharField(max_length=64, db_index=True)
    package_id = models.CharField(max_length=100, blank=True)
    address = models.JSONField(default=dict)
    tracking_number = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=State.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "carrier_shipments"

    def __str__(self):
        return f"{self.shipment_key} ({self.state})"


class ReconcileRun(models.Model):
    """One run of `manage.py reconcile`, kept so that `check_status` can show the last result."""

    finished_at = models.DateTimeField(db_index=True)
    rows = models.PositiveIntegerField()
    workflows = models.PositiveIntegerField()
    seconds = models.FloatField()
    drift = models.JSONField(default=list, help_text="Each difference found: order_id, kind, detail.")

    class Meta:
        db_table = "reconcile_runs"
        get_latest_by = "finished_at"

    @property
    def clean(self) -> bool:
        return not self.drift

    def __str__(self):
        return f"reconcile at {self.finished_at:%Y-%m-%d %H:%M:%S}: {'clean' if self.clean else f'{len(self.drift)} differences'}"
