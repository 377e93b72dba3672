"""The messages of the order workflow: requests, their answers, reason codes and the state its query answers.
No Django here: workflows import this module inside the sandbox."""

from dataclasses import dataclass, field
from typing import Optional

from workflows.inputs import Address
from workflows.names import Roles

# The length of the order's status_reason column (tests/unit/test_limits.py checks it): every reason a workflow builds
# fits it.
REASON_MAX_LENGTH = 500
ELLIPSIS = "…"


def fit_text(text: str, limit: int) -> str:
    """The text, cut to `limit` characters with an ellipsis when it is longer."""
    return text if len(text) <= limit else text[: max(limit - len(ELLIPSIS), 0)] + ELLIPSIS[:limit]


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
            return fit_text(reason or note, REASON_MAX_LENGTH)
        label = cls.LABELS.get(code, code)
        return fit_text(f"{label}: {note}" if note else label, REASON_MAX_LENGTH)


@dataclass(frozen=True)
class ApproveRequest:
    actor: str = "system"
    note: str = ""
    role: str = Roles.REVIEWER
    bulk: bool = False  # one of many sent at once: answered before its effects run (Review.answer_first)
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
    # Progress: the attempt of the current step (above 1 while it retries), its last error, when the order last
    # moved on (ISO 8601), and whether it is in an expected wait (review, shipping backoff, a bulk hold).
    step_attempt: int = 1
    step_error: str = ""
    progress_at: str = ""
    waiting: bool = False
