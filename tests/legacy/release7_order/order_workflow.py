"""OrderWorkflow: receive -> validate -> manual review -> payment -> shipping (a child per attempt).

The whole interface is here: the run and every message handler, each with its wire name; each handler hands its
message to the concern that owns it (review.py, claims.py, address.py, fulfilment.py), which share the state
(state.py). Deterministic: no Django, no I/O; every side effect is an activity. Messages may arrive before `run`
starts, so all state is set up in `@workflow.init`.

Money and state rules (docs/architecture.md):
- a charge's outcome is never guessed (payment.py);
- everything after a capture has a compensating path: the money is refunded unless the goods left;
- a dispatch whose outcome is unknown is settled with the carrier before any refund (fulfilment.py);
- message handlers never fail the workflow; an address change is accepted only if the shipment will use it.

Every path added since the first release is guarded by a patch (workflows/patches.py), so that orders started
before it replay and finish on the path they started on.
"""

from decimal import Decimal
from typing import Optional

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    # Deterministic and free of side effects, so they are not imported afresh for every run.
    from tests.legacy.release7_order.address import AddressChanges
    from tests.legacy.release7_order.claims import Claims
    from tests.legacy.release7_order.fulfilment import Fulfilment
    from tests.legacy.release7_order.payment import Payment
    from tests.legacy.release7_order.publishing import Publisher
    from tests.legacy.release7_order.review import Review
    from tests.legacy.release7_order.state import OrderState
    from workflows import texts
    from workflows.names import Messages
    from workflows.patches import EVERY_ORDER_ENDS, RISK_ROUTING, SEARCH_ATTRIBUTES
    from workflows.risk import Route
    from workflows.steps import StepFailed, failure_reason, failure_type, release_2
    from workflows.types import (
        Activities,
        AddressChangeAck,
        AddressUpdate,
        ApproveRequest,
        CancelRequest,
        ClaimRequest,
        CreationResult,
        DispatchFailure,
        ErrorTypes,
        MessageResult,
        OrderInput,
        OrderStatus,
        OrderSummary,
        WorkflowState,
    )


@workflow.defn(name="OrderWorkflow")
class OrderWorkflow:
    @workflow.init
    def __init__(self, data: OrderInput) -> None:
        # Decided once, on the first task, in this order: orders started on an earlier release keep its paths.
        serialized = release_2()
        searchable = workflow.patched(SEARCH_ATTRIBUTES)
        ends = workflow.patched(EVERY_ORDER_ENDS)
        publisher = Publisher(searchable)
        self._state = state = OrderState(data, publisher, serialized, ends, address=data.shipping_address)
        state.risky = workflow.patched(RISK_ROUTING)
        self._review = Review(state)
        self._claims = Claims(state)
        self._payment = Payment(state)
        self._fulfilment = Fulfilment(state, self._payment)
        self._address = AddressChanges(state, self._fulfilment)

    # --- the process ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, data: OrderInput) -> WorkflowState:
        state = self._state
        state.log("order received")
        state.publisher.start(state)
        try:
            state.summary = await state.write(Activities.RECEIVE, data, OrderSummary)
        except StepFailed as err:
            # The order was never created (e.g. its payment id belongs to another order): tell whoever waits.
            state.creation_refusal = err
            state.move("not created")
            state.log(f"order not created: {failure_reason(err)}")
            await workflow.wait_condition(workflow.all_handlers_finished)
            raise ApplicationError(failure_reason(err), type=failure_type(err), non_retryable=True) from err
        state.amount = float(Decimal(state.summary.amount))
        state.publish()
        self._review.require_approvals()
        state.received = True
        try:
            await self._process()
        except FailureError as err:
            # Something unexpected (a refused write, a child that could not start): the money goes back unless
            # the goods left, and the order ends with the reason instead of failing the workflow.
            await self._fulfilment.compensate(texts.step_failed(state.step, failure_reason(err)))
        # Let update handlers (e.g. a late address change) finish before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        state.log(f"order finished as {state.status.value}")
        return state.snapshot()

    async def _process(self) -> None:
        state, review, fulfilment = self._state, self._review, self._fulfilment
        state.move("validate")
        async with state.turn():
            try:
                await review.screen()
            except StepFailed as err:
                if failure_type(err) != ErrorTypes.REJECTED:
                    raise
                state.last_failure = failure_reason(err)
                return state.end(OrderStatus.REJECTED)
        state.set_status(OrderStatus.AWAITING_REVIEW)

        routed = review.route_by_policy()
        if routed == Route.CANCEL or (routed is None and not await review.decided()):
            await review.answer_first(state.cancel)
            return await fulfilment.cancel_order()
        state.move("approve")
        await review.answer_first(state.approval)
        if state.ends and state.cancel:
            state.approval_dropped = True  # cancelled while the approval was held: it is not recorded
            return await fulfilment.cancel_order()
        await review.record_approval()
        if state.cancel:
            return await fulfilment.cancel_order()

        if not await self._payment.charge():
            return
        if state.cancel:
            return await fulfilment.cancel_order()
        await fulfilment.ship()

    # --- messages ------------------------------------------------------------------------------
    # Each approve / cancel / address change is offered twice: as a signal (the names scripts already use)
    # and as an update whose validator answers at once. Both go through the same checks, and neither ever
    # fails the workflow: a refusal is logged (signal) or answered with the reason (update).

    @workflow.signal(name=Messages.APPROVE_SIGNAL)
    async def approve_order(self, request: Optional[ApproveRequest] = None) -> None:
        await self._review.approve_by_signal(request or ApproveRequest())

    @workflow.signal(name=Messages.CANCEL_SIGNAL)
    def cancel_order(self, request: Optional[CancelRequest] = None) -> None:
        self._review.cancel_by_signal(request or CancelRequest(reason=texts.CANCELLED))

    @workflow.signal(name=Messages.UPDATE_ADDRESS_SIGNAL)
    async def update_address(self, update: AddressUpdate) -> None:
        await self._address.change_by_signal(update)

    @workflow.signal(name=Messages.DISPATCH_FAILED)
    def dispatch_failed(self, failure: DispatchFailure) -> None:
        self._fulfilment.dispatch_failed(failure)

    @workflow.signal(name=Messages.SHIPPING_ADDRESS_RESULT)
    def shipping_address_result(self, ack: AddressChangeAck) -> None:
        self._address.acknowledged(ack)

    @workflow.update(name=Messages.AWAIT_CREATION)
    async def await_creation(self) -> CreationResult:
        """Sent with the start (update-with-start): answers once the order row is written and validated, or
        with the reason it could not be created."""
        state = self._state
        first = not state.creation_answered
        state.creation_answered = True
        state.client_updates += 1
        await workflow.wait_condition(lambda: state.status != OrderStatus.RECEIVED or state.creation_refusal is not None)
        refusal = state.creation_refusal
        return CreationResult(
            first=first,
            fingerprint=state.data.fingerprint,
            status=state.status.value,
            refusal=failure_reason(refusal) if refusal else "",
            refusal_type=(failure_type(refusal) or "") if refusal else "",
        )

    @await_creation.validator
    def _validate_await_creation(self) -> None:
        if self._state.creation_answered:
            self._state.check_client_updates()

    @workflow.update(name=Messages.APPROVE)
    async def approve(self, request: ApproveRequest) -> MessageResult:
        return await self._review.approve(request)

    @approve.validator
    def _validate_approve(self, request: ApproveRequest) -> None:
        self._review.check_approve(request)

    @workflow.update(name=Messages.CLAIM)
    async def claim(self, request: ClaimRequest) -> MessageResult:
        return await self._claims.change(request, releasing=False)

    @claim.validator
    def _validate_claim(self, request: ClaimRequest) -> None:
        self._claims.validate(request)

    @workflow.update(name=Messages.RELEASE)
    async def release(self, request: ClaimRequest) -> MessageResult:
        return await self._claims.change(request, releasing=True)

    @release.validator
    def _validate_release(self, request: ClaimRequest) -> None:
        self._claims.validate(request, releasing=True)

    @workflow.update(name=Messages.CANCEL)
    async def cancel(self, request: CancelRequest) -> MessageResult:
        return await self._review.cancel(request)

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        self._review.check_cancel(request)

    @workflow.update(name=Messages.CHANGE_ADDRESS)
    async def change_address(self, update: AddressUpdate) -> MessageResult:
        return await self._address.change(update)

    @change_address.validator
    def _validate_change_address(self, update: AddressUpdate) -> None:
        self._address.validate(update)

    @workflow.query(name=Messages.GET_STATUS)
    def get_status(self) -> WorkflowState:
        return self._state.snapshot()
