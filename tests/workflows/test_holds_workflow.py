"""Holds (AUTHORIZE_FIRST) in the real OrderWorkflow, with fake activities whose `holds` stand for the gateway's
books: authorized before review, captured on approval, voided on a cancel, settled by key when a reply is lost,
re-authorized when the hold lapses (the time-skipping server)."""

import asyncio

from temporalio.testing import WorkflowEnvironment

from tests.workflow_fakes import (
    FakeActivities,
    add_search_attributes,
    eventually,
    order_input,
    running_workers,
    save_history,
    start,
    state_when,
)
from workflows.binaries import temporal_test_server
from workflows.order import OrderWorkflow
from workflows.types import Activities, ApproveRequest, CancelRequest, reauthorization_key

HOUR = 3600


async def test_a_cancel_during_review_voids_the_hold_and_refunds_nothing(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        data = order_input(ship_q)
        handle = await start(env, main_q, data)
        await state_when(handle, lambda s: s.step == "manual review")
        answer = await handle.execute_update(OrderWorkflow.cancel, CancelRequest(reason="changed my mind", actor="rita"))
        final = await handle.result()
        await save_history(env, handle.id, "order_hold_released.json")

    assert answer.accepted and final.status == "cancelled" and final.payment_status == "voided"
    assert fakes.names()[-3:] == [Activities.VOID_HOLD, Activities.RECORD_RELEASE, Activities.CANCEL]
    assert Activities.CAPTURE not in fakes.names() and Activities.REFUND not in fakes.names()
    assert fakes.args(Activities.RECORD_RELEASE)[0].reason == "order cancelled: changed my mind"
    assert fakes.holds == {data.payment_id: "voided"}


async def test_a_lost_reply_at_authorize_is_settled_by_key_and_the_hold_kept(env):
    fakes = FakeActivities(authorize_lost_reply=True)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        data = order_input(ship_q)
        handle = await start(env, main_q, data)
        await state_when(handle, lambda s: s.step == "manual review")
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        final = await handle.result()

    assert final.status == "completed"
    assert len(fakes.args(Activities.AUTHORIZE)) == 2  # retried under the same key, then asked
    assert [r.payment_id for r in fakes.args(Activities.SETTLE_AUTHORIZATION)] == [data.payment_id]
    assert [r.payment_id for r in fakes.args(Activities.RECORD_AUTHORIZATION)] == [data.payment_id]
    assert fakes.holds == {data.payment_id: "captured"}


async def test_a_lost_reply_at_capture_is_settled_by_key_with_one_capture(env):
    fakes = FakeActivities(charge_lost_reply=True)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        data = order_input(ship_q)
        handle = await start(env, main_q, data)
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        final = await handle.result()

    assert final.status == "completed" and final.payment_status == "captured"
    assert [r.payment_id for r in fakes.args(Activities.SETTLE_PAYMENT)] == [data.payment_id]
    assert len(fakes.args(Activities.RECORD_PAYMENT)) == 1
    assert fakes.holds == {data.payment_id: "captured"}


async def test_a_lost_reply_at_void_is_voided_again_by_the_same_key(env):
    fakes = FakeActivities(release_lost_reply=1)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        data = order_input(ship_q)
        handle = await start(env, main_q, data)
        await state_when(handle, lambda s: s.step == "manual review")
        await handle.execute_update(OrderWorkflow.cancel, CancelRequest(reason="no", actor="rita"))
        final = await handle.result()

    assert final.status == "cancelled"
    assert [r.payment_id for r in fakes.args(Activities.VOID_HOLD)] == [data.payment_id] * 2
    assert [r.payment_id for r in fakes.args(Activities.RECORD_RELEASE)] == [data.payment_id]
    assert fakes.holds == {data.payment_id: "voided"}


async def _time_skipping_order(fakes: FakeActivities, review_for: float, **settings):
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server()) as env:
        await add_search_attributes(env.client)
        async with running_workers(env.client, fakes) as (main_q, ship_q):
            data = order_input(ship_q, authorization_valid_for_seconds=HOUR, **settings)
            handle = await start(env, main_q, data)
            await state_when(handle, lambda s: s.step == "manual review")
            await env.sleep(review_for)
            await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
            final = await handle.result()
            if not settings:
                await save_history(env, handle.id, "order_reauthorized.json")
    return data, final


async def test_a_review_that_outlasts_the_hold_reauthorizes_before_capture():
    fakes = FakeActivities()
    data, final = await _time_skipping_order(fakes, review_for=2 * HOUR)

    again = reauthorization_key(data.payment_id, 1)
    assert final.status == "completed"
    assert [r.payment_id for r in fakes.args(Activities.VOID_HOLD)] == [data.payment_id]
    assert [r.payment_id for r in fakes.args(Activities.RECORD_EXPIRY)] == [data.payment_id]
    assert [(r.payment_id, r.replaces) for r in fakes.args(Activities.RECORD_AUTHORIZATION)] == [
        (data.payment_id, ""), (again, data.payment_id)
    ]
    assert [r.payment_id for r in fakes.args(Activities.CAPTURE)] == [again]
    assert fakes.holds == {data.payment_id: "voided", again: "captured"}  # one capture, the lapsed hold voided


async def test_a_reauthorization_declined_ends_the_order_payment_failed():
    fakes = FakeActivities(decline_reason="insufficient funds", decline_reauthorization=True)
    data, final = await _time_skipping_order(fakes, review_for=2 * HOUR, max_reauthorizations=3)

    assert final.status == "payment_failed" and final.last_failure == "insufficient funds"
    assert [r.payment_id for r in fakes.args(Activities.RECORD_DECLINE)] == [reauthorization_key(data.payment_id, 1)]
    assert Activities.CAPTURE not in fakes.names() and "captured" not in fakes.holds.values()


async def test_a_capture_answered_expired_reauthorizes_once(env):
    fakes = FakeActivities(capture_expired=1)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        data = order_input(ship_q)
        handle = await start(env, main_q, data)
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        final = await handle.result()

    again = reauthorization_key(data.payment_id, 1)
    assert final.status == "completed"
    assert [r.payment_id for r in fakes.args(Activities.CAPTURE)] == [data.payment_id, again]
    assert fakes.holds == {data.payment_id: "expired", again: "captured"}


async def test_a_capture_of_a_reauthorization_is_refunded_under_its_own_key(env):
    fakes = FakeActivities(capture_expired=1, failing_dispatch_attempts=3)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        data = order_input(ship_q)
        handle = await start(env, main_q, data)
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        final = await handle.result()

    again = reauthorization_key(data.payment_id, 1)
    assert final.status == "failed" and final.payment_status == "refunded"
    assert [r.payment_id for r in fakes.args(Activities.REFUND)] == [again]


async def test_a_cancel_during_a_reauthorization_voids_the_new_hold_instead_of_capturing_it(env):
    fakes = FakeActivities(capture_expired=1, reauthorization_gate=asyncio.Event())
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        data = order_input(ship_q)
        handle = await start(env, main_q, data)
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        again = reauthorization_key(data.payment_id, 1)
        await eventually(lambda: any(r.payment_id == again for r in fakes.args(Activities.AUTHORIZE)))
        await handle.signal(OrderWorkflow.cancel_order, CancelRequest(reason="too late", actor="rita"))
        fakes.reauthorization_gate.set()
        final = await handle.result()

    assert final.status == "cancelled" and final.payment_status == "voided"
    assert [r.payment_id for r in fakes.args(Activities.CAPTURE)] == [data.payment_id]  # answered "expired"
    assert Activities.REFUND not in fakes.names()
    assert fakes.holds == {data.payment_id: "expired", again: "voided"}


async def test_a_cancel_during_a_capture_answered_expired_holds_nothing_again(env):
    fakes = FakeActivities(capture_expired=1, charge_gate=asyncio.Event())
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        data = order_input(ship_q)
        handle = await start(env, main_q, data)
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest(actor="rita"))
        await eventually(lambda: fakes.args(Activities.CAPTURE))
        await handle.signal(OrderWorkflow.cancel_order, CancelRequest(reason="too late", actor="rita"))
        fakes.charge_gate.set()
        final = await handle.result()

    assert final.status == "cancelled" and final.payment_status == "expired"
    assert [r.payment_id for r in fakes.args(Activities.AUTHORIZE)] == [data.payment_id]  # no re-authorization
    assert Activities.REFUND not in fakes.names() and fakes.holds == {data.payment_id: "expired"}
