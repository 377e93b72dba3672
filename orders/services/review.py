"""Reviewers' decisions and claims, and cancels by anyone: approvals (four-eyes orders need two), claims as the
workflow grants them, and the cancel that ends an order."""

from datetime import datetime
from typing import Optional

from django.db import transaction

from orders import events
from orders.models import Order, Payment
from orders.services._base import Event, InvalidTransition, Status, _decide, _locked, _transition, decision_details
from workflows.types import CancelCodes, Roles


def order_approve(
    *, order_id: str, actor: str, note: str = "", approvers: Optional[list[str]] = None, role: str = ""
) -> Order:
    # The policy is no reviewer: it approves, it is not among the approvers.
    approvers = [] if role == Roles.POLICY else (approvers or [actor])
    return _transition(
        order_id=order_id,
        to_status=Status.APPROVED,
        event_type=Event.APPROVED,
        actor=actor,
        change=_decide(actor, approvers=approvers, role=role),
        details=decision_details(role),
        note=note,
        approvers=approvers,
    )


def order_record_approval(*, order_id: str, actor: str, note: str, required: int) -> Order:
    """The first of two approvals (four-eyes): recorded, and the reviewer's claim released for the second."""

    def take(order):
        if order.status != Status.AWAITING_REVIEW:
            raise InvalidTransition(f"order {order_id} is {order.status}; it is not waiting for review")
        order.approvals = [*order.approvals, actor]
        order.approvals_required = required
        if order.claimed_by == actor:
            order.claimed_by, order.claimed_until = "", None

    return _transition(
        order_id=order_id,
        to_status=None,
        event_type=Event.APPROVAL_RECORDED,
        key_parts=(actor,),
        actor=actor,
        change=take,
        note=note,
        approvals=f"1 of {required}",
    )


CLAIM_EVENTS = {"claimed": Event.CLAIMED, "released": Event.CLAIM_RELEASED, "taken_over": Event.CLAIM_TAKEN_OVER}


def order_claim_change(*, order_id: str, actor: str, action: str, until: str, previous: str, sequence: int) -> Order:
    """Mirror a claim the workflow granted, released or let a reviewer take over."""

    def change(order):
        if order.status != Status.AWAITING_REVIEW:
            raise InvalidTransition(f"order {order_id} is {order.status}; it is not waiting for review")
        order.claimed_by = "" if action == "released" else actor
        order.claimed_until = datetime.fromisoformat(until) if until else None

    payload = {"until": until} if until else {}
    if previous:
        payload["previous"] = previous
    return _transition(
        order_id=order_id,
        to_status=None,
        event_type=CLAIM_EVENTS[action],
        key=events.event_key(order_id, "claim", sequence),
        actor=actor,
        change=change,
        **payload,
    )


def order_cancel(*, order_id: str, actor: str, reason: str, code: str = "", note: str = "", role: str = "") -> Order:
    """Cancel. Refusing to cancel a paid order with a live payment keeps 'refund first' an invariant."""
    with transaction.atomic():
        order = _locked(order_id)
        if not events.already_recorded(events.event_key(order_id, Event.CANCELLED)):
            if order.payments.filter(status=Payment.Status.CAPTURED).exists():
                raise InvalidTransition(f"order {order_id} has a captured payment; refund it before cancelling")
        return _transition(
            order_id=order_id,
            to_status=Status.CANCELLED,
            event_type=Event.CANCELLED,
            actor=actor,
            change=_cancel(actor, reason, code, role),
            details=decision_details(role),
            reason=reason,
            code=code,
            note=note,
            role=role,
        )


def _cancel(actor: str, reason: str, code: str, role: str):
    by_reviewer = role in (Roles.REVIEWER, Roles.POLICY, "")
    decide = _decide(actor, reason, by_reviewer=by_reviewer, role=role, decision=Order.Decision.CANCELLED)

    def change(order):
        decide(order)
        if code == CancelCodes.SUSPECTED_FRAUD and role in (Roles.REVIEWER, ""):
            # A person's suspicion links the email and address to fraud; the policy's own cancels never do.
            order.fraud = Order.Fraud.SUSPECTED

    return change
