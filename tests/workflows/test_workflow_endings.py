"""Every order ends (real OrderWorkflow, fake activities): messages never wait for a row that will never exist, an
approval overtaken by a cancel is not recorded, a first approver cannot claim the order back, client updates are
bounded per run, and a write that fails for a passing reason is retried in the open (step, attempt, last error)."""

import asyncio

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateStage

from tests.workflow_fakes import (
    NEW_ADDRESS,
    FakeActivities,
    order_input,
    running_workers,
    save_history,
    start,
    state_when,
)
from tests.workflows.test_review_workflow import FOUR_EYES, awaiting_review, refused
from workflows.order import OrderWorkflow
from workflows.search_attributes import ORDER_STEP, ORDER_WAITING
from workflows.types import Activities, AddressUpdate, ApproveRequest, CancelRequest, ClaimRequest


async def test_messages_sent_while_the_order_is_never_created_are_answered_and_the_run_closes(env):
    gate = asyncio.Event()
    fakes = FakeActivities(receive_gate=gate, receive_refusal="payment id pay-1 belongs to another order")
    accepted = lambda handle, update, request: handle.start_update(update, request, wait_for_stage=WorkflowUpdateStage.ACCEPTED)  # noqa: E731
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q))
        pending = [
            await accepted(handle, OrderWorkflow.approve, ApproveRequest("rita")),
            await accepted(handle, OrderWorkflow.claim, ClaimRequest("rita")),
            await accepted(handle, OrderWorkflow.change_address, AddressUpdate(NEW_ADDRESS, actor="shop")),
            await accepted(handle, OrderWorkflow.cancel, CancelRequest(actor="shop", reason="changed my mind")),
        ]
        gate.set()
        answers = await asyncio.wait_for(asyncio.gather(*(p.result() for p in pending)), timeout=20)
        with pytest.raises(WorkflowFailureError) as failure:
            await asyncio.wait_for(handle.result(), timeout=20)
        await save_history(env, handle.id, "order_not_created_with_messages.json")

    assert [a.accepted for a in answers] == [False] * 4
    assert all(a.detail == "order was not created: payment id pay-1 belongs to another order" for a in answers), answers
    assert failure.value.cause.message == "payment id pay-1 belongs to another order"


async def test_an_approval_overtaken_by_a_cancel_is_not_recorded(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await awaiting_review(env, fakes, main_q, ship_q)
        held = ApproveRequest("rita", bulk=True, hold_seconds=3)
        approval = await handle.start_update(OrderWorkflow.approve, held, wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        cancelled = await handle.execute_update(OrderWorkflow.cancel, CancelRequest(actor="shop", reason="changed my mind"))
        answer = await approval.result()
        final = await handle.result()
        await save_history(env, handle.id, "order_approval_overtaken_by_cancel.json")

    assert cancelled.accepted and final.status == "cancelled"
    assert not answer.accepted and answer.detail == "order was cancelled before the approval took effect"
    assert fakes.args(Activities.APPROVE) == [] and fakes.args(Activities.CAPTURE) == []


async def test_the_first_of_two_approvers_cannot_claim_the_order_back(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await awaiting_review(env, fakes, main_q, ship_q, four_eyes_amount=FOUR_EYES)
        first = await handle.execute_update(OrderWorkflow.approve, ApproveRequest("rita"))
        rita_claims = await refused(handle, OrderWorkflow.claim, ClaimRequest("rita"))
        rita_takes_over = await refused(handle, OrderWorkflow.claim, ClaimRequest("rita", take_over=True))
        bob_claims = await handle.execute_update(OrderWorkflow.claim, ClaimRequest("bob"))
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest("bob"))
        final = await handle.result()

    assert first.accepted and bob_claims.accepted and final.status == "completed"
    assert rita_claims == rita_takes_over == "already approved by rita; a second reviewer must decide"


async def test_client_updates_are_bounded_per_run_but_decisions_are_not(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await awaiting_review(env, fakes, main_q, ship_q, max_client_updates=3)
        for update in (OrderWorkflow.claim, OrderWorkflow.release, OrderWorkflow.claim):
            assert (await handle.execute_update(update, ClaimRequest("rita"))).accepted
        fourth = await refused(handle, OrderWorkflow.release, ClaimRequest("rita"))
        address = await refused(handle, OrderWorkflow.change_address, AddressUpdate(NEW_ADDRESS, actor="shop"))
        approved = await handle.execute_update(OrderWorkflow.approve, ApproveRequest("rita"))
        final = await handle.result()

    assert fourth == address == "too many changes to this order (3); only a decision is taken now"
    assert approved.accepted and final.status == "completed"


async def test_a_write_that_fails_for_a_passing_reason_is_retried_in_the_open(env):
    fakes = FakeActivities(outages={Activities.SCREEN: 2})
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q))
        retrying = await state_when(handle, lambda s: s.step == "validate" and s.step_attempt >= 2)
        reviewing = await state_when(handle, lambda s: s.step == "manual review")
        attributes = (await handle.describe()).typed_search_attributes
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest("rita"))
        final = await handle.result()
        await save_history(env, handle.id, "order_write_retried.json")

    assert retrying.step_error == "screen_order: connection to the database lost"
    assert reviewing.waiting and reviewing.step_attempt == 1 and reviewing.step_error == ""
    assert attributes.get(ORDER_STEP) == "manual review" and attributes.get(ORDER_WAITING) is True
    assert len(fakes.args(Activities.SCREEN)) == 3 and final.status == "completed"
