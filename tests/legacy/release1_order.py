"""Release 1 (frozen, for tests/workflows/test_deploy_in_flight.py): OrderWorkflow: receive -> validate -> manual review -> payment -> shipping (a child per attempt).

Deterministic: no Django, no I/O; every side effect is an activity. Messages may arrive before `run` starts,
so all state is set up in `@workflow.init`.
"""

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Optional

from temporalio import workflow
from temporalio.exceptions import ActivityError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from tests.legacy.release1_steps import bookkeeping, business_call, failure_reason, failure_type
    from workflows.types import (
        TERMINAL_STATUSES,
        Activities,
        AddressChange,
        AddressUpdate,
        ApproveRequest,
        CancelRequest,
        ChargeRequest,
        DispatchFailure,
        ErrorTypes,
        MessageResult,
        OrderInput,
        OrderRef,
        OrderStatus,
        OrderSummary,
        Outcome,
        PaymentRecord,
        ReviewDecision,
        ShippingAttempt,
        ShippingInput,
        ShippingResult,
        ShippingStep,
        WorkflowState,
        shipping_workflow_id,
    )

from tests.legacy.release1_shipping import ShippingWorkflow

REVIEW_TIMED_OUT = "review timed out"


@workflow.defn(name="OrderWorkflow")
class OrderWorkflow:
    @workflow.init
    def __init__(self, data: OrderInput) -> None:
        self._data = data
        self._status = OrderStatus.RECEIVED
        self._step = "receive"
        self._received = False
        self._approval: Optional[ApproveRequest] = None
        self._approval_recorded = False
        self._cancel: Optional[CancelRequest] = None
        self._address = data.shipping_address
        self._address_changes = 0
        # Address changes are applied one at a time, in the order they arrived, so the last one wins everywhere.
        self._address_lock = asyncio.Lock()
        self._escalated = False
        self._attempts = 0
        self._last_failure = ""
        self._payment_status = ""
        self._dispatched = False
        self._tracking = ""
        self._child = None

    # --- the process ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, data: OrderInput) -> WorkflowState:
        self._log("order received")
        self._summary: OrderSummary = await bookkeeping(Activities.RECEIVE, data, OrderSummary)
        self._received = True
        await self._process()
        # Let update handlers (e.g. a late address change) finish before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._log(f"order finished as {self._status.value}")
        return self.get_status()

    async def _process(self) -> None:
        self._step = "validate"
        try:
            await bookkeeping(Activities.VALIDATE, self._ref(), str)
        except ActivityError as err:
            if failure_type(err) != ErrorTypes.REJECTED:
                raise
            self._last_failure = failure_reason(err)
            return self._end(OrderStatus.REJECTED)
        self._status = OrderStatus.AWAITING_REVIEW

        if not await self._review():
            return await self._cancel_order()
        self._step = "approve"
        await bookkeeping(Activities.APPROVE, ReviewDecision(self._id, self._approval.actor))
        self._approval_recorded = True
        self._status = OrderStatus.APPROVED
        if self._cancel:
            return await self._cancel_order()

        if not await self._pay():
            return
        if self._cancel:
            return await self._cancel_order()
        await self._ship()

    async def _review(self) -> bool:
        """Wait for a decision: True once approved; False when cancelled or the review timed out."""
        self._step = "manual review"
        settings = self._data.settings
        decided = lambda: self._approval is not None or self._cancel is not None  # noqa: E731
        try:
            await workflow.wait_condition(decided, timeout=timedelta(seconds=settings.review_escalate_after_seconds))
        except asyncio.TimeoutError:
            self._log("review overdue: escalating")
            await bookkeeping(Activities.ESCALATE, self._ref())
            self._escalated = True
            remaining = settings.review_timeout_seconds - settings.review_escalate_after_seconds
            try:
                await workflow.wait_condition(decided, timeout=timedelta(seconds=remaining))
            except asyncio.TimeoutError:
                self._cancel = CancelRequest(reason=REVIEW_TIMED_OUT)
        return self._cancel is None

    async def _pay(self) -> bool:
        self._step = "payment"
        s = self._summary
        record = PaymentRecord(order_id=self._id, payment_id=s.payment_id, amount=s.amount, currency=s.currency)
        try:
            reference = await business_call(
                Activities.CHARGE, ChargeRequest(self._id, s.payment_id, s.amount, s.currency, self._faults), self._retry, str
            )
        except ActivityError as err:
            self._last_failure = failure_reason(err)
            if failure_type(err) != ErrorTypes.DECLINED:
                self._last_failure = f"payment gateway unavailable: {self._last_failure}"
            await bookkeeping(Activities.RECORD_DECLINE, replace(record, reason=self._last_failure))
            self._payment_status = "declined"
            self._end(OrderStatus.PAYMENT_FAILED)
            return False
        await bookkeeping(Activities.RECORD_PAYMENT, replace(record, provider_reference=reference))
        self._payment_status = "captured"
        self._status = OrderStatus.PAID
        return True

    async def _ship(self) -> None:
        settings = self._data.settings
        for attempt in range(1, settings.shipping_max_attempts + 1):
            self._attempts = attempt
            self._step = f"shipping (attempt {attempt})"
            await bookkeeping(Activities.START_SHIPPING, ShippingAttempt(self._id, attempt))
            self._status = OrderStatus.SHIPPING
            result = await self._run_shipping_attempt(attempt)
            if result and result.dispatched:
                self._dispatched = True
                self._tracking = result.tracking_number
                self._step = "complete"
                await bookkeeping(Activities.COMPLETE, self._ref())
                return self._end(OrderStatus.COMPLETED)
            if result:  # the child stopped before dispatch because the order is being cancelled
                return await self._cancel_order()
            await bookkeeping(
                Activities.RECORD_SHIPPING_STEP, ShippingStep(self._id, attempt, "attempt_failed", self._last_failure)
            )
            if attempt < settings.shipping_max_attempts:
                backoff = settings.shipping_backoff_seconds * 2 ** (attempt - 1)
                try:
                    await workflow.wait_condition(lambda: self._cancel is not None, timeout=timedelta(seconds=backoff))
                except asyncio.TimeoutError:
                    pass
            if self._cancel:
                return await self._cancel_order()
        reason = f"shipping failed after {settings.shipping_max_attempts} attempts: {self._last_failure}"
        self._step = "compensate"
        await self._refund(reason)
        self._last_failure = reason
        await bookkeeping(Activities.FAIL, Outcome(self._id, reason=reason))
        self._end(OrderStatus.FAILED)

    async def _run_shipping_attempt(self, attempt: int) -> Optional[ShippingResult]:
        """One child workflow. Returns its result, or None when the attempt failed."""
        self._child = await workflow.start_child_workflow(
            ShippingWorkflow.run,
            ShippingInput(
                order_id=self._id,
                attempt=attempt,
                parent_workflow_id=workflow.info().workflow_id,
                address=self._address,
                business_retry=self._retry,
                faults=self._faults,
            ),
            id=shipping_workflow_id(self._id, attempt),
            task_queue=self._data.settings.shipping_task_queue,
        )
        child = self._child
        await workflow.wait_condition(lambda: child.done() or self._cancel is not None)
        if not child.done():
            await child.signal(ShippingWorkflow.cancel_shipping)
        try:
            return await child
        except ChildWorkflowError as err:
            if not self._last_failure.startswith(f"attempt {attempt}:"):
                self._last_failure = f"attempt {attempt}: {failure_reason(err)}"
            self._log(f"shipping attempt failed: {self._last_failure}")
            return None
        finally:
            self._child = None

    async def _refund(self, reason: str) -> None:
        if self._payment_status != "captured":
            return
        s = self._summary
        record = PaymentRecord(self._id, s.payment_id, s.amount, s.currency, reason=reason, faults=self._faults)
        await bookkeeping(Activities.REFUND, record)
        self._payment_status = "refunded"

    async def _cancel_order(self) -> None:
        request = self._cancel or CancelRequest()
        self._step = "cancel"
        await self._refund(f"order cancelled: {request.reason}")
        await bookkeeping(Activities.CANCEL, ReviewDecision(self._id, request.actor, request.reason))
        self._last_failure = request.reason
        self._end(OrderStatus.CANCELLED)

    def _end(self, status: OrderStatus) -> None:
        self._status = status
        self._step = "done"

    # --- messages ------------------------------------------------------------------------------
    # Each approve / cancel / address change is offered twice: as a signal (the names scripts already use)
    # and as an update whose validator answers at once. Both go through the same checks.

    def _refusal(self) -> Optional[str]:
        if self._status in TERMINAL_STATUSES:
            return f"order already {self._status.value.replace('_', ' ')}"
        if self._dispatched:
            return "order already dispatched"
        return None

    def _check_approve(self) -> None:
        refusal = self._refusal()
        if refusal is None and self._cancel is not None:
            refusal = "order is being cancelled"
        if refusal is None and (self._approval is not None or self._status not in (OrderStatus.RECEIVED, OrderStatus.AWAITING_REVIEW)):
            refusal = "order already approved"
        if refusal:
            raise ValueError(refusal)

    def _check_cancel(self) -> None:
        refusal = self._refusal() or ("order is already being cancelled" if self._cancel is not None else None)
        if refusal:
            raise ValueError(refusal)

    def _check_address(self, update: AddressUpdate) -> None:
        refusal = self._refusal()
        missing = update.address.missing_fields()
        if refusal is None and missing:
            refusal = f"shipping address is missing {', '.join(missing)}"
        if refusal:
            raise ValueError(refusal)

    @workflow.signal(name="approve_order")
    def approve_order(self, request: Optional[ApproveRequest] = None) -> None:
        if self._ignored(self._check_approve, "approve_order"):
            return
        self._approval = request or ApproveRequest()

    @workflow.signal(name="cancel_order")
    def cancel_order(self, request: Optional[CancelRequest] = None) -> None:
        if self._ignored(self._check_cancel, "cancel_order"):
            return
        self._cancel = request or CancelRequest(reason="cancelled")

    @workflow.signal(name="update_address")
    async def update_address(self, update: AddressUpdate) -> None:
        if not self._ignored(lambda: self._check_address(update), "update_address"):
            await self._apply_address(update)

    @workflow.signal(name="dispatch_failed")
    def dispatch_failed(self, failure: DispatchFailure) -> None:
        self._last_failure = f"attempt {failure.attempt}: {failure.reason}"

    @workflow.update(name="approve")
    async def approve(self, request: ApproveRequest) -> MessageResult:
        self._approval = request
        await workflow.wait_condition(lambda: self._approval_recorded or self._settled())
        return self._result(self._approval_recorded)

    @approve.validator
    def _validate_approve(self, request: ApproveRequest) -> None:
        self._check_approve()

    @workflow.update(name="cancel")
    async def cancel(self, request: CancelRequest) -> MessageResult:
        self._cancel = request
        await workflow.wait_condition(lambda: self._status in TERMINAL_STATUSES)
        return self._result(self._status == OrderStatus.CANCELLED)

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        self._check_cancel()

    @workflow.update(name="change_address")
    async def change_address(self, update: AddressUpdate) -> MessageResult:
        await self._apply_address(update)
        return self._result(True)

    @change_address.validator
    def _validate_change_address(self, update: AddressUpdate) -> None:
        self._check_address(update)

    @workflow.query(name="get_status")
    def get_status(self) -> WorkflowState:
        return WorkflowState(
            order_id=self._id,
            status=self._status.value,
            step=self._step,
            approved=self._approval is not None,
            cancel_requested=self._cancel is not None,
            cancel_reason=self._cancel.reason if self._cancel else "",
            escalated=self._escalated,
            address=self._address,
            shipping_attempts=self._attempts,
            last_failure=self._last_failure,
            payment_status=self._payment_status,
            tracking_number=self._tracking,
        )

    async def _apply_address(self, update: AddressUpdate) -> None:
        # The order row is written by the first step: an early change waits for it.
        await workflow.wait_condition(lambda: self._received)
        async with self._address_lock:
            self._address_changes += 1
            change = AddressChange(self._id, update.address, update.actor, self._address_changes)
            await bookkeeping(Activities.UPDATE_ADDRESS, change)
            self._address = update.address
            if self._child is not None and not self._child.done():
                await self._child.signal(ShippingWorkflow.update_address, update.address)

    def _ignored(self, check, name: str) -> bool:
        try:
            check()
        except ValueError as refusal:
            self._log(f"signal {name} ignored: {refusal}")
            return True
        return False

    def _settled(self) -> bool:
        return self._status in TERMINAL_STATUSES or self._cancel is not None

    def _result(self, accepted: bool) -> MessageResult:
        detail = "" if accepted else (self._refusal() or self._last_failure)
        return MessageResult(accepted=accepted, status=self._status.value, detail=detail)

    # --- helpers -------------------------------------------------------------------------------

    @property
    def _id(self) -> str:
        return self._data.order_id

    @property
    def _faults(self):
        return self._data.settings.faults

    @property
    def _retry(self):
        return self._data.settings.business_retry

    def _ref(self) -> OrderRef:
        return OrderRef(self._id)

    def _log(self, message: str) -> None:
        workflow.logger.info(message, extra={"order_id": self._id, "workflow_id": workflow.info().workflow_id})

