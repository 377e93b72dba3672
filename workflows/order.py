"""OrderWorkflow: receive -> validate -> manual review -> payment -> shipping (a child per attempt).

Deterministic: no Django, no I/O; every side effect is an activity. Messages may arrive before `run` starts,
so all state is set up in `@workflow.init`.

Money and state rules (see the README's "Money and state"):
- a charge's outcome is never guessed: only an explicit decline means "not charged"; any other failure is
  settled with the gateway by the same key before anything is recorded;
- everything after a capture has a compensating path: the money is refunded unless the goods left;
- a dispatch whose outcome is unknown is settled with the carrier before any refund;
- message handlers never fail the workflow; an address change is accepted only if the shipment will use it.

Changes since the first release are guarded with `workflow.patched()` (workflows/steps.py RELEASE_2, and
SETTLE_UNKNOWN_CHARGE, SEARCH_ATTRIBUTES and BULK_ANSWER_FIRST here), so that orders started before them replay and finish on the path they started on.
"""

import asyncio
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Optional

from temporalio import workflow
from temporalio.exceptions import ApplicationError, ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    # Deterministic and free of side effects like the modules above, so it is not imported afresh for every run.
    from workflows.search_attributes import ORDER_AMOUNT, ORDER_STATUS, REVIEW_ESCALATED, REVIEWER
    from workflows.shipping import ShippingWorkflow
    from workflows.steps import (
        StepFailed,
        bookkeeping,
        business_call,
        failure_reason,
        failure_type,
        release_2,
        settle_call,
    )
    from workflows.types import (
        TERMINAL_STATUSES,
        Activities,
        AddressChange,
        AddressChangeAck,
        AddressUpdate,
        ApprovalRecord,
        ApproveRequest,
        CancelCodes,
        CancelRequest,
        ChargeRequest,
        Claim,
        ClaimChange,
        ClaimRequest,
        CreationResult,
        DispatchFailure,
        ErrorTypes,
        MessageResult,
        OrderInput,
        OrderRef,
        OrderStatus,
        OrderSummary,
        Outcome,
        PaymentRecord,
        PaymentTruth,
        ReviewDecision,
        Roles,
        ShipmentTruth,
        ShippingAddressChange,
        ShippingAttempt,
        ShippingInput,
        ShippingResult,
        ShippingStep,
        WorkflowState,
        shipping_workflow_id,
    )

REVIEW_TIMED_OUT = "review timed out"
CARRIER_CALLED = "the carrier has been called; the address can no longer change"

# A patch of its own (beside release 2's, in workflows/steps.py), taken where it applies: an order started on
# release 1 that meets a charge with no answer after the upgrade is settled too, instead of being recorded declined.
SETTLE_UNKNOWN_CHARGE = "settle-unknown-charge"
# Search attributes (workflows/search_attributes.py), upserted at every transition; orders started before have none.
SEARCH_ATTRIBUTES = "search-attributes"
# A decision sent in bulk is accepted before its effects run (OrderWorkflow._answer_first).
BULK_ANSWER_FIRST = "bulk-answer-first"
# The shortest wait before a bulk decision's effects: any timer ends the workflow task that carries the acceptance
# (the dev server fires it about a second later; a large bulk also holds them until its budget is over).
NEXT_TASK = timedelta(milliseconds=1)


@workflow.defn(name="OrderWorkflow")
class OrderWorkflow:
    @workflow.init
    def __init__(self, data: OrderInput) -> None:
        self._data = data
        # Decided once, on the first task: orders started on release 1 keep its message handling.
        self._serialized = release_2()
        self._searchable = workflow.patched(SEARCH_ATTRIBUTES)
        self._published = {pair.key.name: pair.value for pair in workflow.info().typed_search_attributes}
        self._running = False
        self._amount: Optional[float] = None
        self._status = OrderStatus.RECEIVED
        self._step = "receive"
        self._received = False
        self._creation_refusal: Optional[Exception] = None
        self._creation_answered = False
        self._approval: Optional[ApproveRequest] = None  # the approval that lets the order go on
        self._approvals: list[ApproveRequest] = []  # every approval taken (four-eyes: two reviewers)
        self._approvals_required = 1  # known once the order is received (its amount)
        self._approval_recorded = False
        self._claim: Optional[Claim] = None
        self._claim_changes = 0
        self._cancel: Optional[CancelRequest] = None
        self._closing = ""  # why the order is ending, while its final steps run
        self._address = data.shipping_address
        self._address_changes = 0
        self._address_acks: dict[int, AddressChangeAck] = {}
        # Address changes, child starts and final steps take turns: a change is either in the shipment and the
        # database, or refused with the reason.
        self._address_lock = asyncio.Lock()
        self._escalated = False
        self._attempts = 0
        self._last_failure = ""
        self._payment_status = ""
        self._carrier_called = False
        self._dispatched = False
        self._tracking = ""
        self._child = None

    # --- the process ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, data: OrderInput) -> WorkflowState:
        self._log("order received")
        self._running = True
        self._publish()
        try:
            self._summary: OrderSummary = await bookkeeping(Activities.RECEIVE, data, OrderSummary)
        except StepFailed as err:
            # The order was never created (e.g. its payment id belongs to another order): tell whoever waits.
            self._creation_refusal = err
            self._step = "not created"
            await workflow.wait_condition(workflow.all_handlers_finished)
            raise ApplicationError(failure_reason(err), type=failure_type(err), non_retryable=True) from err
        self._amount = float(Decimal(self._summary.amount))
        self._publish()
        if self._serialized and self._data.settings.four_eyes_amount:
            if Decimal(self._summary.amount) >= Decimal(self._data.settings.four_eyes_amount):
                self._approvals_required = 2
        self._received = True
        try:
            await self._process()
        except FailureError as err:
            # Something unexpected (a refused write, a child that could not start): the money goes back unless
            # the goods left, and the order ends with the reason instead of failing the workflow.
            await self._compensate(f"{self._step} failed: {failure_reason(err)}")
        # Let update handlers (e.g. a late address change) finish before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._log(f"order finished as {self._status.value}")
        return self.get_status()

    async def _process(self) -> None:
        self._step = "validate"
        async with self._turn():
            try:
                await bookkeeping(Activities.VALIDATE, self._ref(), str)
            except StepFailed as err:
                if failure_type(err) != ErrorTypes.REJECTED:
                    raise
                self._last_failure = failure_reason(err)
                return self._end(OrderStatus.REJECTED)
        self._status = OrderStatus.AWAITING_REVIEW

        if not await self._review():
            await self._answer_first(self._cancel)
            return await self._cancel_order()
        self._step = "approve"
        await self._answer_first(self._approval)
        approval = self._approval
        approvers = [a.actor for a in self._approvals] or [approval.actor]
        await bookkeeping(Activities.APPROVE, ReviewDecision(self._id, approval.actor, note=approval.note, approvers=approvers))
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
            self._publish()
            remaining = settings.review_timeout_seconds - settings.review_escalate_after_seconds
            try:
                await workflow.wait_condition(decided, timeout=timedelta(seconds=remaining))
            except asyncio.TimeoutError:
                self._cancel = CancelRequest(reason=REVIEW_TIMED_OUT, role=Roles.SYSTEM)
        return self._cancel is None

    async def _answer_first(self, decision, hold: bool = True) -> None:
        """An update is accepted only when the workflow task that ran its validator completes, and a local activity
        keeps that task open until it is done. So a decision sent in bulk lets the task end first (a timer): the
        reviewer's answer does not wait for the database write, and the bulk's next orders are taken sooner.

        A bulk decision that sets the order going (`hold`) also waits out what was left of the bulk's budget when it
        was sent (`hold_seconds`): otherwise the payments and shipments of the orders already taken compete with the
        acceptance of the rest, and a bulk of 500 took about 300 in one action. It needs no patch of its own: the
        wait comes from the update's input, which is in the history, and decisions recorded before carry none."""
        if decision.bulk and workflow.patched(BULK_ANSWER_FIRST):
            await workflow.sleep(max(NEXT_TASK, timedelta(seconds=decision.hold_seconds if hold else 0)))

    async def _pay(self) -> bool:
        self._step = "payment"
        s = self._summary
        charge = ChargeRequest(self._id, s.payment_id, s.amount, s.currency, self._faults)
        record = PaymentRecord(order_id=self._id, payment_id=s.payment_id, amount=s.amount, currency=s.currency)
        try:
            reference = await business_call(Activities.CHARGE, charge, self._retry, str)
        except StepFailed as err:
            reason = failure_reason(err)
            if failure_type(err) == ErrorTypes.DECLINED:
                return await self._payment_failed(Activities.RECORD_DECLINE, "declined", replace(record, reason=reason))
            if not workflow.patched(SETTLE_UNKNOWN_CHARGE):
                record = replace(record, reason=f"payment gateway unavailable: {reason}")
                return await self._payment_failed(Activities.RECORD_DECLINE, "declined", record)
            # Not a decline: the charge may have been taken. Ask the gateway by the same key before deciding.
            truth: PaymentTruth = await settle_call(Activities.SETTLE_PAYMENT, charge, self._retry, PaymentTruth)
            if not truth.captured:
                record = replace(record, reason=f"payment gateway unavailable: {reason} (payment {truth.state})")
                return await self._payment_failed(Activities.RECORD_VOID, "voided", record)
            self._log(f"the charge went through although its reply was lost ({reason})")
            reference = truth.reference
        self._payment_status = "captured"  # taken at the gateway: from here on, whatever goes wrong refunds it
        await bookkeeping(Activities.RECORD_PAYMENT, replace(record, provider_reference=reference))
        self._status = OrderStatus.PAID
        return True

    async def _payment_failed(self, activity: str, payment_status: str, record: PaymentRecord) -> bool:
        self._last_failure = record.reason
        async with self._turn("order payment failed"):
            await bookkeeping(activity, record)
            self._payment_status = payment_status
            self._end(OrderStatus.PAYMENT_FAILED)
        return False

    async def _ship(self) -> None:
        settings = self._data.settings
        for attempt in range(1, settings.shipping_max_attempts + 1):
            self._attempts = attempt
            self._step = f"shipping (attempt {attempt})"
            await bookkeeping(Activities.START_SHIPPING, ShippingAttempt(self._id, attempt))
            self._status = OrderStatus.SHIPPING
            result = await self._run_shipping_attempt(attempt)
            if result and result.dispatched:
                return await self._complete(result.tracking_number)
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
        if await self._shipped_after_all():
            return
        reason = f"shipping failed after {settings.shipping_max_attempts} attempts: {self._last_failure}"
        self._step = "compensate"
        async with self._turn("order is failing"):
            await self._refund(reason)
            self._last_failure = reason
            await bookkeeping(Activities.FAIL, Outcome(self._id, reason=reason))
            self._end(OrderStatus.FAILED)

    async def _run_shipping_attempt(self, attempt: int) -> Optional[ShippingResult]:
        """One child workflow. Returns its result, or None when the attempt failed."""
        async with self._turn():  # the child starts with the latest accepted address
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
                task_timeout=workflow.info().task_timeout,
            )
        child = self._child
        await workflow.wait_condition(lambda: child.done() or self._cancel is not None)
        if not child.done():
            await self._signal_child(child, ShippingWorkflow.cancel_shipping)
        try:
            result: ShippingResult = await child
        except ChildWorkflowError as err:
            if not self._last_failure.startswith(f"attempt {attempt}:"):
                self._last_failure = f"attempt {attempt}: {failure_reason(err)}"
            self._log(f"shipping attempt failed: {self._last_failure}")
            return None
        finally:
            self._child = None
        if result.dispatched:
            self._dispatched = True
        return result

    async def _signal_child(self, child, signal, *args) -> bool:
        """Signal the shipping child; False when it has closed meanwhile (its own result then tells)."""
        try:
            await child.signal(signal, *args)
            return True
        except FailureError as err:
            self._log(f"the shipping child had closed; signal not delivered: {err}")
            return False

    async def _shipped_after_all(self) -> bool:
        """When a dispatch's outcome was never heard, ask the carrier before anything is refunded. True (and the
        order completed) when the goods did leave."""
        if not self._carrier_called or self._dispatched or not self._serialized:
            return False
        self._step = "settle shipment"
        truth: ShipmentTruth = await settle_call(Activities.SETTLE_SHIPMENT, self._ref(), self._retry, ShipmentTruth)
        if not truth.dispatched:
            return False
        self._log("the carrier did dispatch although its reply was lost")
        self._dispatched = True
        step = ShippingStep(self._id, self._attempts, "dispatched", truth.tracking_number)
        await bookkeeping(Activities.RECORD_SHIPPING_STEP, step)
        await self._complete(truth.tracking_number)
        return True

    async def _complete(self, tracking: str) -> None:
        self._dispatched = True
        self._tracking = tracking
        self._step = "complete"
        async with self._turn():
            await bookkeeping(Activities.COMPLETE, self._ref())
            self._end(OrderStatus.COMPLETED)

    async def _refund(self, reason: str) -> None:
        if self._payment_status != "captured":
            return
        s = self._summary
        record = PaymentRecord(self._id, s.payment_id, s.amount, s.currency, reason=reason, faults=self._faults)
        await bookkeeping(Activities.REFUND, record)
        self._payment_status = "refunded"

    async def _cancel_order(self) -> None:
        request = self._cancel or CancelRequest()
        if await self._shipped_after_all():
            return  # too late to cancel: the goods left
        self._step = "cancel"
        async with self._turn("order is being cancelled"):
            await self._refund(f"order cancelled: {request.text}")
            decision = ReviewDecision(self._id, request.actor, request.text, code=request.code, note=request.note, role=request.role)
            await bookkeeping(Activities.CANCEL, decision)
            self._last_failure = request.text
            self._end(OrderStatus.CANCELLED)

    async def _compensate(self, reason: str) -> None:
        self._log(f"compensating: {reason}")
        self._last_failure = reason
        if self._dispatched or await self._shipped_after_all():
            # The goods left and the money stays: the order is complete, whatever our row says (reconcile shows it).
            return self._end(OrderStatus.COMPLETED)
        self._step = "compensate"
        async with self._turn("order is failing"):
            await self._refund(reason)
            try:
                await bookkeeping(Activities.FAIL, Outcome(self._id, reason=reason))
            except StepFailed as err:  # the row refuses even that: reconcile will show the difference
                self._log(f"could not record the failure: {failure_reason(err)}")
            self._end(OrderStatus.FAILED)

    @property
    def _status(self) -> OrderStatus:
        return self._status_value

    @_status.setter
    def _status(self, status: OrderStatus) -> None:
        self._status_value = status
        self._publish()

    def _publish(self) -> None:
        """Upsert the search attributes that changed (none for orders started before they existed)."""
        if not (self._searchable and self._running):
            return
        wanted = {ORDER_STATUS: self._status.value, REVIEW_ESCALATED: self._escalated}
        if self._amount is not None:
            wanted[ORDER_AMOUNT] = self._amount
        reviewer = self._reviewer()
        if reviewer:
            wanted[REVIEWER] = reviewer
        changed = {key: value for key, value in wanted.items() if self._published.get(key.name) != value}
        if changed:
            workflow.upsert_search_attributes([key.value_set(value) for key, value in changed.items()])
            self._published.update({key.name: value for key, value in changed.items()})

    def _reviewer(self) -> str:
        """The last reviewer to decide or claim."""
        if self._cancel and self._cancel.role == Roles.REVIEWER and self._cancel.actor:
            return self._cancel.actor
        if self._approvals or self._approval:
            return (self._approvals or [self._approval])[-1].actor
        return self._claim.reviewer if self._claim else ""

    def _end(self, status: OrderStatus) -> None:
        self._status = status
        self._step = "done"

    @asynccontextmanager
    async def _turn(self, closing: str = ""):
        """Take the address lock (orders started before it existed run without it). `closing` says why the order
        is ending, for the messages that arrive meanwhile."""
        if not self._serialized:
            yield
            return
        async with self._address_lock:
            self._closing = closing
            try:
                yield
            finally:
                self._closing = ""

    # --- messages ------------------------------------------------------------------------------
    # Each approve / cancel / address change is offered twice: as a signal (the names scripts already use)
    # and as an update whose validator answers at once. Both go through the same checks, and neither ever
    # fails the workflow: a refusal is logged (signal) or answered with the reason (update).

    def _refusal(self) -> Optional[str]:
        if self._status in TERMINAL_STATUSES:
            return f"order already {self._status.value.replace('_', ' ')}"
        if self._dispatched:
            return "order already dispatched"
        if self._serialized and self._closing:
            return self._closing
        return None

    def _address_refusal(self) -> Optional[str]:
        refusal = self._refusal()
        if refusal or not self._serialized:
            return refusal
        if self._cancel is not None:
            return "order is being cancelled"
        if self._carrier_called:
            return CARRIER_CALLED
        return None

    def _check_approve(self, request: Optional[ApproveRequest] = None) -> None:
        request = request or ApproveRequest()
        refusal = self._refusal()
        if refusal is None and self._cancel is not None:
            refusal = "order is being cancelled"
        if refusal is None and (self._approval is not None or self._status not in (OrderStatus.RECEIVED, OrderStatus.AWAITING_REVIEW)):
            refusal = "order already approved"
        if refusal is None and self._serialized:
            refusal = self._claimed_by_another(request.actor, request.role)
            if refusal is None and any(a.actor == request.actor for a in self._approvals):
                refusal = f"already approved by {request.actor}; a second reviewer must approve"
        if refusal:
            raise ValueError(refusal)

    def _check_cancel(self, request: Optional[CancelRequest] = None) -> None:
        request = request or CancelRequest()
        refusal = self._refusal() or ("order is already being cancelled" if self._cancel is not None else None)
        if refusal is None and self._serialized:
            refusal = CancelCodes.problem(request.code, request.note) or self._claimed_by_another(request.actor, request.role)
        if refusal:
            raise ValueError(refusal)

    def _check_claim(self, request: ClaimRequest, releasing: bool = False) -> None:
        refusal = self._refusal() or ("order is being cancelled" if self._cancel is not None else None)
        if refusal is None and (self._approval is not None or self._status not in (OrderStatus.RECEIVED, OrderStatus.AWAITING_REVIEW)):
            refusal = "order is no longer waiting for review"
        if refusal is None and not request.take_over:
            holder = self._live_claim()
            if releasing and (holder is None or holder.reviewer != request.actor):
                refusal = "you do not hold a claim on this order"
            elif not releasing:
                refusal = self._claimed_by_another(request.actor, Roles.REVIEWER)
        if refusal:
            raise ValueError(refusal)

    def _live_claim(self) -> Optional[Claim]:
        """The claim, while it has not expired."""
        if self._claim and datetime.fromisoformat(self._claim.until) > workflow.now():
            return self._claim
        return None

    def _claimed_by_another(self, actor: str, role: str) -> Optional[str]:
        """Claims bind reviewers: a decision from someone other than the holder is refused until it expires."""
        holder = self._live_claim()
        if role != Roles.REVIEWER or holder is None or holder.reviewer == actor:
            return None
        return f"claimed by {holder.reviewer} until {datetime.fromisoformat(holder.until):%H:%M} UTC"

    def _check_address(self, update: AddressUpdate) -> None:
        refusal = self._address_refusal()
        missing = update.address.missing_fields()
        if refusal is None and missing:
            refusal = f"shipping address is missing {', '.join(missing)}"
        if refusal:
            raise ValueError(refusal)

    @workflow.signal(name="approve_order")
    async def approve_order(self, request: Optional[ApproveRequest] = None) -> None:
        request = request or ApproveRequest()
        if self._ignored(lambda: self._check_approve(request), "approve_order"):
            return
        partial = await self._take_approval(request)
        if partial is not None and not partial.accepted:
            self._log(f"signal approve_order refused: {partial.detail}")

    @workflow.signal(name="cancel_order")
    def cancel_order(self, request: Optional[CancelRequest] = None) -> None:
        request = request or CancelRequest(reason="cancelled")
        if self._ignored(lambda: self._check_cancel(request), "cancel_order"):
            return
        self._cancel = request

    @workflow.signal(name="update_address")
    async def update_address(self, update: AddressUpdate) -> None:
        if self._ignored(lambda: self._check_address(update), "update_address"):
            return
        refusal = await self._apply_address(update)
        if refusal:
            self._log(f"signal update_address refused: {refusal}")

    @workflow.signal(name="dispatch_failed")
    def dispatch_failed(self, failure: DispatchFailure) -> None:
        self._last_failure = f"attempt {failure.attempt}: {failure.reason}"
        self._carrier_called = self._carrier_called or failure.carrier_called

    @workflow.signal(name="shipping_address_result")
    def shipping_address_result(self, ack: AddressChangeAck) -> None:
        self._address_acks[ack.sequence] = ack

    @workflow.update(name="await_creation")
    async def await_creation(self) -> CreationResult:
        """Sent with the start (update-with-start): answers once the order row is written and validated, or
        with the reason it could not be created."""
        first = not self._creation_answered
        self._creation_answered = True
        await workflow.wait_condition(lambda: self._status != OrderStatus.RECEIVED or self._creation_refusal is not None)
        refusal = self._creation_refusal
        return CreationResult(
            first=first,
            fingerprint=self._data.fingerprint,
            status=self._status.value,
            refusal=failure_reason(refusal) if refusal else "",
            refusal_type=(failure_type(refusal) or "") if refusal else "",
        )

    @workflow.update(name="approve")
    async def approve(self, request: ApproveRequest) -> MessageResult:
        partial = await self._take_approval(request)
        if partial is not None:
            return partial
        await workflow.wait_condition(lambda: self._approval_recorded or self._settled())
        return self._result(self._approval_recorded)

    @approve.validator
    def _validate_approve(self, request: ApproveRequest) -> None:
        self._check_approve(request)

    async def _take_approval(self, request: ApproveRequest) -> Optional[MessageResult]:
        """Take an approval. The one that completes the review (the only one, or the second of two) lets the order
        go on and gives None; the first of two is recorded and answered at once."""
        if not self._serialized:
            self._approval = request
            return None
        await workflow.wait_condition(lambda: self._received)  # the amount decides how many approvals it needs
        async with self._turn():
            try:
                self._check_approve(request)  # again: the order may have moved on while this waited
            except ValueError as refusal:
                return MessageResult(accepted=False, status=self._status.value, detail=str(refusal))
            if len(self._approvals) + 1 >= self._approvals_required:
                self._approvals.append(request)
                self._approval = request
                return None
            record = ApprovalRecord(self._id, request.actor, request.note, self._approvals_required)
            await self._answer_first(request, hold=False)  # a first of two sets nothing going: answered at once
            try:
                await bookkeeping(Activities.RECORD_APPROVAL, record)
            except StepFailed as err:
                return MessageResult(accepted=False, status=self._status.value, detail=failure_reason(err))
            self._approvals.append(request)
            if self._claim and self._claim.reviewer == request.actor:
                self._claim = None  # the second reviewer takes it from here
            self._publish()
            detail = f"approved {len(self._approvals)} of {self._approvals_required}; a second reviewer must approve"
            return MessageResult(accepted=True, status=self._status.value, detail=detail)

    @workflow.update(name="claim")
    async def claim(self, request: ClaimRequest) -> MessageResult:
        return await self._change_claim(request, releasing=False)

    @claim.validator
    def _validate_claim(self, request: ClaimRequest) -> None:
        self._check_claim(request)

    @workflow.update(name="release")
    async def release(self, request: ClaimRequest) -> MessageResult:
        return await self._change_claim(request, releasing=True)

    @release.validator
    def _validate_release(self, request: ClaimRequest) -> None:
        self._check_claim(request, releasing=True)

    async def _change_claim(self, request: ClaimRequest, releasing: bool) -> MessageResult:
        await workflow.wait_condition(lambda: self._received)
        async with self._turn():
            try:
                self._check_claim(request, releasing)
            except ValueError as refusal:
                return MessageResult(accepted=False, status=self._status.value, detail=str(refusal))
            holder = self._live_claim()
            previous = holder.reviewer if holder and holder.reviewer != request.actor else ""
            if releasing:
                claim, action = None, "released"
            else:
                until = workflow.now() + timedelta(seconds=self._data.settings.review_claim_ttl_seconds)
                claim, action = Claim(request.actor, until.isoformat()), "taken_over" if previous else "claimed"
            self._claim_changes += 1
            change = ClaimChange(self._id, request.actor, action, claim.until if claim else "", previous, self._claim_changes)
            try:
                await bookkeeping(Activities.RECORD_CLAIM, change)
            except StepFailed as err:
                return MessageResult(accepted=False, status=self._status.value, detail=failure_reason(err))
            self._claim = claim
            self._publish()
            detail = f"claimed by {request.actor} until {datetime.fromisoformat(claim.until):%H:%M} UTC" if claim else "released"
            return MessageResult(accepted=True, status=self._status.value, detail=detail)

    @workflow.update(name="cancel")
    async def cancel(self, request: CancelRequest) -> MessageResult:
        self._cancel = request
        await workflow.wait_condition(lambda: self._status in TERMINAL_STATUSES)
        return self._result(self._status == OrderStatus.CANCELLED)

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        self._check_cancel(request)

    @workflow.update(name="change_address")
    async def change_address(self, update: AddressUpdate) -> MessageResult:
        refusal = await self._apply_address(update)
        if refusal:
            return MessageResult(accepted=False, status=self._status.value, detail=refusal)
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
            cancel_reason=self._cancel.text if self._cancel else "",
            escalated=self._escalated,
            address=self._address,
            shipping_attempts=self._attempts,
            last_failure=self._last_failure,
            payment_status=self._payment_status,
            tracking_number=self._tracking,
            approvals=[a.actor for a in self._approvals],
            approvals_required=self._approvals_required,
            claim=self._live_claim(),
        )

    async def _apply_address(self, update: AddressUpdate) -> Optional[str]:
        """Apply an address change; None when it is in (the database, and the shipment if one is under way), else
        the reason it was refused."""
        # The order row is written by the first step: an early change waits for it.
        await workflow.wait_condition(lambda: self._received)
        if not self._serialized:
            return await self._apply_address_unserialized(update)
        async with self._address_lock:
            # Checked again: the order may have moved on while this change waited for its turn.
            refusal = self._address_refusal()
            if refusal:
                return refusal
            self._address_changes += 1
            sequence = self._address_changes
            child = self._child
            if child is not None and not child.done():
                refusal = await self._forward_address(child, update, sequence)
                if refusal:
                    return refusal
            try:
                await bookkeeping(Activities.UPDATE_ADDRESS, AddressChange(self._id, update.address, update.actor, sequence))
            except StepFailed as err:
                return failure_reason(err)
            self._address = update.address
            return None

    async def _forward_address(self, child, update: AddressUpdate, sequence: int) -> Optional[str]:
        """Give a running shipping child the new address; None when the shipment will use it."""
        await self._signal_child(child, "change_address", ShippingAddressChange(update.address, sequence))
        await workflow.wait_condition(lambda: sequence in self._address_acks or child.done())
        ack = self._address_acks.pop(sequence, None)
        if ack is not None:
            return None if ack.applied else ack.reason
        # The child closed before it took the change.
        if child.exception() is None and child.result().dispatched:
            return "order already dispatched"
        if self._carrier_called:
            return CARRIER_CALLED
        if self._cancel is not None:
            return "order is being cancelled"
        return None  # the attempt failed before dispatch: the next one uses the new address

    async def _apply_address_unserialized(self, update: AddressUpdate) -> Optional[str]:
        """How orders started before the serialized handling apply a change (kept so that they replay)."""
        async with self._address_lock:
            self._address_changes += 1
            change = AddressChange(self._id, update.address, update.actor, self._address_changes)
            await bookkeeping(Activities.UPDATE_ADDRESS, change)
            self._address = update.address
            if self._child is not None and not self._child.done():
                await self._signal_child(self._child, ShippingWorkflow.update_address, update.address)
        return None

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
