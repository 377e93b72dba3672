"""The texts the workflows show to people: refusals answered to a message, and the reasons an order records.

They reach reviewers, clients and the order's history, and tests match them: each is written here once."""

from datetime import datetime
from typing import Optional

# Refusals
BEING_CANCELLED = "order is being cancelled"
ALREADY_BEING_CANCELLED = "order is already being cancelled"
ALREADY_DISPATCHED = "order already dispatched"
ALREADY_APPROVED = "order already approved"
NOT_WAITING_FOR_REVIEW = "order is no longer waiting for review"
NO_CLAIM_HELD = "you do not hold a claim on this order"
CARRIER_CALLED = "the carrier has been called; the address can no longer change"
CANCELLED_BEFORE_APPROVAL = "order was cancelled before the approval took effect"

# Why an order is ending, answered to the messages that arrive while its final steps run
PAYMENT_FAILING = "order payment failed"
FAILING = "order is failing"

# Reasons recorded on the order
CANCELLED = "cancelled"
REVIEW_TIMED_OUT = "review timed out"

RELEASED = "released"


def policy_approved(score: int, below: int) -> str:
    return f"approved by the risk policy: score {score}, below {below}"


def policy_cancelled(score: int, cancel_from: int) -> str:
    return f"score {score}, from {cancel_from} the risk policy cancels"


def already(status: str) -> str:
    """`status` is an OrderStatus value (`payment_failed` reads "order already payment failed")."""
    return f"order already {status.replace('_', ' ')}"


def not_created(reason: str) -> str:
    return f"order was not created: {reason}"


def order_failed(reason: str) -> str:
    return f"order failed: {reason}"


def step_failed(step: str, reason: str) -> str:
    return f"{step} failed: {reason}"


def claimed_by(reviewer: str, until: str) -> str:
    """`until` is the claim's ISO time."""
    return f"claimed by {reviewer} until {datetime.fromisoformat(until):%H:%M} UTC"


def already_approved_by(actor: str, second_must: str = "approve") -> str:
    return f"already approved by {actor}; a second reviewer must {second_must}"


def approved_so_far(approvals: int, required: int) -> str:
    return f"approved {approvals} of {required}; a second reviewer must approve"


def too_many_changes(limit: int) -> str:
    return f"too many changes to this order ({limit}); only a decision is taken now"


def address_missing(fields: list[str]) -> str:
    return f"shipping address is missing {', '.join(fields)}"


def gateway_unavailable(reason: str, payment_state: Optional[str] = None) -> str:
    """`payment_state` is what the gateway said when asked afterwards, if it was asked."""
    text = f"payment gateway unavailable: {reason}"
    return text if payment_state is None else f"{text} (payment {payment_state})"


def cancelled_refund(cancel_reason: str) -> str:
    return f"order cancelled: {cancel_reason}"


def shipping_failed(attempts: int, last_failure: str) -> str:
    return f"shipping failed after {attempts} attempts: {last_failure}"


def attempt_prefix(attempt: int) -> str:
    return f"attempt {attempt}:"


def attempt_failed(attempt: int, reason: str) -> str:
    return f"{attempt_prefix(attempt)} {reason}"


def hold_lapsed(times: int) -> str:
    return f"the payment authorization lapsed {times} times before it could be captured"



def lapsed_hold_captured(payment_id: str) -> str:
    return f"the lapsed payment authorization {payment_id} was captured at the gateway"
