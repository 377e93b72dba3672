"""The inputs and results of the activities.
No Django here: workflows import this module inside the sandbox."""

from dataclasses import dataclass, field
from typing import Optional

from workflows.inputs import Address, FaultSettings


@dataclass(frozen=True)
class OrderRef:
    order_id: str


@dataclass(frozen=True)
class ScreenRequest:
    """Validate the order and assess its risk, with the thresholds snapshotted for it (None: off)."""

    order_id: str
    approve_below: Optional[int] = None
    cancel_from: Optional[int] = None
    hold_first: bool = False  # AUTHORIZE_FIRST: a valid order waits for review once its payment is authorized


@dataclass(frozen=True)
class Screening:
    """The order passed validation: its risk score, band, and the route the policy gives it."""

    status: str
    score: int
    band: str
    route: str


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
class Hold:
    """An authorization at the gateway: `expires_at` (ISO 8601) is when the gateway drops it."""

    reference: str
    expires_at: str


@dataclass(frozen=True)
class HoldRecord:
    """A hold to record: the first for the order, or one that `replaces` a lapsed hold (a re-authorization)."""

    order_id: str
    payment_id: str
    amount: str
    currency: str
    provider_reference: str
    expires_at: str
    replaces: str = ""


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
    """What the gateway's own books say of a payment id after a call whose outcome we never heard."""

    CAPTURED = "captured"
    AUTHORIZED = "authorized"
    EXPIRED = "expired"

    # "authorized", "captured", "refunded", "expired" or "voided" (voided now, so a late call can no longer land)
    state: str
    reference: str = ""
    expires_at: str = ""  # ISO 8601, for a hold

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
