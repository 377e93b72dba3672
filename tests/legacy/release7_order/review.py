"""Manual review: the wait for a decision and its escalation, approvals (four-eyes: an order of at least
settings.four_eyes_amount needs two reviewers), cancels, and the refusals that guard them. Claims: claims.py."""

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Optional

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.legacy.release7_order.claims import claimed_by_another
    from tests.legacy.release7_order.state import OrderState
    from workflows import risk, texts
    from workflows.patches import BULK_ANSWER_FIRST
    from workflows.risk import Route
    from workflows.steps import StepFailed, failure_reason
    from workflows.types import (
        POLICY_ACTOR,
        TERMINAL_STATUSES,
        Activities,
        ApprovalRecord,
        ApproveRequest,
        CancelCodes,
        CancelRequest,
        MessageResult,
        OrderStatus,
        ReviewDecision,
        Roles,
        Screening,
        ScreenRequest,
    )

# The shortest wait before a bulk decision's effects: any timer ends the workflow task that carries the acceptance
# (the dev server fires it about a second later; a large bulk also holds them until its budget is over).
NEXT_TASK = timedelta(milliseconds=1)


class Review:
    def __init__(self, state: OrderState) -> None:
        self.state = state

    async def screen(self) -> None:
        """Validate the order; since RISK_ROUTING, also assess its risk (one step, one transaction)."""
        state = self.state
        if not state.risky:
            await state.write(Activities.VALIDATE, state.ref(), str)
            return
        settings = state.data.settings
        request = ScreenRequest(state.order_id, settings.risk_auto_approve_below, settings.risk_auto_cancel_from)
        state.screening = await state.write(Activities.SCREEN, request, Screening)

    def route_by_policy(self) -> Optional[str]:
        """The policy decides, if routing is on and nobody decided first (an approval waiting for its turn counts):
        the route it took (approve or cancel), or None when the order goes to people. An order that needs two
        reviewers (four-eyes) always does."""
        state, screening = self.state, self.state.screening
        if screening is None or state.approval is not None or state.cancel is not None or state.pending_approvals:
            return None
        if state.approvals_required > 1:
            return None
        settings = state.data.settings
        below, cancel_from = settings.risk_auto_approve_below, settings.risk_auto_cancel_from
        routed = risk.route(screening.score, below, cancel_from)
        if routed == Route.APPROVE and state.approvals_required == 1:
            state.log(f"approved by the risk policy (score {screening.score})")
            state.approval = ApproveRequest(actor=POLICY_ACTOR, note=texts.policy_approved(screening.score, below), role=Roles.POLICY)
            return routed
        if routed == Route.CANCEL:
            state.log(f"cancelled by the risk policy (score {screening.score})")
            note = texts.policy_cancelled(screening.score, cancel_from)
            state.cancel = CancelRequest(actor=POLICY_ACTOR, code=CancelCodes.SUSPECTED_FRAUD, note=note, role=Roles.POLICY)
            return routed
        return None

    def require_approvals(self) -> None:
        """Four-eyes, known once the order is received (its amount)."""
        state = self.state
        if state.serialized and state.data.settings.four_eyes_amount:
            if Decimal(state.summary.amount) >= Decimal(state.data.settings.four_eyes_amount):
                state.approvals_required = 2

    async def decided(self) -> bool:
        """Wait for a decision: True once approved; False when cancelled or the review timed out."""
        state = self.state
        state.move("manual review")
        settings = state.data.settings
        decided = lambda: state.approval is not None or state.cancel is not None  # noqa: E731
        state.wait(True)
        try:
            await workflow.wait_condition(decided, timeout=timedelta(seconds=settings.review_escalate_after_seconds))
        except asyncio.TimeoutError:
            state.log("review overdue: escalating")
            state.wait(False)
            await state.write(Activities.ESCALATE, state.ref())
            state.escalated = True
            state.wait(True)
            state.publish()
            remaining = settings.review_timeout_seconds - settings.review_escalate_after_seconds
            try:
                await workflow.wait_condition(decided, timeout=timedelta(seconds=remaining))
            except asyncio.TimeoutError:
                state.cancel = CancelRequest(reason=texts.REVIEW_TIMED_OUT, role=Roles.SYSTEM)
        state.wait(False)
        return state.cancel is None

    async def answer_first(self, decision, hold: bool = True) -> None:
        """An update is accepted only when the workflow task that ran its validator completes, and a local activity
        keeps that task open until it is done. So a decision sent in bulk lets the task end first (a timer): the
        reviewer's answer does not wait for the database write, and the bulk's next orders are taken sooner.

        A bulk decision that sets the order going (`hold`) also waits out what was left of the bulk's budget when it
        was sent (`hold_seconds`): otherwise the payments and shipments of the orders already taken compete with the
        acceptance of the rest, and a bulk of 500 took about 300 in one action. It needs no patch of its own: the
        wait comes from the update's input, which is in the history, and decisions recorded before carry none."""
        if decision.bulk and workflow.patched(BULK_ANSWER_FIRST):
            self.state.wait(True)
            await workflow.sleep(max(NEXT_TASK, timedelta(seconds=decision.hold_seconds if hold else 0)))
            self.state.wait(False)

    async def record_approval(self) -> None:
        """The approval that completed the review is recorded: the order is approved."""
        state = self.state
        approval = state.approval
        approvers = [a.actor for a in state.approvals] or [approval.actor]
        decision = ReviewDecision(state.order_id, approval.actor, note=approval.note, approvers=approvers, role=approval.role)
        await state.write(Activities.APPROVE, decision)
        state.approval_recorded = True
        state.set_status(OrderStatus.APPROVED)

    # --- approvals -----------------------------------------------------------------------------

    def check_approve(self, request: Optional[ApproveRequest] = None) -> None:
        state = self.state
        request = request or ApproveRequest()
        refusal = state.refusal()
        if refusal is None and state.cancel is not None:
            refusal = texts.BEING_CANCELLED
        if refusal is None and (state.approval is not None or state.status not in (OrderStatus.RECEIVED, OrderStatus.AWAITING_REVIEW)):
            refusal = texts.ALREADY_APPROVED
        if refusal is None and state.serialized:
            refusal = claimed_by_another(state, request.actor, request.role)
            if refusal is None and any(a.actor == request.actor for a in state.approvals):
                refusal = texts.already_approved_by(request.actor)
        if refusal:
            raise ValueError(refusal)

    async def approve(self, request: ApproveRequest) -> MessageResult:
        """The update: answered once the approval is recorded, or known never to be (a cancel came first, or the
        order failed)."""
        state = self.state
        partial = await self._take_approval(request)
        if partial is not None:
            return partial
        if not state.ends:
            await workflow.wait_condition(lambda: state.approval_recorded or state.settled())
            return state.result(state.approval_recorded)
        await workflow.wait_condition(lambda: state.approval_recorded or state.approval_dropped or state.over())
        if state.approval_dropped:
            return state.result(False, texts.CANCELLED_BEFORE_APPROVAL)
        if not state.approval_recorded and state.status == OrderStatus.FAILED:
            return state.result(False, texts.order_failed(state.last_failure))
        return state.result(state.approval_recorded)

    async def approve_by_signal(self, request: ApproveRequest) -> None:
        if self.state.signal_refused("approve_order", lambda: self.check_approve(request)):
            return
        partial = await self._take_approval(request)
        if partial is not None and not partial.accepted:
            self.state.log(f"signal approve_order refused: {partial.detail}")

    async def _take_approval(self, request: ApproveRequest) -> Optional[MessageResult]:
        """Take an approval. The one that completes the review (the only one, or the second of two) lets the order
        go on and gives None; the first of two is recorded and answered at once."""
        state = self.state
        if not state.serialized:
            state.approval = request
            return None
        state.pending_approvals += 1
        try:
            return await self._take_approval_in_turn(request)
        finally:
            state.pending_approvals -= 1

    async def _take_approval_in_turn(self, request: ApproveRequest) -> Optional[MessageResult]:
        state = self.state
        if not await state.row_written():  # the amount decides how many approvals it needs
            return state.result(False, state.not_created())
        async with state.turn():
            try:
                self.check_approve(request)  # again: the order may have moved on while this waited
            except ValueError as refusal:
                return state.result(False, str(refusal))
            if len(state.approvals) + 1 >= state.approvals_required:
                state.approvals.append(request)
                state.approval = request
                return None
            record = ApprovalRecord(state.order_id, request.actor, request.note, state.approvals_required)
            await self.answer_first(request, hold=False)  # a first of two sets nothing going: answered at once
            try:
                await state.write(Activities.RECORD_APPROVAL, record)
            except StepFailed as err:
                return state.result(False, failure_reason(err))
            state.approvals.append(request)
            if state.claim and state.claim.reviewer == request.actor:
                state.claim = None  # the second reviewer takes it from here
            state.publish()
            return state.result(True, texts.approved_so_far(len(state.approvals), state.approvals_required))

    # --- cancels -------------------------------------------------------------------------------

    def check_cancel(self, request: Optional[CancelRequest] = None) -> None:
        state = self.state
        request = request or CancelRequest()
        refusal = state.refusal() or (texts.ALREADY_BEING_CANCELLED if state.cancel is not None else None)
        if refusal is None and state.serialized:
            refusal = CancelCodes.problem(request.code, request.note) or claimed_by_another(state, request.actor, request.role)
        if refusal:
            raise ValueError(refusal)

    async def cancel(self, request: CancelRequest) -> MessageResult:
        """The update: the run loop cancels the order; answered once it has ended."""
        state = self.state
        state.cancel = request
        await workflow.wait_condition(state.over if state.ends else lambda: state.status in TERMINAL_STATUSES)
        if state.creation_refusal is not None:
            return state.result(False, state.not_created())
        return state.result(state.status == OrderStatus.CANCELLED)

    def cancel_by_signal(self, request: CancelRequest) -> None:
        if not self.state.signal_refused("cancel_order", lambda: self.check_cancel(request)):
            self.state.cancel = request
