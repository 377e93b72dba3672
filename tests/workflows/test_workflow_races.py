"""Money and state under races and lost replies, on the dev server with the real workflows and fake
activities that keep their own "provider books" (tests/workflow_fakes.py).

The races are made exact with worker interceptors: one holds a workflow task while the test lets the shipping
child finish, so that the parent acts on a child it still believes is running; another holds a child's start.
"""

import asyncio
import threading
import uuid
from typing import Optional

import pytest
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.worker import (
    Interceptor,
    StartChildWorkflowInput,
    UnsandboxedWorkflowRunner,
    Worker,
    WorkflowInboundInterceptor,
    WorkflowOutboundInterceptor,
)

from tests.workflow_fakes import (
    ADDRESS,
    NEW_ADDRESS,
    FakeActivities,
    eventually,
    order_input,
    running_workers,
    save_history,
    start,
    state_when,
    worker_on_its_own_thread,
)
from workflows.order import OrderWorkflow
from workflows.shipping import ShippingWorkflow
from workflows.types import (
    Activities,
    Address,
    AddressUpdate,
    ApproveRequest,
    CancelRequest,
    shipping_workflow_id,
)

THIRD_ADDRESS = Address(name="Ada Lovelace", line1="3 Last Lane", city="Bath", postal_code="BA1 1AA", country="GB")


async def approved(env, fakes, main_q, ship_q, **settings):
    handle = await start(env, main_q, order_input(ship_q, **settings))
    await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
    return handle


async def closed_status(env, workflow_id) -> WorkflowExecutionStatus:
    return (await env.client.get_workflow_handle(workflow_id).describe()).status


# --- 1. a charge whose reply is lost ----------------------------------------------------------------


async def test_captured_charge_whose_reply_is_lost_is_found_and_the_order_goes_on(env):
    fakes = FakeActivities(charge_lost_reply=True)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await approved(env, fakes, main_q, ship_q)
        state = await handle.result()
        await save_history(env, handle.id, "order_charge_reply_lost.json")

    assert state.status == "completed" and state.payment_status == "captured"
    assert fakes.names().count(Activities.SETTLE_PAYMENT) == 1
    assert Activities.RECORD_DECLINE not in fakes.names() and Activities.REFUND not in fakes.names()
    assert fakes.args(Activities.RECORD_PAYMENT)[0].provider_reference == "ch_test"


async def test_charge_that_never_reached_the_gateway_is_voided_not_declined(env):
    fakes = FakeActivities(charge_unavailable=True)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await approved(env, fakes, main_q, ship_q)
        state = await handle.result()
        await save_history(env, handle.id, "order_charge_voided.json")

    assert state.status == "payment_failed" and state.payment_status == "voided"
    assert "gateway unreachable" in state.last_failure and "voided" in state.last_failure
    assert Activities.RECORD_DECLINE not in fakes.names()
    assert fakes.names()[-2:] == [Activities.SETTLE_PAYMENT, Activities.RECORD_VOID]


async def test_captured_charge_whose_reply_is_lost_is_refunded_when_the_order_fails(env):
    fakes = FakeActivities(charge_lost_reply=True, failing_dispatch_attempts=99)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await approved(env, fakes, main_q, ship_q)
        state = await handle.result()

    assert state.status == "failed" and state.payment_status == "refunded"
    assert not fakes.captured  # the gateway's books: refunded
    assert fakes.names()[-2:] == [Activities.REFUND, Activities.FAIL]


# --- 2. a signal to a child that has just closed ------------------------------------------------------


class HoldSignal(Interceptor):
    """Holds the workflow task that delivers one signal until the test says go, so that the shipping child can
    finish while the parent still believes it runs."""

    def __init__(self, signal: str):
        self.signal, self.held, self.go = signal, threading.Event(), threading.Event()

    def workflow_interceptor_class(self, input):
        hold = self

        class Inbound(WorkflowInboundInterceptor):
            async def handle_signal(self, input):
                if input.signal == hold.signal and not workflow.unsafe.is_replaying():
                    hold.held.set()
                    assert hold.go.wait(timeout=20), "the test never let the signal through"
                await super().handle_signal(input)

        return Inbound


@pytest.mark.parametrize(
    "signal, arg",
    [("cancel_order", CancelRequest(reason="too late", actor="ada")), ("update_address", AddressUpdate(NEW_ADDRESS, "ada"))],
)
async def test_signal_to_a_child_that_just_closed_does_not_fail_the_order(env, signal, arg):
    fakes = FakeActivities(prepare_gate=asyncio.Event())
    hold = HoldSignal(signal)
    main_q, ship_q = f"main-{uuid.uuid4()}", f"shipping-{uuid.uuid4()}"
    parent_worker = worker_on_its_own_thread(
        env.client, task_queue=main_q, workflows=[OrderWorkflow], activities=fakes.all(), interceptors=[hold],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    child_worker = Worker(env.client, task_queue=ship_q, workflows=[ShippingWorkflow], activities=fakes.all())
    with parent_worker:
        async with child_worker:
            handle = await approved(env, fakes, main_q, ship_q)
            await eventually(lambda: Activities.PREPARE_PACKAGE in fakes.names())

            await handle.signal(signal, arg)
            await asyncio.to_thread(hold.held.wait, 10)
            fakes.prepare_gate.set()  # the child dispatches and closes while the parent's task is held
            child = shipping_workflow_id(handle.id.removeprefix("order-"), 1)
            await eventually_async(lambda: closed_status(env, child), WorkflowExecutionStatus.COMPLETED)
            hold.go.set()
            state = await handle.result()
            await save_history(env, handle.id, f"order_{signal}_to_closed_child.json")

    assert await closed_status(env, handle.id) == WorkflowExecutionStatus.COMPLETED
    assert state.status == "completed" and state.payment_status == "captured"
    assert state.address == ADDRESS  # the change came too late to be used, so it was not taken
    assert Activities.UPDATE_ADDRESS not in fakes.names() and Activities.REFUND not in fakes.names()


async def eventually_async(probe, expected, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while (value := await probe()) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"still {value}"
        await asyncio.sleep(0.02)


# --- 3. an address change is in the shipment, or refused ------------------------------------------------


async def test_change_while_the_carrier_is_called_is_refused(env):
    fakes = FakeActivities(dispatch_gate=asyncio.Event())
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await approved(env, fakes, main_q, ship_q)
        await eventually(lambda: Activities.DISPATCH_CARRIER in fakes.names())

        result = await handle.execute_update(OrderWorkflow.change_address, AddressUpdate(NEW_ADDRESS, "ada"))
        fakes.dispatch_gate.set()
        state = await handle.result()
        await save_history(env, handle.id, "order_address_change_too_late.json")

    assert not result.accepted and result.detail == "order already dispatched"
    assert fakes.shipped == [ADDRESS] and state.address == ADDRESS
    assert Activities.UPDATE_ADDRESS not in fakes.names()


class HoldChildStart(Interceptor):
    """Delays the start of the shipping child by a durable timer: the window in which the parent has copied the
    address into the child's input but has no child handle yet."""

    def __init__(self):
        self.holding = threading.Event()

    def workflow_interceptor_class(self, input):
        hold = self

        class Outbound(WorkflowOutboundInterceptor):
            async def start_child_workflow(self, input: StartChildWorkflowInput):
                if not workflow.unsafe.is_replaying():
                    hold.holding.set()
                    await workflow.sleep(1.5)
                return await super().start_child_workflow(input)

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound):
                super().init(Outbound(outbound))

        return Inbound


async def test_change_while_the_child_starts_is_shipped(env):
    fakes = FakeActivities(prepare_gate=asyncio.Event())
    hold = HoldChildStart()
    main_q, ship_q = f"main-{uuid.uuid4()}", f"shipping-{uuid.uuid4()}"
    parent_worker = Worker(
        env.client, task_queue=main_q, workflows=[OrderWorkflow], activities=fakes.all(), interceptors=[hold],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    child_worker = Worker(env.client, task_queue=ship_q, workflows=[ShippingWorkflow], activities=fakes.all())
    async with parent_worker, child_worker:
        handle = await approved(env, fakes, main_q, ship_q)
        await asyncio.to_thread(hold.holding.wait, 10)

        result = await handle.execute_update(OrderWorkflow.change_address, AddressUpdate(NEW_ADDRESS, "ada"))
        fakes.prepare_gate.set()
        state = await handle.result()

    assert result.accepted
    assert fakes.shipped == [NEW_ADDRESS] and state.address == NEW_ADDRESS
    assert [c.address for c in fakes.args(Activities.UPDATE_ADDRESS)] == [NEW_ADDRESS]


async def test_change_waiting_for_its_turn_past_dispatch_is_refused(env):
    fakes = FakeActivities(prepare_gate=asyncio.Event(), address_gate=asyncio.Event())
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await approved(env, fakes, main_q, ship_q)
        await eventually(lambda: Activities.PREPARE_PACKAGE in fakes.names())

        first = await handle.start_update(
            OrderWorkflow.change_address, AddressUpdate(NEW_ADDRESS, "ada"), wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        second = await handle.start_update(
            OrderWorkflow.change_address, AddressUpdate(THIRD_ADDRESS, "ada"), wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        fakes.prepare_gate.set()
        await eventually(lambda: fakes.shipped)  # dispatched while the first change's write is held
        fakes.address_gate.set()
        first, second = await first.result(), await second.result()
        state = await handle.result()

    accepted = [r for r in (first, second) if r.accepted]
    assert first.accepted and not second.accepted and second.detail == "order already dispatched"
    assert fakes.shipped == [NEW_ADDRESS] == [state.address]
    assert len(accepted) == len(fakes.args(Activities.UPDATE_ADDRESS)) == 1


# --- 4. an address change as the order ends -----------------------------------------------------------


@pytest.mark.parametrize("via", ["signal", "update"])
async def test_change_during_the_final_step_is_refused_and_the_order_ends_well(env, via):
    fakes = FakeActivities(cancel_gate=asyncio.Event())
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q))
        await state_when(handle, lambda s: s.step == "manual review")
        cancel = await handle.start_update(
            OrderWorkflow.cancel, CancelRequest(reason="changed my mind"), wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        await eventually(lambda: Activities.CANCEL in fakes.names())  # the row already says cancelled

        refusal: Optional[str] = None
        if via == "signal":
            await handle.signal(OrderWorkflow.update_address, AddressUpdate(NEW_ADDRESS, "ada"))
        else:
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(OrderWorkflow.change_address, AddressUpdate(NEW_ADDRESS, "ada"))
            refusal = refused.value.cause.message
        fakes.cancel_gate.set()
        result = await cancel.result()
        state = await handle.result()
        if via == "signal":
            await save_history(env, handle.id, "order_address_signal_while_cancelling.json")

    assert await closed_status(env, handle.id) == WorkflowExecutionStatus.COMPLETED
    assert result.accepted and state.status == "cancelled" and state.address == ADDRESS
    assert Activities.UPDATE_ADDRESS not in fakes.names()
    if refusal is not None:
        assert refusal == "order is being cancelled"


# --- 7. a dispatch whose reply is lost ------------------------------------------------------------------


async def test_dispatch_whose_reply_is_lost_ships_once_and_is_never_refunded(env):
    fakes = FakeActivities(dispatch_lost_reply=True)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await approved(env, fakes, main_q, ship_q)
        state = await handle.result()
        await save_history(env, handle.id, "order_dispatch_reply_lost.json")

    assert state.status == "completed" and state.payment_status == "captured" and state.tracking_number == "TRK-1"
    assert len(fakes.shipped) == 1 and state.shipping_attempts == 3
    assert Activities.REFUND not in fakes.names()
    assert fakes.names()[-3:] == [Activities.SETTLE_SHIPMENT, Activities.RECORD_SHIPPING_STEP, Activities.COMPLETE]


async def test_cancel_after_a_dispatch_whose_reply_was_lost_completes_instead(env):
    fakes = FakeActivities(dispatch_lost_reply=True)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await approved(env, fakes, main_q, ship_q, shipping_backoff_seconds=30)
        await state_when(handle, lambda s: s.step == "shipping (attempt 1)" and "dispatch" in s.last_failure)

        result = await handle.execute_update(OrderWorkflow.cancel, CancelRequest(reason="too slow"))
        state = await handle.result()

    assert not result.accepted and result.detail == "order already completed"
    assert state.status == "completed" and Activities.REFUND not in fakes.names()


# --- 8. our payments table refuses the capture after the gateway took the money -------------------------


async def test_refused_capture_record_is_compensated(env):
    fakes = FakeActivities(record_payment_conflict=True)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await approved(env, fakes, main_q, ship_q)
        state = await handle.result()

    assert await closed_status(env, handle.id) == WorkflowExecutionStatus.COMPLETED
    assert state.status == "failed" and state.payment_status == "refunded"
    assert "declined, not captured" in state.last_failure
    assert fakes.names()[-2:] == [Activities.REFUND, Activities.FAIL] and not fakes.captured
    assert Activities.START_SHIPPING not in fakes.names()
