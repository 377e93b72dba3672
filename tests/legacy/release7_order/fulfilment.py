"""Fulfilment: shipping attempts (a ShippingWorkflow child each, with backoff between), settling a dispatch whose
outcome was never heard, and the ends of an order: complete, cancelled or failed, with the money refunded unless
the goods left."""

import asyncio
from datetime import timedelta
from typing import Optional

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    from tests.legacy.release7_order.payment import Payment
    from tests.legacy.release7_order.state import OrderState
    from workflows import texts
    from workflows.shipping import ShippingWorkflow
    from workflows.steps import StepFailed, failure_reason, settle_call
    from workflows.types import (
        Activities,
        CancelRequest,
        DispatchFailure,
        OrderStatus,
        Outcome,
        ReviewDecision,
        ShipmentTruth,
        ShippingAttempt,
        ShippingInput,
        ShippingResult,
        ShippingStep,
        shipping_workflow_id,
    )


class Fulfilment:
    def __init__(self, state: OrderState, payment: Payment) -> None:
        self.state = state
        self.payment = payment

    async def ship(self) -> None:
        state = self.state
        settings = state.data.settings
        for attempt in range(1, settings.shipping_max_attempts + 1):
            state.attempts = attempt
            state.move(f"shipping (attempt {attempt})")
            await state.write(Activities.START_SHIPPING, ShippingAttempt(state.order_id, attempt))
            state.set_status(OrderStatus.SHIPPING)
            result = await self._attempt(attempt)
            if result and result.dispatched:
                return await self._complete(result.tracking_number)
            if result:  # the child stopped before dispatch because the order is being cancelled
                return await self.cancel_order()
            await state.write(
                Activities.RECORD_SHIPPING_STEP, ShippingStep(state.order_id, attempt, "attempt_failed", state.last_failure)
            )
            if attempt < settings.shipping_max_attempts:
                backoff = settings.shipping_backoff_seconds * 2 ** (attempt - 1)
                state.wait(True)
                try:
                    await workflow.wait_condition(lambda: state.cancel is not None, timeout=timedelta(seconds=backoff))
                except asyncio.TimeoutError:
                    pass
                state.wait(False)
            if state.cancel:
                return await self.cancel_order()
        if await self._shipped_after_all():
            return
        reason = texts.shipping_failed(settings.shipping_max_attempts, state.last_failure)
        state.move("compensate")
        async with state.turn(texts.FAILING):
            await self.payment.refund(reason)
            state.last_failure = reason
            await state.write(Activities.FAIL, Outcome(state.order_id, reason=reason))
            state.end(OrderStatus.FAILED)

    async def _attempt(self, attempt: int) -> Optional[ShippingResult]:
        """One child workflow. Returns its result, or None when the attempt failed."""
        state = self.state
        async with state.turn():  # the child starts with the latest accepted address
            state.child = await workflow.start_child_workflow(
                ShippingWorkflow.run,
                ShippingInput(
                    order_id=state.order_id,
                    attempt=attempt,
                    parent_workflow_id=workflow.info().workflow_id,
                    address=state.address,
                    business_retry=state.retry,
                    faults=state.faults,
                ),
                id=shipping_workflow_id(state.order_id, attempt),
                task_queue=state.data.settings.shipping_task_queue,
                task_timeout=workflow.info().task_timeout,
            )
        child = state.child
        await workflow.wait_condition(lambda: child.done() or state.cancel is not None)
        if not child.done():
            await self.signal_child(child, ShippingWorkflow.cancel_shipping)
        try:
            result: ShippingResult = await child
        except ChildWorkflowError as err:
            if not state.last_failure.startswith(texts.attempt_prefix(attempt)):
                state.last_failure = texts.attempt_failed(attempt, failure_reason(err))
            state.log(f"shipping attempt failed: {state.last_failure}")
            return None
        finally:
            state.child = None
        if result.dispatched:
            state.dispatched = True
        return result

    def dispatch_failed(self, failure: DispatchFailure) -> None:
        """The child's word on a failed attempt, and whether the carrier had been called."""
        self.state.last_failure = texts.attempt_failed(failure.attempt, failure.reason)
        self.state.carrier_called = self.state.carrier_called or failure.carrier_called

    async def signal_child(self, child, signal, *args) -> bool:
        """Signal the shipping child; False when it has closed meanwhile (its own result then tells)."""
        try:
            await child.signal(signal, *args)
            return True
        except FailureError as err:
            self.state.log(f"the shipping child had closed; signal not delivered: {err}")
            return False

    async def _shipped_after_all(self) -> bool:
        """When a dispatch's outcome was never heard, ask the carrier before anything is refunded. True (and the
        order completed) when the goods did leave."""
        state = self.state
        if not state.carrier_called or state.dispatched or not state.serialized:
            return False
        state.move("settle shipment")
        truth: ShipmentTruth = await settle_call(Activities.SETTLE_SHIPMENT, state.ref(), state.retry, ShipmentTruth)
        if not truth.dispatched:
            return False
        state.log("the carrier did dispatch although its reply was lost")
        state.dispatched = True
        step = ShippingStep(state.order_id, state.attempts, "dispatched", truth.tracking_number)
        await state.write(Activities.RECORD_SHIPPING_STEP, step)
        await self._complete(truth.tracking_number)
        return True

    async def _complete(self, tracking: str) -> None:
        state = self.state
        state.dispatched = True
        state.tracking = tracking
        state.move("complete")
        async with state.turn():
            await state.write(Activities.COMPLETE, state.ref())
            state.end(OrderStatus.COMPLETED)

    async def cancel_order(self) -> None:
        """Cancel the order, refunding the money, unless the goods already left."""
        state = self.state
        request = state.cancel or CancelRequest()
        if await self._shipped_after_all():
            return  # too late to cancel: the goods left
        state.move("cancel")
        async with state.turn(texts.BEING_CANCELLED):
            await self.payment.refund(texts.cancelled_refund(request.text))
            decision = ReviewDecision(state.order_id, request.actor, request.text, code=request.code, note=request.note, role=request.role)
            await state.write(Activities.CANCEL, decision)
            state.last_failure = request.text
            state.end(OrderStatus.CANCELLED)

    async def compensate(self, reason: str) -> None:
        """Something unexpected failed: the money goes back unless the goods left, and the order ends failed."""
        state = self.state
        state.log(f"compensating: {reason}")
        state.last_failure = reason
        if state.dispatched or await self._shipped_after_all():
            # The goods left and the money stays: the order is complete, whatever our row says (reconcile shows it).
            return state.end(OrderStatus.COMPLETED)
        state.move("compensate")
        async with state.turn(texts.FAILING):
            try:
                await self.payment.refund(reason)
            except StepFailed as err:
                if not state.ends:
                    raise
                # The refund's record was refused for its data: the order still ends, and reconcile shows the payment.
                state.log(f"could not record the refund: {failure_reason(err)}")
            if state.ends:
                state.claim = None  # the order is over: nobody holds it
            try:
                await state.write(Activities.FAIL, Outcome(state.order_id, reason=reason))
            except StepFailed as err:  # the row refuses even that: reconcile will show the difference
                state.log(f"could not record the failure: {failure_reason(err)}")
            state.end(OrderStatus.FAILED)
