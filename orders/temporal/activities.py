"""Activities: thin adapters from workflow steps to domain services (Django side, run in worker threads).

Two kinds, with different retry policies chosen by the workflows:
- bookkeeping activities only write to our own database; they retry without limit, so a database outage of
  minutes delays an order but never loses it;
- business calls (gateway, warehouse, carrier) retry a few times with backoff, and a business refusal is
  non-retryable.
Either way, a failure that would come again the same way (write_errors.py) is non-retryable.
"""

import functools
import logging
from dataclasses import asdict

from django.db import close_old_connections
from temporalio import activity
from temporalio.exceptions import ApplicationError

from orders import services, simulators
from orders.temporal import write_errors
from workflows.types import (
    Activities,
    AddressChange,
    ApprovalRecord,
    ChargeRequest,
    ClaimChange,
    DispatchRequest,
    ErrorTypes,
    OrderInput,
    OrderRef,
    OrderSummary,
    Outcome,
    PackageRequest,
    PaymentRecord,
    PaymentTruth,
    ReviewDecision,
    Screening,
    ScreenRequest,
    ShipmentTruth,
    ShippingAttempt,
    ShippingStep,
)

log = logging.getLogger(__name__)

_NON_RETRYABLE = {
    services.OrderRejected: ErrorTypes.REJECTED,
    services.InvalidTransition: ErrorTypes.INVALID_TRANSITION,
    services.IdempotencyConflict: ErrorTypes.CONFLICT,
    services.PaymentIdInUse: ErrorTypes.PAYMENT_ID_IN_USE,
    simulators.PaymentDeclined: ErrorTypes.DECLINED,
    simulators.ProviderConflict: ErrorTypes.CONFLICT,
}


def domain_activity(name: str):
    """Register a sync activity that keeps Django's connections healthy (as a request would) and reports
    business refusals as non-retryable errors, carrying their reason."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(arg):
            info = activity.info()
            context = {"order_id": getattr(arg, "order_id", ""), "workflow_id": info.workflow_id}
            log.info("%s (attempt %s)", name, info.attempt, extra=context)
            close_old_connections()
            try:
                return fn(arg)
            except tuple(_NON_RETRYABLE) as exc:
                log.warning("%s refused: %s", name, exc, extra=context)
                raise ApplicationError(str(exc), type=_NON_RETRYABLE[type(exc)], non_retryable=True) from exc
            except Exception as exc:
                if not write_errors.deterministic(exc):
                    raise
                reason = write_errors.explain(exc)
                log.error("%s cannot succeed: %s", name, reason, extra=context)
                raise ApplicationError(reason, type=ErrorTypes.UNWRITABLE, non_retryable=True) from exc
            finally:
                close_old_connections()

        return activity.defn(name=name)(wrapper)

    return decorate


def _attempt() -> int:
    return activity.info().attempt


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
        order_id=request.order_id, approve_below=request.approve_below, cancel_from=request.cancel_from
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


@domain_activity(Activities.CHARGE)
def charge_payment(request: ChargeRequest) -> str:
    return simulators.gateway_charge(
        payment_id=request.payment_id,
        order_id=request.order_id,
        amount=request.amount,
        currency=request.currency,
        attempt=_attempt(),
        faults=request.faults,
    )


@domain_activity(Activities.RECORD_PAYMENT)
def record_payment(record: PaymentRecord) -> None:
    services.payment_capture(
        order_id=record.order_id,
        payment_id=record.payment_id,
        amount=record.amount,
        currency=record.currency,
        provider_reference=record.provider_reference,
    )


@domain_activity(Activities.RECORD_DECLINE)
def record_payment_declined(record: PaymentRecord) -> None:
    services.payment_decline(
        order_id=record.order_id,
        payment_id=record.payment_id,
        amount=record.amount,
        currency=record.currency,
        reason=record.reason,
    )


@domain_activity(Activities.SETTLE_PAYMENT)
def settle_payment(request: ChargeRequest) -> PaymentTruth:
    """After a charge whose outcome is unknown: ask the gateway by the same key (and void the key if it has
    nothing), so that what we record is what the gateway did."""
    return simulators.gateway_settle(
        payment_id=request.payment_id,
        order_id=request.order_id,
        amount=request.amount,
        currency=request.currency,
        attempt=_attempt(),
        faults=request.faults,
    )


@domain_activity(Activities.RECORD_VOID)
def record_payment_voided(record: PaymentRecord) -> None:
    services.payment_void(
        order_id=record.order_id,
        payment_id=record.payment_id,
        amount=record.amount,
        currency=record.currency,
        reason=record.reason,
    )


@domain_activity(Activities.REFUND)
def refund_payment(record: PaymentRecord) -> None:
    """Compensation: refund at the gateway (same key, same refund), then record it. Retried until it succeeds."""
    simulators.gateway_refund(payment_id=record.payment_id, attempt=_attempt(), faults=record.faults)
    services.payment_refund(
        order_id=record.order_id,
        payment_id=record.payment_id,
        amount=record.amount,
        currency=record.currency,
        reason=record.reason,
    )


@domain_activity(Activities.START_SHIPPING)
def start_shipping(attempt: ShippingAttempt) -> None:
    services.order_start_shipping(order_id=attempt.order_id, attempt=attempt.attempt)


@domain_activity(Activities.PREPARE_PACKAGE)
def prepare_package(request: PackageRequest) -> str:
    return simulators.warehouse_prepare(
        order_id=request.order_id, shipping_attempt=request.attempt, attempt=_attempt(), faults=request.faults
    )


@domain_activity(Activities.DISPATCH_CARRIER)
def dispatch_carrier(request: DispatchRequest) -> str:
    return simulators.carrier_dispatch(
        order_id=request.order_id,
        package_id=request.package_id,
        address=asdict(request.address),
        attempt=_attempt(),
        faults=request.faults,
    )


@domain_activity(Activities.SETTLE_SHIPMENT)
def settle_shipment(ref: OrderRef) -> ShipmentTruth:
    """After a dispatch whose outcome is unknown: ask the carrier for the order's shipment (and cancel the key if
    there is none), before anything is refunded."""
    return simulators.carrier_settle(order_id=ref.order_id, attempt=_attempt())


@domain_activity(Activities.RECORD_SHIPPING_STEP)
def record_shipping_step(step: ShippingStep) -> None:
    services.order_record_shipping_step(order_id=step.order_id, attempt=step.attempt, step=step.step, detail=step.detail)


@domain_activity(Activities.COMPLETE)
def complete_order(ref: OrderRef) -> None:
    services.order_complete(order_id=ref.order_id)


@domain_activity(Activities.FAIL)
def fail_order(outcome: Outcome) -> None:
    services.order_fail(order_id=outcome.order_id, reason=outcome.reason)


ALL = [
    receive_order,
    validate_order,
    screen_order,
    escalate_review,
    approve_order,
    record_approval,
    record_claim,
    cancel_order,
    update_order_address,
    charge_payment,
    record_payment,
    record_payment_declined,
    settle_payment,
    record_payment_voided,
    refund_payment,
    start_shipping,
    prepare_package,
    dispatch_carrier,
    record_shipping_step,
    settle_shipment,
    complete_order,
    fail_order,
]
