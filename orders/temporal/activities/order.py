"""The order's own steps: receive, screen, review decisions, claims, address changes and the order's end."""

from dataclasses import asdict

from orders import services
from orders.temporal.activities._base import domain_activity
from workflows.types import (
    Activities,
    AddressChange,
    ApprovalRecord,
    ClaimChange,
    OrderInput,
    OrderRef,
    OrderSummary,
    Outcome,
    ReviewDecision,
    Screening,
    ScreenRequest,
)


@domain_activity(Activities.RECEIVE)
def receive_order(data: OrderInput) -> OrderSummary:
    order = services.order_receive(data=data)
    return OrderSummary(order_id=order.id, amount=str(order.amount), currency=order.currency, payment_id=order.payment_id)


@domain_activity(Activities.VALIDATE)
def validate_order(ref: OrderRef) -> str:
    return services.order_validate(order_id=ref.order_id).status


@domain_activity(Activities.SCREEN)
def screen_order(request: ScreenRequest) -> Screening:
    order = services.order_screen(
        order_id=request.order_id,
        approve_below=request.approve_below,
        cancel_from=request.cancel_from,
        hold_first=request.hold_first,
    )
    return Screening(status=order.status, score=order.risk_score, band=order.risk_band, route=order.risk_route)


@domain_activity(Activities.ESCALATE)
def escalate_review(ref: OrderRef) -> None:
    services.order_escalate(order_id=ref.order_id)


@domain_activity(Activities.APPROVE)
def approve_order(decision: ReviewDecision) -> str:
    return services.order_approve(
        order_id=decision.order_id, actor=decision.actor, note=decision.note, approvers=decision.approvers, role=decision.role
    ).status


@domain_activity(Activities.RECORD_APPROVAL)
def record_approval(record: ApprovalRecord) -> None:
    services.order_record_approval(order_id=record.order_id, actor=record.actor, note=record.note, required=record.required)


@domain_activity(Activities.RECORD_CLAIM)
def record_claim(change: ClaimChange) -> None:
    services.order_claim_change(
        order_id=change.order_id,
        actor=change.actor,
        action=change.action,
        until=change.until,
        previous=change.previous,
        sequence=change.sequence,
    )


@domain_activity(Activities.CANCEL)
def cancel_order(decision: ReviewDecision) -> str:
    return services.order_cancel(
        order_id=decision.order_id,
        actor=decision.actor,
        reason=decision.reason,
        code=decision.code,
        note=decision.note,
        role=decision.role,
    ).status


@domain_activity(Activities.UPDATE_ADDRESS)
def update_order_address(change: AddressChange) -> None:
    services.order_update_address(
        order_id=change.order_id, address=asdict(change.address), actor=change.actor, sequence=change.sequence
    )


@domain_activity(Activities.COMPLETE)
def complete_order(ref: OrderRef) -> None:
    services.order_complete(order_id=ref.order_id)


@domain_activity(Activities.FAIL)
def fail_order(outcome: Outcome) -> None:
    services.order_fail(order_id=outcome.order_id, reason=outcome.reason)
