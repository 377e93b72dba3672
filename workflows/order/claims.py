"""Claims on the review desk: a reviewer takes an order for a while (settings.review_claim_ttl_seconds), and until
the claim expires only the holder decides; a lead may take it over."""

from datetime import timedelta
from typing import Optional

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import texts
    from workflows.order.state import OrderState
    from workflows.steps import StepFailed, failure_reason
    from workflows.types import Activities, Claim, ClaimChange, ClaimRequest, MessageResult, OrderStatus, Roles


def claimed_by_another(state: OrderState, actor: str, role: str) -> Optional[str]:
    """Claims bind reviewers: a decision from someone other than the holder is refused until it expires."""
    holder = state.live_claim()
    if role != Roles.REVIEWER or holder is None or holder.reviewer == actor:
        return None
    return texts.claimed_by(holder.reviewer, holder.until)


class Claims:
    def __init__(self, state: OrderState) -> None:
        self.state = state

    def check(self, request: ClaimRequest, releasing: bool = False) -> None:
        state = self.state
        refusal = state.refusal() or (texts.BEING_CANCELLED if state.cancel is not None else None)
        if refusal is None and (state.approval is not None or state.status not in (OrderStatus.RECEIVED, OrderStatus.AWAITING_REVIEW)):
            refusal = texts.NOT_WAITING_FOR_REVIEW
        if refusal is None and state.ends and not releasing and any(a.actor == request.actor for a in state.approvals):
            refusal = texts.already_approved_by(request.actor, "decide")
        if refusal is None and not request.take_over:
            holder = state.live_claim()
            if releasing and (holder is None or holder.reviewer != request.actor):
                refusal = texts.NO_CLAIM_HELD
            elif not releasing:
                refusal = claimed_by_another(state, request.actor, Roles.REVIEWER)
        if refusal:
            raise ValueError(refusal)

    def validate(self, request: ClaimRequest, releasing: bool = False) -> None:
        self.check(request, releasing)
        self.state.check_client_updates()

    async def change(self, request: ClaimRequest, releasing: bool) -> MessageResult:
        """Take (or take over) or release a claim: recorded, then answered with until when it holds."""
        state = self.state
        state.client_updates += 1
        if not await state.in_review():
            return state.result(False, state.not_created())
        async with state.turn():
            try:
                self.check(request, releasing)
            except ValueError as refusal:
                return state.result(False, str(refusal))
            holder = state.live_claim()
            previous = holder.reviewer if holder and holder.reviewer != request.actor else ""
            if releasing:
                claim, action = None, "released"
            else:
                until = workflow.now() + timedelta(seconds=state.data.settings.review_claim_ttl_seconds)
                claim, action = Claim(request.actor, until.isoformat()), "taken_over" if previous else "claimed"
            state.claim_changes += 1
            change = ClaimChange(state.order_id, request.actor, action, claim.until if claim else "", previous, state.claim_changes)
            try:
                await state.write(Activities.RECORD_CLAIM, change)
            except StepFailed as err:
                return state.result(False, failure_reason(err))
            state.claim = claim
            state.publish()
            return state.result(True, texts.claimed_by(request.actor, claim.until) if claim else texts.RELEASED)
