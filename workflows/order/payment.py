"""Payment: charge (orders started before AUTHORIZE_FIRST; holds: holds.py), settle a charge whose answer was
lost, and give the money back: refund a capture, release a hold.

A charge's outcome is never guessed: only an explicit decline means "not charged"; any other failure is settled
with the gateway by the same key before anything is recorded. Once captured, whatever goes wrong refunds it."""

from dataclasses import replace

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import texts
    from workflows.order.state import OrderState
    from workflows.patches import SETTLE_UNKNOWN_CHARGE
    from workflows.steps import StepFailed, business_call, failure_reason, failure_type, settle_call
    from workflows.types import Activities, ChargeRequest, ErrorTypes, OrderStatus, PaymentRecord, PaymentTruth


class PaymentStatus:
    """WorkflowState.payment_status: empty until the charge or the hold is decided."""

    HELD = "authorized"  # a hold at the gateway, not captured: released if the order is not paid
    CAPTURED = "captured"  # taken at the gateway: from here on, whatever goes wrong refunds it
    DECLINED = "declined"
    VOIDED = "voided"
    EXPIRED = "expired"  # a hold that lapsed, being replaced by a re-authorization
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
                return await self.failed(Activities.RECORD_DECLINE, PaymentStatus.DECLINED, replace(record, reason=reason))
            if not workflow.patched(SETTLE_UNKNOWN_CHARGE):
                record = replace(record, reason=texts.gateway_unavailable(reason))
                return await self.failed(Activities.RECORD_DECLINE, PaymentStatus.DECLINED, record)
            # Not a decline: the charge may have been taken. Ask the gateway by the same key before deciding.
            truth: PaymentTruth = await settle_call(Activities.SETTLE_PAYMENT, charge, state.retry, PaymentTruth)
            if not truth.captured:
                record = replace(record, reason=texts.gateway_unavailable(reason, truth.state))
                return await self.failed(Activities.RECORD_VOID, PaymentStatus.VOIDED, record)
            state.log(f"the charge went through although its reply was lost ({reason})")
            reference = truth.reference
        return await self.paid(record, reference)

    async def paid(self, record: PaymentRecord, reference: str) -> bool:
        """Record the capture: the order is paid, and from here on whatever goes wrong refunds it."""
        state = self.state
        state.payment_status = PaymentStatus.CAPTURED
        await state.write(Activities.RECORD_PAYMENT, replace(record, provider_reference=reference))
        state.set_status(OrderStatus.PAID)
        return True

    async def failed(self, activity: str, payment_status: str, record: PaymentRecord) -> bool:
        """Record why the order will not be paid, and end it payment_failed. False, for the caller to return."""
        state = self.state
        state.last_failure = record.reason
        async with state.turn(texts.PAYMENT_FAILING):
            await state.write(activity, record)
            state.payment_status = payment_status
            state.end(OrderStatus.PAYMENT_FAILED)
        return False

    async def refund(self, reason: str) -> None:
        """Give the money back: refund it if it was taken, release the hold if it was only held."""
        state = self.state
        if state.payment_status == PaymentStatus.HELD:
            return await self.release(reason)
        if state.payment_status != PaymentStatus.CAPTURED:
            return
        s = state.summary
        key = state.hold_key or s.payment_id  # a capture of a re-authorization is under its own key
        record = PaymentRecord(state.order_id, key, s.amount, s.currency, reason=reason, faults=state.faults)
        await state.write(Activities.REFUND, record)
        state.payment_status = PaymentStatus.REFUNDED

    async def release(self, reason: str) -> None:
        """Void the hold: nothing was taken, so nothing is refunded. One the gateway had already dropped is recorded
        expired; one it says was captured after all is refunded."""
        state = self.state
        record = self.hold_record(reason)
        truth: PaymentTruth = await settle_call(Activities.VOID_HOLD, record, state.retry, PaymentTruth)
        if truth.captured:
            state.log(f"the hold {state.hold_key} had been captured: refunding it")
            state.payment_status = PaymentStatus.CAPTURED
            return await self.refund(reason)
        expired = truth.state == PaymentTruth.EXPIRED
        state.payment_status = PaymentStatus.EXPIRED if expired else PaymentStatus.VOIDED  # whether recorded or not
        await state.write(Activities.RECORD_EXPIRY if expired else Activities.RECORD_RELEASE, record)

    def hold_record(self, reason: str = "") -> PaymentRecord:
        state, s = self.state, self.state.summary
        return PaymentRecord(state.order_id, state.hold_key, s.amount, s.currency, reason=reason, faults=state.faults)
