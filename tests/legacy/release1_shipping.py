"""Release 1 (frozen, for tests/workflows/test_deploy_in_flight.py): ShippingWorkflow: prepare the package, then dispatch the carrier. A child of OrderWorkflow, one per attempt,
on its own task queue. Dispatch is the point of no return: a cancel that arrives later is not honoured."""

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from tests.legacy.release1_steps import bookkeeping, business_call, failure_reason
    from workflows.types import (
        Activities,
        Address,
        DispatchFailure,
        DispatchRequest,
        ErrorTypes,
        PackageRequest,
        ShippingInput,
        ShippingResult,
        ShippingStep,
    )


@workflow.defn(name="ShippingWorkflow")
class ShippingWorkflow:
    @workflow.init
    def __init__(self, data: ShippingInput) -> None:
        self._address = data.address
        self._cancelled = False
        self._step = "prepare package"

    @workflow.run
    async def run(self, data: ShippingInput) -> ShippingResult:
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
            tracking = await business_call(
                Activities.DISPATCH_CARRIER,
                DispatchRequest(data.order_id, data.attempt, package_id, self._address, data.faults),
                data.business_retry,
                str,
            )
        except ActivityError as err:
            reason = f"{self._step} failed: {failure_reason(err)}"
            workflow.logger.warning(reason, extra=log)
            parent = workflow.get_external_workflow_handle(data.parent_workflow_id)
            await parent.signal("dispatch_failed", DispatchFailure(attempt=data.attempt, reason=reason))
            raise ApplicationError(reason, type=ErrorTypes.DISPATCH_FAILED, non_retryable=True) from err
        self._step = "dispatched"
        await bookkeeping(Activities.RECORD_SHIPPING_STEP, ShippingStep(data.order_id, data.attempt, "dispatched", tracking))
        return ShippingResult(dispatched=True, tracking_number=tracking, package_id=package_id)

    @workflow.signal
    def cancel_shipping(self) -> None:
        self._cancelled = True

    @workflow.signal
    def update_address(self, address: Address) -> None:
        self._address = address

    @workflow.query
    def get_status(self) -> str:
        return self._step
