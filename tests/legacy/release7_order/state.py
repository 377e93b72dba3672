"""The order workflow's state: one dataclass, shared by its concerns.

The status and the step change only through `set_status`, `move` and `end`, which publish them (search attributes
and progress, workflows/order/publishing.py); the plain fields change where the concern that owns them says."""

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.legacy.release7_order.publishing import Publisher
    from workflows import texts
    from workflows.progress import Progress
    from workflows.steps import bookkeeping, failure_reason
    from workflows.types import (
        TERMINAL_STATUSES,
        Address,
        AddressChangeAck,
        ApproveRequest,
        CancelRequest,
        Claim,
        MessageResult,
        OrderInput,
        OrderRef,
        OrderStatus,
        OrderSummary,
        Screening,
        WorkflowState,
    )


@dataclass
class OrderState:
    data: OrderInput
    publisher: Publisher
    serialized: bool  # RELEASE_2: messages take turns (orders started on release 1 keep its handling)
    ends: bool  # EVERY_ORDER_ENDS
    address: Address
    status: OrderStatus = OrderStatus.RECEIVED
    step: str = "receive"
    progress: Progress = field(init=False)
    # The order row
    summary: Optional[OrderSummary] = None
    amount: Optional[float] = None
    received: bool = False
    creation_refusal: Optional[BaseException] = None
    creation_answered: bool = False
    client_updates: int = 0
    # Review
    approval: Optional[ApproveRequest] = None  # the approval that lets the order go on
    approvals: list[ApproveRequest] = field(default_factory=list)  # every approval taken (four-eyes: two reviewers)
    approvals_required: int = 1  # known once the order is received (its amount)
    approval_recorded: bool = False
    approval_dropped: bool = False  # an approval overtaken by a cancel before it was recorded
    claim: Optional[Claim] = None
    claim_changes: int = 0
    cancel: Optional[CancelRequest] = None
    escalated: bool = False
    risky: bool = False  # RISK_ROUTING: validation scores the order, and the policy may decide
    screening: Optional[Screening] = None
    pending_approvals: int = 0  # approvals waiting for their turn: a person came first, the policy does not decide
    closing: str = ""  # why the order is ending, while its final steps run
    # Address changes, child starts and final steps take turns: a change is either in the shipment and the
    # database, or refused with the reason.
    turn_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    address_changes: int = 0
    address_acks: dict[int, AddressChangeAck] = field(default_factory=dict)
    # Payment and fulfilment
    payment_status: str = ""
    attempts: int = 0
    last_failure: str = ""
    carrier_called: bool = False
    dispatched: bool = False
    tracking: str = ""
    child: Optional[workflow.ChildWorkflowHandle] = None

    def __post_init__(self) -> None:
        self.progress = Progress(since=workflow.now(), changed=self.publish)

    # --- transitions ---------------------------------------------------------------------------

    def set_status(self, status: OrderStatus) -> None:
        """Set the status and publish it."""
        self.status = status
        self.publish()

    def move(self, step: str) -> None:
        """Go on to `step`; since EVERY_ORDER_ENDS its progress starts again and is published."""
        self.step = step
        if self.ends:
            self.progress.move(step)

    def wait(self, waiting: bool) -> None:
        """Enter or leave a wait that is expected (a review, a backoff): published, not counted as stuck."""
        if self.ends:
            self.progress.wait(waiting)

    def end(self, status: OrderStatus) -> None:
        self.set_status(status)
        self.move("done")

    def publish(self) -> None:
        self.publisher.publish(self)

    # --- the steps every concern takes ---------------------------------------------------------

    async def write(self, activity: str, arg: Any, result_type: Optional[type] = None) -> Any:
        """A bookkeeping write; since EVERY_ORDER_ENDS the workflow keeps its retries (attempt, last error)."""
        return await bookkeeping(activity, arg, result_type, self.progress if self.ends else None)

    @asynccontextmanager
    async def turn(self, closing: str = ""):
        """Take the turn (orders started before turns existed run without it). `closing` says why the order is
        ending, for the messages that arrive meanwhile."""
        if not self.serialized:
            yield
            return
        async with self.turn_lock:
            self.closing = closing
            try:
                yield
            finally:
                self.closing = ""

    async def row_written(self) -> bool:
        """Wait for the first step; False when it refused to create the order, so that no message waits for a row
        that will never exist (orders started before EVERY_ORDER_ENDS keep waiting as they did)."""
        await workflow.wait_condition(lambda: self.received or (self.ends and self.creation_refusal is not None))
        return self.received

    def log(self, message: str) -> None:
        workflow.logger.info(message, extra={"order_id": self.order_id, "workflow_id": workflow.info().workflow_id})

    # --- reads ---------------------------------------------------------------------------------

    @property
    def order_id(self) -> str:
        return self.data.order_id

    @property
    def faults(self):
        return self.data.settings.faults

    @property
    def retry(self):
        return self.data.settings.business_retry

    def ref(self) -> OrderRef:
        return OrderRef(self.order_id)

    def over(self) -> bool:
        """Nothing more will happen to the order: it ended, or it was never created."""
        return self.status in TERMINAL_STATUSES or self.creation_refusal is not None

    def settled(self) -> bool:
        return self.status in TERMINAL_STATUSES or self.cancel is not None

    def live_claim(self) -> Optional[Claim]:
        """The claim, while it has not expired."""
        if self.claim and datetime.fromisoformat(self.claim.until) > workflow.now():
            return self.claim
        return None

    def refusal(self) -> Optional[str]:
        """Why no message can change the order any more, if it cannot."""
        if self.status in TERMINAL_STATUSES:
            return texts.already(self.status.value)
        if self.dispatched:
            return texts.ALREADY_DISPATCHED
        if self.serialized and self.closing:
            return self.closing
        return None

    def not_created(self) -> str:
        return texts.not_created(failure_reason(self.creation_refusal))

    def result(self, accepted: bool, detail: Optional[str] = None) -> MessageResult:
        """The answer to an update; a refusal without a `detail` says why the order cannot change."""
        if detail is None:
            detail = "" if accepted else (self.refusal() or self.last_failure)
        return MessageResult(accepted=accepted, status=self.status.value, detail=detail)

    def check_client_updates(self) -> None:
        limit = self.data.settings.max_client_updates
        if self.ends and self.client_updates >= limit:
            raise ValueError(texts.too_many_changes(limit))

    def signal_refused(self, name: str, check: Callable[[], None]) -> bool:
        """Signals are never answered: a refusal is logged and the signal ignored."""
        try:
            check()
        except ValueError as refusal:
            self.log(f"signal {name} ignored: {refusal}")
            return True
        return False

    def snapshot(self) -> WorkflowState:
        return WorkflowState(
            order_id=self.order_id,
            status=self.status.value,
            step=self.step,
            approved=self.approval is not None,
            cancel_requested=self.cancel is not None,
            cancel_reason=self.cancel.text if self.cancel else "",
            escalated=self.escalated,
            address=self.address,
            shipping_attempts=self.attempts,
            last_failure=self.last_failure,
            payment_status=self.payment_status,
            tracking_number=self.tracking,
            approvals=[a.actor for a in self.approvals],
            approvals_required=self.approvals_required,
            claim=self.live_claim(),
            step_attempt=self.progress.attempt,
            step_error=self.progress.error,
            progress_at=self.progress.since.isoformat() if self.progress.since else "",
            waiting=self.progress.waiting,
        )
