"""Shared types of the order process: queue names, activity names and the dataclasses that cross
the workflow boundary. No Django here: workflows import this module inside the sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Optional

MAIN_TASK_QUEUE = "main-tq"
SHIPPING_TASK_QUEUE = "shipping-tq"


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def default_payment_id(order_id: str) -> str:
    return f"pay-{order_id}"


def shipping_workflow_id(order_id: str, attempt: int) -> str:
    return f"shipping-{order_id}-{attempt}"


class OrderStatus(str, Enum):
    RECEIVED = "received"
    AWAITING_REVIEW = "awaiting_review"
    APPROVED = "approved"
    PAID = "paid"
    SHIPPING = "shipping"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    PAYMENT_FAILED = "payment_failed"
    FAILED = "failed"


TERMINAL_STATUSES = frozenset(
    {
        OrderStatus.COMPLETED,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
        OrderStatus.PAYMENT_FAILED,
        OrderStatus.FAILED,
    }
)


class Activities:
    """Activity names. Workflows call activities by name so that they never import the Django code
    behind them; test doubles register under the same names."""

    RECEIVE = "receive_order"
    VALIDATE = "validate_order"
    ESCALATE = "escalate_review"
    APPROVE = "approve_order"
    CANCEL = "cancel_order"
    UPDATE_ADDRESS = "update_order_address"
    CHARGE = "charge_payment"
    RECORD_PAYMENT = "record_payment"
    RECORD_DECLINE = "record_payment_declined"
    SETTLE_PAYMENT = "settle_payment"
    RECORD_VOID = "record_payment_voided"
    REFUND = "refund_payment"
    START_SHIPPING = "start_shipping"
    PREPARE_PACKAGE = "prepare_package"
    DISPATCH_CARRIER = "dispatch_carrier"
    RECORD_APPROVAL = "record_approval"
    RECORD_CLAIM = "record_claim"
    RECORD_SHIPPING_STEP = "record_shipping_step"
    SETTLE_SHIPMENT = "settle_shipment"
    COMPLETE = "complete_order"
    FAIL = "fail_order"


class ErrorTypes:
    """`ApplicationError.type` values of business failures; all are non-retryable."""

    REJECTED = "OrderRejected"
    DECLINED = "PaymentDeclined"
    INVALID_TRANSITION = "InvalidTransition"
    CONFLICT = "IdempotencyConflict"
    PAYMENT_ID_IN_USE = "PaymentIdInUse"
    DISPATCH_FAILED = "DispatchFailed"


@dataclass(frozen=True)
class Address:
    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = ""

    REQUIRED = ("name", "line1", "city", "postal_code", "country")

    def missing_fields(self) -> list[str]:
        return [name for name in self.REQUIRED if not str(getattr(self, name) or "").strip()]


@dataclass(frozen=True)
class OrderItem:
    sku: str
    quantity: int
    unit_price: str  # a decimal string: money never travels as a float


@dataclass(frozen=True)
class RetrySettings:
    initial_interval_seconds: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval_seconds: float = 30.0
    maximum_attempts: int = 3


@dataclass(frozen=True)
class FaultSettings:
    """Fault simulation for one order (the demo's --flaky); without it, the workers' FLAKY_* settings apply.

    failure_rate: a call fails before it does anything. lost_reply_rate: the charge, dispatch or refund is done
    in the provider's own books, then the reply is lost (a timeout or a dropped connection)."""

    failure_rate: float = 0.0
    max_delay_seconds: float = 0.0
    seed: str = ""
    lost_reply_rate: float = 0.0


@dataclass(frozen=True)
class ProcessSettings:
    """A snapshot of the process settings, taken when the order starts (workflows can't read Django settings)."""

    review_escalate_after_seconds: float = 3600.0
    review_timeout_seconds: float = 86400.0
    review_claim_ttl_seconds: float = 600.0
    four_eyes_amount: str = ""  # orders of at least this amount need two reviewers; "" (orders before it): one
    shipping_max_attempts: int = 3
    shipping_backoff_seconds: float = 5.0
    shipping_task_queue: str = SHIPPING_TASK_QUEUE
    business_retry: RetrySettings = field(default_factory=RetrySettings)
    faults: Optional[FaultSettings] = None


@dataclass(frozen=True)
class OrderInput:
    order_id: str
    customer_name: str
    customer_email: str
    items: list[OrderItem]
    currency: str
    shipping_address: Address
    payment_id: str
    fingerprint: str = ""
    created_by_id: Optional[int] = None
    settings: ProcessSettings = field(default_factory=ProcessSettings)


# --- Messages -------------------------------------------------------------------------------


class Roles:
    """Who sends a decision: claims bind reviewers; a customer cancelling its own order or the system do not."""

    REVIEWER = "reviewer"
    CLIENT = "client"
    SYSTEM = "system"


class CancelCodes:
    """The fixed list of reasons a reviewer cancels for; OTHER needs a note."""

    CUSTOMER_REQUEST = "customer_request"
    SUSPECTED_FRAUD = "suspected_fraud"
    OUT_OF_STOCK = "out_of_stock"
    ADDRESS_PROBLEM = "address_problem"
    OTHER = "other"

    LABELS = {
        CUSTOMER_REQUEST: "Customer request",
        SUSPECTED_FRAUD: "Suspected fraud",
        OUT_OF_STOCK: "Out of stock",
        ADDRESS_PROBLEM: "Address problem",
        OTHER: "Other",
    }

    @classmethod
    def problem(cls, code: str, note: str) -> str:
        """Why a reason code and note are not acceptable ("" when they are). An empty code is the form of the
        messages sent before reason codes existed (`{"reason": ...}`)."""
        if code and code not in cls.LABELS:
            return f"unknown reason code {code!r}; use one of {', '.join(cls.LABELS)}"
        if code == cls.OTHER and not note.strip():
            return "the reason code other needs a note"
        return ""

    @classmethod
    def text(cls, code: str, note: str, reason: str = "") -> str:
        """The reason as people read it: "Suspected fraud: card used in 3 countries"."""
        if not code:
            return reason or note
        label = cls.LABELS.get(code, code)
        return f"{label}: {note}" if note else label


@dataclass(frozen=True)
class ApproveRequest:
    actor: str = "system"
    note: str = ""
    role: str = Roles.REVIEWER
    bulk: bool = False  # one of many sent at once: answered before its effects run (OrderWorkflow._answer_first)
    hold_seconds: float = 0.0  # in bulk: how long its effects wait (until the bulk's budget is over)


@dataclass(frozen=True)
class CancelRequest:
    reason: str = ""  # the free text of messages sent before reason codes (kept: scripts still send it)
    actor: str = "system"
    code: str = ""
    note: str = ""
    role: str = Roles.REVIEWER
    bulk: bool = False
    hold_seconds: float = 0.0

    @property
    def text(self) -> str:
        return CancelCodes.text(self.code, self.note, self.reason)


@dataclass(frozen=True)
class ClaimRequest:
    actor: str
    take_over: bool = False  # the entry point checked the orders.take_over_review permission


@dataclass(frozen=True)
class Claim:
    reviewer: str
    until: str  # ISO 8601, UTC


@dataclass(frozen=True)
class AddressUpdate:
    address: Address
    actor: str = "system"


@dataclass(frozen=True)
class DispatchFailure:
    attempt: int
    reason: str
    carrier_called: bool = False  # the dispatch was tried, so a shipment may exist at the carrier


@dataclass(frozen=True)
class ShippingAddressChange:
    """Parent -> shipping child: use this address if dispatch has not started; answer with an AddressChangeAck."""

    address: Address
    sequence: int


@dataclass(frozen=True)
class AddressChangeAck:
    """Shipping child -> parent: whether the change with this sequence number will be used by the shipment."""

    sequence: int
    applied: bool
    reason: str = ""


@dataclass(frozen=True)
class CreationResult:
    """The answer to the `await_creation` update that a start sends with the workflow: the order row exists and
    was validated, or the first step refused to create it."""

    first: bool  # this request started the order; False when it repeats an earlier start
    fingerprint: str
    status: str
    refusal: str = ""
    refusal_type: str = ""


@dataclass(frozen=True)
class MessageResult:
    """The answer to an update: the state the order is in once the workflow took the message."""

    PROCESSING = "processing"  # accepted, but the outcome took longer than the caller waited

    accepted: bool
    status: str
    detail: str = ""

    @property
    def still_processing(self) -> bool:
        return self.status == self.PROCESSING


@dataclass
class WorkflowState:
    """What `get_status` answers."""

    order_id: str
    status: str
    step: str
    approved: bool = False
    cancel_requested: bool = False
    cancel_reason: str = ""
    escalated: bool = False
    address: Optional[Address] = None
    shipping_attempts: int = 0
    last_failure: str = ""
    payment_status: str = ""
    tracking_number: str = ""
    approvals: list[str] = field(default_factory=list)  # the reviewers who approved, in order
    approvals_required: int = 1
    claim: Optional[Claim] = None


# --- Activity inputs and results --------------------------------------------------------------


@dataclass(frozen=True)
class OrderRef:
    order_id: str


@dataclass(frozen=True)
class ReviewDecision:
    order_id: str
    actor: str
    reason: str = ""
    code: str = ""
    note: str = ""
    approvers: list[str] = field(default_factory=list)  # every reviewer who approved (four-eyes: two)
    role: str = ""  # who decided: Roles.REVIEWER, CLIENT or SYSTEM


@dataclass(frozen=True)
class ApprovalRecord:
    """The first of two approvals (four-eyes)."""

    order_id: str
    actor: str
    note: str
    required: int


@dataclass(frozen=True)
class ClaimChange:
    order_id: str
    actor: str
    action: str  # "claimed", "released" or "taken_over"
    until: str = ""  # ISO 8601 while claimed
    previous: str = ""  # the holder a take-over or an expiry replaced
    sequence: int = 0


@dataclass(frozen=True)
class AddressChange:
    order_id: str
    address: Address
    actor: str
    sequence: int


@dataclass(frozen=True)
class ChargeRequest:
    order_id: str
    payment_id: str
    amount: str
    currency: str
    faults: Optional[FaultSettings] = None


@dataclass(frozen=True)
class PaymentRecord:
    order_id: str
    payment_id: str
    amount: str
    currency: str
    provider_reference: str = ""
    reason: str = ""
    faults: Optional[FaultSettings] = None


@dataclass(frozen=True)
class OrderSummary:
    order_id: str
    amount: str
    currency: str
    payment_id: str


@dataclass(frozen=True)
class ShippingInput:
    order_id: str
    attempt: int
    parent_workflow_id: str
    address: Address
    business_retry: RetrySettings = field(default_factory=RetrySettings)
    faults: Optional[FaultSettings] = None


@dataclass(frozen=True)
class ShippingStep:
    order_id: str
    attempt: int
    step: str  # "package_prepared", "dispatched" or "attempt_failed"
    detail: str = ""


@dataclass(frozen=True)
class PackageRequest:
    order_id: str
    attempt: int
    faults: Optional[FaultSettings] = None


@dataclass(frozen=True)
class DispatchRequest:
    order_id: str
    attempt: int
    package_id: str
    address: Address
    faults: Optional[FaultSettings] = None


@dataclass(frozen=True)
class ShippingResult:
    dispatched: bool
    tracking_number: str = ""
    package_id: str = ""
    address: Optional[Address] = None  # the address the carrier was given


@dataclass(frozen=True)
class PaymentTruth:
    """What the gateway's own books say of a payment id after a charge whose outcome we never heard."""

    CAPTURED = "captured"

    state: str  # "captured", "refunded" or "voided" (voided now, so a late capture can no longer land)
    reference: str = ""

    @property
    def captured(self) -> bool:
        return self.state == self.CAPTURED


@dataclass(frozen=True)
class ShipmentTruth:
    """What the carrier's own books say of an order's shipment after a dispatch whose outcome we never heard."""

    dispatched: bool  # False: none exists, and none can be created any more
    tracking_number: str = ""


@dataclass(frozen=True)
class ShippingAttempt:
    order_id: str
    attempt: int


@dataclass(frozen=True)
class Outcome:
    order_id: str
    reason: str = ""
    detail: str = ""
