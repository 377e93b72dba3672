"""Holds (AUTHORIZE_FIRST): the order's amount is authorized after validation and before review, captured on
approval, and released (payment.py) on a cancel or a review timeout.

A hold lasts `authorization_valid_for_seconds` by our clock, or less if the gateway says so. A review that outlasts
it re-authorizes before capture under a key of its own (`pay-…:reauth:1`), voiding the lapsed one first; a capture
answered "expired" does the same. Only the newest key is ever captured: one capture per order at most."""

from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import texts
    from workflows.order.payment import Payment, PaymentStatus
    from workflows.order.state import OrderState
    from workflows.steps import StepFailed, business_call, failure_reason, failure_type, settle_call
    from workflows.types import (
        Activities,
        ChargeRequest,
        ErrorTypes,
        Hold,
        HoldRecord,
        PaymentRecord,
        PaymentTruth,
        reauthorization_key,
    )

EXPIRED = "expired"  # a capture found the hold lapsed


class Holds:
    def __init__(self, state: OrderState, payment: Payment) -> None:
        self.state = state
        self.payment = payment

    async def authorize(self) -> bool:
        """Hold the order's amount: True once held; False when declined (the order has ended, never reviewed)."""
        self.state.move("authorize")
        return await self._authorize(self.state.summary.payment_id)

    async def capture(self) -> bool:
        """Capture the hold: True once paid; False when the payment failed (the order has ended)."""
        state = self.state
        state.move("payment")
        while True:
            if state.cancel:
                return True  # cancelled meanwhile: the caller cancels the order, releasing what is held
            if workflow.now() >= state.hold_expires:
                if not await self._reauthorize():
                    return False
                continue  # a cancel may have come while the hold was renewed
            captured = await self._capture()
            if captured != EXPIRED:
                return captured
            state.hold_expires = workflow.now()  # the gateway dropped it before our clock did

    async def _authorize(self, key: str, replaces: str = "") -> bool:
        state, s = self.state, self.state.summary
        request = ChargeRequest(state.order_id, key, s.amount, s.currency, state.faults)
        try:
            hold: Hold = await business_call(Activities.AUTHORIZE, request, state.retry, Hold)
        except StepFailed as err:
            reason = failure_reason(err)
            record = PaymentRecord(state.order_id, key, s.amount, s.currency, reason=reason)
            if failure_type(err) == ErrorTypes.DECLINED:
                return await self.payment.failed(Activities.RECORD_DECLINE, PaymentStatus.DECLINED, record)
            # Not a decline: the hold may have been made. Ask the gateway by the same key before deciding.
            truth: PaymentTruth = await settle_call(Activities.SETTLE_AUTHORIZATION, request, state.retry, PaymentTruth)
            if truth.state != PaymentTruth.AUTHORIZED:
                record = replace(record, reason=texts.gateway_unavailable(reason, truth.state))
                return await self.payment.failed(Activities.RECORD_VOID, PaymentStatus.VOIDED, record)
            state.log(f"the authorization went through although its reply was lost ({reason})")
            hold = Hold(truth.reference, truth.expires_at)
        expires = workflow.now() + timedelta(seconds=state.data.settings.authorization_valid_for_seconds)
        if hold.expires_at:
            expires = min(expires, datetime.fromisoformat(hold.expires_at))
        # Held from here on, recorded or not: whatever fails next releases it.
        state.hold_key, state.hold_expires, state.payment_status = key, expires, PaymentStatus.HELD
        record = HoldRecord(state.order_id, key, s.amount, s.currency, hold.reference, expires.isoformat(), replaces)
        await state.write(Activities.RECORD_AUTHORIZATION, record)
        return True

    async def _reauthorize(self) -> bool:
        """The hold lapsed: void it at the gateway (so it can never be captured) and record it expired, then hold
        the money again under a key of its own."""
        state, s = self.state, self.state.summary
        lapsed = state.hold_key
        state.log(f"the payment authorization {lapsed} lapsed")
        truth: PaymentTruth = await settle_call(Activities.VOID_HOLD, self.payment.hold_record(), state.retry, PaymentTruth)
        if truth.captured:  # a capture we never heard of: stop, and the compensation refunds it
            raise ApplicationError(texts.lapsed_hold_captured(lapsed), type=ErrorTypes.CONFLICT, non_retryable=True)
        state.payment_status = PaymentStatus.EXPIRED
        await state.write(Activities.RECORD_EXPIRY, self.payment.hold_record())
        if state.cancel:
            return True  # cancelled meanwhile: nothing is held any more, and nothing is held again
        state.reauthorizations += 1
        if state.reauthorizations > state.data.settings.max_reauthorizations:
            reason = texts.hold_lapsed(state.reauthorizations)
            record = PaymentRecord(state.order_id, reauthorization_key(s.payment_id, state.reauthorizations), s.amount, s.currency, reason=reason)
            return await self.payment.failed(Activities.RECORD_DECLINE, PaymentStatus.DECLINED, record)
        return await self._authorize(reauthorization_key(s.payment_id, state.reauthorizations), replaces=lapsed)

    async def _capture(self):
        """True once paid, False when the payment failed, or EXPIRED."""
        state, s = self.state, self.state.summary
        request = ChargeRequest(state.order_id, state.hold_key, s.amount, s.currency, state.faults)
        record = PaymentRecord(state.order_id, state.hold_key, s.amount, s.currency)
        try:
            reference = await business_call(Activities.CAPTURE, request, state.retry, str)
        except StepFailed as err:
            reason = failure_reason(err)
            if failure_type(err) == ErrorTypes.AUTHORIZATION_EXPIRED:
                state.log(f"the gateway says the hold lapsed: {reason}")
                return EXPIRED
            # The capture may have landed. Ask by the same key; if it has not, the hold is voided, so it never will.
            truth: PaymentTruth = await settle_call(Activities.SETTLE_PAYMENT, request, state.retry, PaymentTruth)
            if truth.state == PaymentTruth.EXPIRED:
                return EXPIRED
            if not truth.captured:
                record = replace(record, reason=texts.gateway_unavailable(reason, truth.state))
                return await self.payment.failed(Activities.RECORD_VOID, PaymentStatus.VOIDED, record)
            state.log(f"the capture went through although its reply was lost ({reason})")
            reference = truth.reference
        return await self.payment.paid(record, reference)
