"""Orders in flight at deploy time: an order started by release 1's or release 7's workflow code (frozen copies in
tests/legacy) is finished by today's code, on the path it started on. Committed histories prove replay; this proves
the handover of a live order between two worker versions."""

import uuid

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, Worker

from tests.legacy.release1_order import OrderWorkflow as Release1OrderWorkflow
from tests.legacy.release1_shipping import ShippingWorkflow as Release1ShippingWorkflow
from tests.legacy.release7_order import OrderWorkflow as Release7OrderWorkflow
from tests.workflow_fakes import NEW_ADDRESS, FakeActivities, order_input, start, state_when
from workflows.order import OrderWorkflow
from workflows.patches import AUTHORIZE_FIRST
from workflows.shipping import ShippingWorkflow
from workflows.types import Activities, AddressUpdate, ApproveRequest


def workers(client, fakes, main_q, ship_q, order_workflow, shipping_workflow):
    # No workflow cache: the next task of a running order goes to whichever worker polls, with no sticky queue.
    options = dict(activities=fakes.all(), max_cached_workflows=0)
    return (
        Worker(client, task_queue=main_q, workflows=[order_workflow], **options),
        Worker(client, task_queue=ship_q, workflows=[shipping_workflow], **options),
    )


def patch_markers(history) -> list[str]:
    return [e.marker_recorded_event_attributes.marker_name for e in history.events if e.HasField("marker_recorded_event_attributes")]


async def test_an_order_started_on_release_1_finishes_on_todays_code(env):
    fakes = FakeActivities()
    main_q, ship_q = f"main-{uuid.uuid4()}", f"shipping-{uuid.uuid4()}"
    data = order_input(ship_q)

    old_main, old_ship = workers(env.client, fakes, main_q, ship_q, Release1OrderWorkflow, Release1ShippingWorkflow)
    async with old_main, old_ship:
        handle = await start(env, main_q, data)
        await state_when(handle, lambda s: s.step == "manual review")
        await handle.execute_update("change_address", AddressUpdate(NEW_ADDRESS, "ada"))

    new_main, new_ship = workers(env.client, fakes, main_q, ship_q, OrderWorkflow, ShippingWorkflow)
    async with new_main, new_ship:
        approved = await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        state = await handle.result()
        history = await handle.fetch_history()

    assert approved.accepted and state.status == "completed" and state.address == NEW_ADDRESS
    assert fakes.names()[-1] == Activities.COMPLETE
    assert fakes.args(Activities.DISPATCH_CARRIER)[0].address == NEW_ADDRESS
    # It finished on the path it started on: no patch of today's code was taken mid-flight.
    assert patch_markers(history) == []
    replayed = await Replayer(workflows=[OrderWorkflow, ShippingWorkflow]).replay_workflow(
        WorkflowHistory.from_json(handle.id, history.to_json()), raise_on_replay_failure=True
    )
    assert replayed.replay_failure is None


async def test_an_order_started_on_release_7_is_charged_after_approval_on_todays_code(env):
    """Release 8 holds the money before review; an order already in review when it is deployed has no hold, and
    keeps release 7's path: charged after approval, never authorized."""
    fakes = FakeActivities()
    main_q, ship_q = f"main-{uuid.uuid4()}", f"shipping-{uuid.uuid4()}"
    data = order_input(ship_q)

    old_main, old_ship = workers(env.client, fakes, main_q, ship_q, Release7OrderWorkflow, ShippingWorkflow)
    async with old_main, old_ship:
        handle = await start(env, main_q, data)
        await state_when(handle, lambda s: s.step == "manual review")

    new_main, new_ship = workers(env.client, fakes, main_q, ship_q, OrderWorkflow, ShippingWorkflow)
    async with new_main, new_ship:
        approved = await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        state = await handle.result()
        history = await handle.fetch_history()

    assert approved.accepted and state.status == "completed" and state.payment_status == "captured"
    assert [r.payment_id for r in fakes.args(Activities.CHARGE)] == [data.payment_id]
    assert not {Activities.AUTHORIZE, Activities.CAPTURE, Activities.VOID_HOLD} & set(fakes.names())
    assert AUTHORIZE_FIRST not in patch_markers(history)
    replayed = await Replayer(workflows=[OrderWorkflow, ShippingWorkflow]).replay_workflow(
        WorkflowHistory.from_json(handle.id, history.to_json()), raise_on_replay_failure=True
    )
    assert replayed.replay_failure is None
