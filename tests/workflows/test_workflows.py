"""The real OrderWorkflow and ShippingWorkflow, with fake activities, on real Temporal servers from the wheels:
the dev server (updates, signals) and the time-skipping test server (review escalation and timeout)."""

import asyncio

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from tests.workflow_fakes import (
    NEW_ADDRESS,
    FakeActivities,
    add_search_attributes,
    cancel_requested,
    eventually,
    order_input,
    running_workers,
    save_history,
    start,
    state_when,
)
from workflows.binaries import temporal_test_server
from workflows.order import REVIEW_TIMED_OUT, OrderWorkflow
from workflows.types import (
    Activities,
    Address,
    AddressUpdate,
    ApproveRequest,
    CancelRequest,
    MessageResult,
    WorkflowState,
    shipping_workflow_id,
)


async def test_happy_path(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        data = order_input(ship_q)
        handle = await start(env, main_q, data)

        result = await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        state = await handle.result()

    assert result == MessageResult(accepted=True, status="approved")
    assert state.status == "completed" and state.tracking_number == "TRK-1" and state.payment_status == "captured"
    assert fakes.names() == [
        Activities.RECEIVE,
        Activities.SCREEN,
        Activities.AUTHORIZE,
        Activities.RECORD_AUTHORIZATION,
        Activities.APPROVE,
        Activities.CAPTURE,
        Activities.RECORD_PAYMENT,
        Activities.START_SHIPPING,
        Activities.PREPARE_PACKAGE,
        Activities.RECORD_SHIPPING_STEP,
        Activities.DISPATCH_CARRIER,
        Activities.RECORD_SHIPPING_STEP,
        Activities.COMPLETE,
    ]
    assert fakes.args(Activities.APPROVE)[0].actor == "rita"
    assert fakes.args(Activities.AUTHORIZE)[0].payment_id == fakes.args(Activities.CAPTURE)[0].payment_id == data.payment_id
    assert fakes.holds == {data.payment_id: "captured"}
    await save_history(env, handle.id, "order_happy_path.json")
    await save_history(env, shipping_workflow_id(data.order_id, 1), "shipping_happy_path.json")


async def test_legacy_signals_and_query(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q))
        status = await state_when(handle, lambda s: s.step == "manual review")
        assert status.status == "awaiting_review"

        await handle.signal("approve_order")
        state = await handle.result()

    assert state.status == "completed"


async def test_approval_before_the_first_step(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        # Signal-with-start: the approval is in the workflow before it has received the order.
        handle = await start(env, main_q, order_input(ship_q), start_signal="approve_order", start_signal_args=[ApproveRequest("rita")])
        state = await handle.result()

    assert state.status == "completed" and state.approved
    assert fakes.names()[:5] == [
        Activities.RECEIVE, Activities.SCREEN, Activities.AUTHORIZE, Activities.RECORD_AUTHORIZATION, Activities.APPROVE
    ]
    assert fakes.args(Activities.APPROVE)[0].actor == "rita"


async def test_cancel_during_review(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q))
        await eventually(lambda: Activities.SCREEN in fakes.names())

        result = await handle.execute_update(OrderWorkflow.cancel, CancelRequest(reason="changed my mind", actor="ada"))
        state = await handle.result()
        # A closed workflow takes no more updates; the client reads the final status from the database then.
        with pytest.raises(RPCError) as closed:
            await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))

    assert result.accepted and result.status == "cancelled"
    assert state.status == "cancelled" and state.last_failure == "changed my mind"
    assert Activities.CAPTURE not in fakes.names() and Activities.REFUND not in fakes.names()
    assert fakes.args(Activities.CANCEL)[0].actor == "ada"
    assert closed.value.status == RPCStatusCode.NOT_FOUND


async def test_validators_refuse_duplicate_messages(env):
    # The package stays in preparation (a regular step, so messages are answered meanwhile).
    fakes = FakeActivities(prepare_gate=asyncio.Event())
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q))
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))

        with pytest.raises(WorkflowUpdateFailedError) as twice:
            await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        with pytest.raises(WorkflowUpdateFailedError) as bad_address:
            await handle.execute_update(OrderWorkflow.change_address, AddressUpdate(Address(name="x"), "ada"))
        first_cancel = await handle.start_update(
            OrderWorkflow.cancel, CancelRequest(reason="first"), wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        with pytest.raises(WorkflowUpdateFailedError) as cancel_twice:
            await handle.execute_update(OrderWorkflow.cancel, CancelRequest(reason="second"))
        with pytest.raises(WorkflowUpdateFailedError) as approve_cancelled:
            await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        fakes.prepare_gate.set()
        assert (await first_cancel.result()).status == "cancelled"

    assert "order already approved" in str(twice.value.cause)
    assert "missing line1, city, postal_code, country" in str(bad_address.value.cause)
    assert "order is already being cancelled" in str(cancel_twice.value.cause)
    assert "order is being cancelled" in str(approve_cancelled.value.cause)
    assert fakes.names().count(Activities.APPROVE) == 1
    assert Activities.UPDATE_ADDRESS not in fakes.names()


@pytest.mark.parametrize(
    "gate, step, never",
    [
        # Cancel while the charge is in flight: the payment lands, is refunded, and shipping never starts.
        ("charge_gate", Activities.CAPTURE, Activities.START_SHIPPING),
        # Cancel while the package is being prepared: the child stops before dispatch, then refund and cancel.
        ("prepare_gate", Activities.PREPARE_PACKAGE, Activities.DISPATCH_CARRIER),
    ],
)
async def test_cancel_after_payment_refunds_first(env, gate, step, never):
    fakes = FakeActivities(**{gate: asyncio.Event()})
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q))
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        await eventually(lambda: step in fakes.names())

        cancel = asyncio.create_task(handle.execute_update(OrderWorkflow.cancel, CancelRequest(reason="too slow")))
        await cancel_requested(handle)
        getattr(fakes, gate).set()
        result = await cancel
        state = await handle.result()

    assert result.accepted and state.status == "cancelled" and state.payment_status == "refunded"
    names = fakes.names()
    assert names.index(Activities.RECORD_PAYMENT) < names.index(Activities.REFUND)
    assert names[-2:] == [Activities.REFUND, Activities.CANCEL]
    assert never not in names


async def test_address_updates_before_first_step_and_during_review(env):
    fakes = FakeActivities()
    early = Address(name="Ada", line1="2 Early Road", city="York", postal_code="YO1 7HH", country="GB")
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        data = order_input(ship_q)
        # Signal-with-start delivers the signal before the workflow's first step runs.
        handle = await start(env, main_q, data, start_signal="update_address", start_signal_args=[AddressUpdate(early, "ada")])
        await eventually(lambda: Activities.SCREEN in fakes.names())

        result = await handle.execute_update(OrderWorkflow.change_address, AddressUpdate(NEW_ADDRESS, "ada"))
        assert (await handle.query(OrderWorkflow.get_status)).address == NEW_ADDRESS
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        await handle.result()

    assert result.accepted
    changes = fakes.args(Activities.UPDATE_ADDRESS)
    assert [(c.address, c.sequence) for c in changes] == [(early, 1), (NEW_ADDRESS, 2)]
    assert fakes.names().index(Activities.RECEIVE) < fakes.names().index(Activities.UPDATE_ADDRESS)
    # Shipping uses the latest address.
    assert fakes.args(Activities.DISPATCH_CARRIER)[0].address == NEW_ADDRESS


async def test_concurrent_address_changes_apply_in_arrival_order(env):
    fakes = FakeActivities(slow_early_address_changes=True)
    addresses = [Address(name="Ada", line1=f"{n} Queue Lane", city="York", postal_code="YO1", country="GB") for n in range(5)]
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q))
        await eventually(lambda: Activities.SCREEN in fakes.names())
        for address in addresses:
            await handle.start_update(
                OrderWorkflow.change_address, AddressUpdate(address, "ada"), wait_for_stage=WorkflowUpdateStage.ACCEPTED
            )
        await eventually(lambda: len(fakes.args(Activities.UPDATE_ADDRESS)) == 5)
        final = (await handle.query(OrderWorkflow.get_status)).address
        await handle.execute_update(OrderWorkflow.cancel, CancelRequest(reason="done"))

    changes = fakes.args(Activities.UPDATE_ADDRESS)
    assert [c.sequence for c in changes] == [1, 2, 3, 4, 5]
    assert [c.address for c in changes] == addresses
    assert final == addresses[-1]


async def test_shipping_fails_once_then_succeeds(env):
    fakes = FakeActivities(failing_dispatch_attempts=1)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        data = order_input(ship_q)
        handle = await start(env, main_q, data)
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        state = await handle.result()
        await save_history(env, handle.id, "order_shipping_retry.json")
        await save_history(env, shipping_workflow_id(data.order_id, 1), "shipping_dispatch_failed.json")

    assert state.status == "completed" and state.shipping_attempts == 2
    assert "attempt 1: dispatch carrier failed: carrier refused attempt 1" == state.last_failure
    failed = [s for s in fakes.args(Activities.RECORD_SHIPPING_STEP) if s.step == "attempt_failed"]
    assert [(s.attempt, s.detail) for s in failed] == [(1, state.last_failure)]
    assert Activities.REFUND not in fakes.names()


async def test_shipping_fails_every_attempt_refunds_and_fails(env):
    fakes = FakeActivities(failing_dispatch_attempts=99)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q))
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        state = await handle.result()

    assert state.status == "failed" and state.payment_status == "refunded" and state.shipping_attempts == 3
    assert [a.attempt for a in fakes.args(Activities.START_SHIPPING)] == [1, 2, 3]
    assert fakes.names()[-2:] == [Activities.REFUND, Activities.FAIL]
    assert "shipping failed after 3 attempts" in fakes.args(Activities.FAIL)[0].reason


async def test_payment_declined_at_authorization_never_reaches_review(env):
    fakes = FakeActivities(decline_reason="card declined")
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q))
        state = await handle.result()

    assert state.status == "payment_failed" and state.last_failure == "card declined"
    assert fakes.names() == [Activities.RECEIVE, Activities.SCREEN, Activities.AUTHORIZE, Activities.RECORD_DECLINE]
    assert fakes.args(Activities.RECORD_DECLINE)[0].reason == "card declined"  # a decline is never retried


async def test_validation_rejected(env):
    fakes = FakeActivities(reject_reason="the order has no items")
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q))
        state = await handle.result()

    assert state.status == "rejected" and state.last_failure == "the order has no items"
    assert fakes.names() == [Activities.RECEIVE, Activities.SCREEN]


async def test_escalation_then_timeout():
    fakes = FakeActivities()
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server()) as env:
        await add_search_attributes(env.client)
        async with running_workers(env.client, fakes) as (main_q, ship_q):
            data = order_input(ship_q, review_escalate_after_seconds=3600, review_timeout_seconds=86400)
            handle = await start(env, main_q, data)

            await env.sleep(3500)
            assert not (await handle.query(OrderWorkflow.get_status)).escalated
            await env.sleep(200)
            escalated = await handle.query(OrderWorkflow.get_status)
            state: WorkflowState = await handle.result()

    assert escalated.escalated and escalated.status == "awaiting_review"
    assert state.status == "cancelled" and state.last_failure == REVIEW_TIMED_OUT
    assert fakes.names()[-4:] == [Activities.ESCALATE, Activities.VOID_HOLD, Activities.RECORD_RELEASE, Activities.CANCEL]
    assert fakes.holds == {data.payment_id: "voided"}
    assert fakes.args(Activities.CANCEL)[0].reason == REVIEW_TIMED_OUT
