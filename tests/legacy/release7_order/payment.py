"""Payment: charge, settle a charge whose answer was lost, void, refund.

A charge's outcome is never guessed: only an explicit decline means "not charged"; any other failure is settled
with the gateway by the same key before anything is recorded. Once captured, whatever goes wrong refunds it."""

from dataclasses import replace

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from tests.legacy.release7_order.state import OrderState
    from workflows import texts
    from workflows.patches import SETTLE_UNKNOWN_CHARGE
    from workflows.steps import StepFailed, business_call, failure_reason, failure_type, settle_call
    from workflows.types import Activities, ChargeRequest, ErrorTypes, OrderStatus, PaymentRecord, PaymentTruth


class PaymentStatus:
    """WorkflowState.payment_status: empty until the charge is decided."""

    CAPTURED = "captured"  # taken at the gateway: from here on, whatever goes wrong refunds it
    DECLINED = "declined"
    VOIDED = "voided"
    REFUNDED = "refunded"


class Payment:
    def __init__(self, state: OrderState) -> None:
        self.state = state

    async def charge(self) -> bool:
        """Charge the order: True once paid; False when the payment failed (the order has ended)."""
        state = self.state
        state.move("payment")
        s = state.summary
        charge = ChargeRequest(state.order_id, s.payment_id, s.amount, s.currency, state.faults)
        record = PaymentRecord(order_id=state.order_id, payment_id=s.payment_id, amount=s.amount, currency=s.currency)
        try:
            reference = await business_call(Activities.CHARGE, charge, state.retry, str)
        except StepFailed as err:
            reason = failure_reason(err)
            if failure_type(err) == ErrorTypes.DECLINED:
                return await self._failed(Activities.RECORD_DECLINE, PaymentStatus.DECLINED, replace(record, reason=reason))
            if not workflow.patched(SETTLE_UNKNOWN_CHARGE):
                record = replace(record, reason=texts.gateway_unavailable(reason))
                return await self._failed(Activities.RECORD_DECLINE, PaymentStatus.DECLINED, record)
            # Not a decline: the charge may have been taken. Ask the gateway by the same key before deciding.
            truth: PaymentTruth = await settle_call(Activities.SETTLE_PAYMENT, charge, state.retry, PaymentTruth)
            if not truth.captured:
                record = replace(record, reason=texts.gateway_unavailable(reason, truth.state))
                return await self._failed(Activities.RECORD_VOID, PaymentStatus.VOIDED, record)
            state.log(f"the charge went through although its reply was lost ({reason})")
            reference = truth.reference
        state.payment_status = PaymentStatus.CAPTURED
        await state.write(Activities.RECORD_PAYMENT, replace(record, provider_reference=reference))
        state.set_status(OrderStatus.PAID)
        return True

    async def _failed(self, activity: str, payment_status: str, record: PaymentRecord) -> bool:
        state = self.state
        state.last_failure = record.reason
        async with state.turn(texts.PAYMENT_FAILING):
            await state.write(activity, record)
            state.payment_status = payment_status
            state.end(OrderStatus.PAYMENT_FAILED)
        return False

    async def refund(self, reason: str) -> None:
        """Give the money back, if it was taken."""
        state = self.state
        if state.payment_status != PaymentStatus.CAPTURED:
            return
        s = state.summary
        record = PaymentRecord(state.order_id, s.payment_id, s.amount, s.currency, reason=reason, faults=state.faults)
        await state.write(Activities.REFUND, record)
        state.payment_status = PaymentStatus.REFUNDED
