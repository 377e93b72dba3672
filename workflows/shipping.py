"""ShippingWorkflow: prepare the package, then dispatch the carrier. A child of OrderWorkflow, one per attempt,
on its own task queue.

Dispatch is the point of no return: once the carrier call has started, a cancel is not honoured and the address
can no longer change. An address change is answered to the parent (AddressChangeAck), so that the parent accepts
a change only when the shipment will really use it; the result says which address the carrier was given.
"""

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from workflows.names import Messages
    from workflows.steps import StepFailed, bookkeeping, business_call, failure_reason, release_2
    from workflows.texts import ALREADY_DISPATCHED
    from workflows.types import (
        Activities,
        Address,
        AddressChangeAck,
        DispatchFailure,
        DispatchRequest,
        ErrorTypes,
        PackageRequest,
        ShippingAddressChange,
        ShippingInput,
        ShippingResult,
        ShippingStep,
    )

@workflow.defn(name="ShippingWorkflow")
class ShippingWorkflow:
    @workflow.init
    def __init__(self, data: ShippingInput) -> None:
        release_2()  # decided on the first task and remembered: a child started on release 1 keeps its path
        self._data = data
        self._address = data.address
        self._cancelled = False
        self._dispatching = False
        self._step = "prepare package"

    @workflow.run
    async def run(self, data: ShippingInput) -> ShippingResult:
        try:
            return await self._ship(data)
        finally:
            # An address change being answered to the parent finishes first.
            await workflow.wait_condition(workflow.all_handlers_finished)

    async def _ship(self, data: ShippingInput) -> ShippingResult:
        log = {"order_id": data.order_id, "workflow_id": workflow.info().workflow_id}
        package_id = ""
        try:
            if self._cancelled:
                return ShippingResult(dispatched=False)
            package_id = await business_call(
                Activities.PREPARE_PACKAGE, PackageRequest(data.order_id, data.attempt, data.faults), data.business_retry, str
            )
            await bookkeeping(Activities.RECORD_SHIPPING_STEP, ShippingStep(data.order_id, data.attempt, "package_prepared", package_id))
            if self._cancelled:
                workflow.logger.info("shipping stopped before dispatch: order cancelled", extra=log)
                return ShippingResult(dispatched=False, package_id=package_id)
            self._step = "dispatch carrier"
            self._dispatching = True
            tracking = await business_call(
                Activities.DISPATCH_CARRIER,
                DispatchRequest(data.order_id, data.attempt, package_id, self._address, data.faults),
                data.business_retry,
                str,
            )
        except StepFailed as err:
            reason = f"{self._step} failed: {failure_reason(err)}"
            workflow.logger.warning(reason, extra=log)
            parent = workflow.get_external_workflow_handle(data.parent_workflow_id)
            failure = DispatchFailure(attempt=data.attempt, reason=reason, carrier_called=self._dispatching)
            await parent.signal(Messages.DISPATCH_FAILED, failure)
            raise ApplicationError(reason, type=ErrorTypes.DISPATCH_FAILED, non_retryable=True) from err
        self._step = "dispatched"
        await bookkeeping(Activities.RECORD_SHIPPING_STEP, ShippingStep(data.order_id, data.attempt, "dispatched", tracking))
        return ShippingResult(dispatched=True, tracking_number=tracking, package_id=package_id, address=self._address)

    @workflow.signal(name=Messages.CANCEL_SHIPPING)
    def cancel_shipping(self) -> None:
        self._cancelled = True

    @workflow.signal(name=Messages.SHIPPING_CHANGE_ADDRESS)
    async def change_address(self, change: ShippingAddressChange) -> None:
        applied = not self._dispatching
        if applied:
            self._address = change.address
        ack = AddressChangeAck(sequence=change.sequence, applied=applied, reason="" if applied else ALREADY_DISPATCHED)
        try:
            await workflow.get_external_workflow_handle(self._data.parent_workflow_id).signal(Messages.SHIPPING_ADDRESS_RESULT, ack)
        except FailureError as err:  # the parent has closed: nobody waits for the answer
            workflow.logger.warning(f"address answer not delivered: {err}")

    @workflow.signal(name=Messages.SHIPPING_UPDATE_ADDRESS)
    def update_address(self, address: Address) -> None:
        """The form parents started before address answers existed still send; it is taken only before dispatch."""
        if not self._dispatching:
            self._address = address

    @workflow.query(name=Messages.GET_STATUS)
    def get_status(self) -> str:
        return self._step
