"""Routing by the risk policy (real OrderWorkflow, fake activities): the policy snapshotted for the order approves
it below one threshold, cancels it as suspected fraud from the other, and sends everything between to people."""

import asyncio

import pytest
from temporalio.client import WithStartWorkflowOperation, WorkflowUpdateStage
from temporalio.common import WorkflowIDConflictPolicy

from tests.workflow_fakes import (
    TEST_TASK_TIMEOUT,
    FakeActivities,
    order_input,
    running_workers,
    save_history,
    start,
    state_when,
)
from workflows.order import OrderWorkflow
from workflows.types import (
    POLICY_ACTOR,
    Activities,
    ApproveRequest,
    CancelCodes,
    ClaimRequest,
    Roles,
    order_workflow_id,
)

ROUTING = dict(risk_auto_approve_below=30, risk_auto_cancel_from=80)


async def test_a_low_score_is_approved_by_the_policy_and_the_order_completes_without_a_person(env):
    fakes = FakeActivities(risk_score=12)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q, **ROUTING))
        final = await handle.result()
        await save_history(env, handle.id, "order_policy_approves.json")

    [screen] = fakes.args(Activities.SCREEN)
    [approval] = fakes.args(Activities.APPROVE)
    assert (screen.approve_below, screen.cancel_from) == (30, 80)
    assert approval.actor == POLICY_ACTOR and approval.role == Roles.POLICY
    assert approval.note == "approved by the risk policy: score 12, below 30"
    assert final.status == "completed" and final.approved and final.approvals == []
    names = fakes.names()  # held first, then captured at once
    assert names.index(Activities.AUTHORIZE) < names.index(Activities.APPROVE) < names.index(Activities.CAPTURE)


async def test_a_score_from_the_cancel_threshold_is_cancelled_as_suspected_fraud_and_nothing_is_charged(env):
    fakes = FakeActivities(risk_score=80)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q, **ROUTING))
        final = await handle.result()
        await save_history(env, handle.id, "order_policy_cancels.json")

    [cancel] = fakes.args(Activities.CANCEL)
    assert cancel.actor == POLICY_ACTOR and cancel.role == Roles.POLICY and cancel.code == CancelCodes.SUSPECTED_FRAUD
    assert cancel.note == "score 80, from 80 the risk policy cancels"
    assert Activities.AUTHORIZE not in fakes.names() and Activities.APPROVE not in fakes.names()
    assert final.status == "cancelled" and final.last_failure == "Suspected fraud: score 80, from 80 the risk policy cancels"


async def test_a_score_between_the_thresholds_waits_for_a_person(env):
    fakes = FakeActivities(risk_score=30)  # the approve threshold itself is not below it
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q, **ROUTING))
        reviewing = await state_when(handle, lambda s: s.step == "manual review")
        await handle.execute_update(OrderWorkflow.approve, ApproveRequest("rita"))
        final = await handle.result()
        await save_history(env, handle.id, "order_policy_reviews.json")

    assert reviewing.status == "awaiting_review" and reviewing.waiting and not reviewing.approved
    assert [a.actor for a in fakes.args(Activities.APPROVE)] == ["rita"] and final.status == "completed"


async def test_with_routing_off_every_order_is_reviewed_whatever_its_score(env):
    fakes = FakeActivities(risk_score=0)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q))
        reviewing = await state_when(handle, lambda s: s.step == "manual review")
        await handle.terminate("test over")

    [screen] = fakes.args(Activities.SCREEN)
    assert (screen.approve_below, screen.cancel_from) == (None, None) and not reviewing.approved


@pytest.mark.parametrize("score", [0, 95])
async def test_an_order_that_needs_two_reviewers_is_never_decided_by_the_policy(env, score):
    fakes = FakeActivities(risk_score=score)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await start(env, main_q, order_input(ship_q, four_eyes_amount="20.00", **ROUTING))
        reviewing = await state_when(handle, lambda s: s.step == "manual review")
        await handle.terminate("test over")

    assert reviewing.approvals_required == 2 and not reviewing.approved and not reviewing.cancel_requested
    assert Activities.APPROVE not in fakes.names() and Activities.CANCEL not in fakes.names()


async def test_a_reviewers_approval_sent_while_the_order_is_screened_comes_before_the_policy(env):
    """Started as the client starts orders (update-with-start): a reviewer approves before the score is known; the
    policy, which would approve it too, leaves the decision to the person who came first."""
    fakes = FakeActivities(risk_score=5, screen_gate=asyncio.Event())
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        data = order_input(ship_q, **ROUTING)
        operation = WithStartWorkflowOperation(
            OrderWorkflow.run, data, id=order_workflow_id(data.order_id), task_queue=main_q, task_timeout=TEST_TASK_TIMEOUT,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        await env.client.start_update_with_start_workflow(
            OrderWorkflow.await_creation, start_workflow_operation=operation, wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        handle = await operation.workflow_handle()
        approving = await handle.start_update(
            OrderWorkflow.approve, ApproveRequest("rita", note="known customer"), wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        fakes.screen_gate.set()
        approved = await approving.result()
        final = await handle.result()
        await save_history(env, handle.id, "order_policy_person_first.json")

    [approval] = fakes.args(Activities.APPROVE)
    assert approved.accepted and (approval.actor, approval.role, approval.note) == ("rita", Roles.REVIEWER, "known customer")
    assert final.status == "completed"


async def test_a_running_order_keeps_the_policy_it_started_with(env):
    """The deployment turns routing on while an order waits for review: that order still waits for a person, and
    only orders started after are routed."""
    fakes = FakeActivities(risk_score=5)
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        before = await start(env, main_q, order_input(ship_q))
        await state_when(before, lambda s: s.step == "manual review")
        after = await start(env, main_q, order_input(ship_q, **ROUTING))
        after_final = await after.result()
        # Nothing the order lives through later routes it: a claim and its release are recorded, and it still waits.
        await before.execute_update(OrderWorkflow.claim, ClaimRequest("rita"))
        await before.execute_update(OrderWorkflow.release, ClaimRequest("rita"))
        still = await state_when(before, lambda s: s.step == "manual review")
        await before.execute_update(OrderWorkflow.approve, ApproveRequest("rita"))
        before_final = await before.result()

    assert after_final.status == "completed" and still.status == "awaiting_review" and not still.approved
    assert before_final.status == "completed"
    assert [a.actor for a in fakes.args(Activities.APPROVE)] == [POLICY_ACTOR, "rita"]
