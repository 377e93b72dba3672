"""What a workflow is started with: the order, its address and items, and the process settings snapshotted for it.
No Django here: workflows import this module inside the sandbox."""

from dataclasses import dataclass, field
from typing import Optional

from workflows.names import SHIPPING_TASK_QUEUE


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
    # Claims, releases, address changes and start repeats taken per run: well under the server's cap on updates
    # per run (history.maxTotalUpdates, 2000), past which it would refuse every update, decisions included.
    max_client_updates: int = 500
    # The risk policy (workflows/risk.py): below the first the policy approves, from the second it cancels as
    # suspected fraud; None is off (the order is reviewed).
    risk_auto_approve_below: Optional[int] = None
    risk_auto_cancel_from: Optional[int] = None
    # AUTHORIZE_FIRST: how long a hold is good for (a review that outlasts it re-authorizes before capture), and
    # how many re-authorizations an order may make.
    authorization_valid_for_seconds: float = 7 * 86400.0
    max_reauthorizations: int = 3


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


@dataclass(frozen=True)
class ShippingInput:
    order_id: str
    attempt: int
    parent_workflow_id: str
    address: Address
    business_retry: RetrySettings = field(default_factory=RetrySettings)
    faults: Optional[FaultSettings] = None
