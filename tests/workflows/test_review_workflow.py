"""The review desk's rules, judged by the workflow's validators (real OrderWorkflow, fake activities): claims and
their expiry (time skipping), take-over, four-eyes, reason codes."""

import asyncio
from dataclasses import replace

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
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
from workflows.order import REVIEW_TIMED_OUT, OrderWorkflow
from workflows.types import Activities, ApproveRequest, CancelRequest, ClaimRequest, Roles

# The fakes' orders amount to 25.00: a four-eyes threshold of 20.00 makes them need two reviewers.
FOUR_EYES = "20.00"


async def refused(handle, update, request) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refusal:
        await handle.execute_update(update, request)
    return refusal.value.cause.message


async def awaiting_review(env, fakes, main_q, ship_q, **settings):
    handle = await start(env, main_q, order_input(ship_q, **settings))
    await state_when(handle, lambda s: s.step == "manual review")
    return handle


async def test_a_claim_binds_other_reviewers_until_released_or_taken_over(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await awaiting_review(env, fakes, main_q, ship_q)

        claimed = await handle.execute_update(OrderWorkflow.claim, ClaimRequest("rita"))
        bob_approves = await refused(handle, OrderWorkflow.approve, ApproveRequest("bob"))
        bob_claims = await refused(handle, OrderWorkflow.claim, ClaimRequest("bob"))
        bob_releases = await refused(handle, OrderWorkflow.release, ClaimRequest("bob"))
        bob_cancels = await refused(handle, OrderWorkflow.cancel, CancelRequest(actor="bob", code="out_of_stock"))
        taken = await handle.execute_update(OrderWorkflow.claim, ClaimRequest("lead", take_over=True))
        rita_now = await refused(handle, OrderWorkflow.approve, ApproveRequest("rita"))
        state = await handle.query(OrderWorkflow.get_status)
        approved = await handle.execute_update(OrderWorkflow.approve, ApproveRequest("lead", note="checked the card"))
        final = await handle.result()
        await save_history(env, handle.id, "order_claim_take_over_approve.json")

    assert claimed.accepted and claimed.detail.startswith("claimed by rita until ")
    assert bob_approves.startswith("claimed by rita until ") and bob_approves.endswith(" UTC")
    assert bob_claims.startswith("claimed by rita") and bob_cancels.startswith("claimed by rita")
    assert bob_releases == "you do not hold a claim on this order"
    assert taken.accepted and rita_now.startswith("claimed by lead")
    assert state.claim.reviewer == "lead"
    assert approved.accepted and final.status == "completed"
    changes = fakes.args(Activities.RECORD_CLAIM)
    assert [(c.actor, c.action, c.previous, c.sequence) for c in changes] == [("rita", "claimed", "", 1), ("lead", "taken_over", "rita", 2)]
    assert fakes.args(Activities.APPROVE)[0].note == "checked the card"


async def test_claims_bind_reviewers_not_the_customer_or_the_holder_releasing(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await awaiting_review(env, fakes, main_q, ship_q)
        await handle.execute_update(OrderWorkflow.claim, ClaimRequest("rita"))
        released = await handle.execute_update(OrderWorkflow.release, ClaimRequest("rita"))
        await handle.execute_update(OrderWorkflow.claim, ClaimRequest("bob"))

        cancelled = await handle.execute_update(
            OrderWorkflow.cancel, CancelRequest(actor="shop", code="customer_request", role=Roles.CLIENT)
        )
        await handle.result()

    assert released.accepted and released.detail == "released"
    assert cancelled.accepted and cancelled.status == "cancelled"
    assert [c.action for c in fakes.args(Activities.RECORD_CLAIM)] == ["claimed", "released", "claimed"]


async def test_a_claim_expires_after_its_ttl():
    fakes = FakeActivities()
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server()) as env:
        await add_search_attributes(env.client)
        async with running_workers(env.client, fakes) as (main_q, ship_q):
            handle = await awaiting_review(env, fakes, main_q, ship_q, review_claim_ttl_seconds=600)
            await handle.execute_update(OrderWorkflow.claim, ClaimRequest("rita"))
            await env.sleep(590)
            still = await refused(handle, OrderWorkflow.approve, ApproveRequest("bob"))
            await env.sleep(20)
            approved = await handle.execute_update(OrderWorkflow.approve, ApproveRequest("bob"))

    assert still.startswith("claimed by rita")
    assert approved.accepted


async def test_four_eyes_needs_two_different_reviewers(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await awaiting_review(env, fakes, main_q, ship_q, four_eyes_amount=FOUR_EYES)
        await handle.execute_update(OrderWorkflow.claim, ClaimRequest("rita"))

        first = await handle.execute_update(OrderWorkflow.approve, ApproveRequest("rita", note="looks fine"))
        halfway = await handle.query(OrderWorkflow.get_status)
        again = await refused(handle, OrderWorkflow.approve, ApproveRequest("rita"))
        second = await handle.execute_update(OrderWorkflow.approve, ApproveRequest("bob"))
        final = await handle.result()
        await save_history(env, handle.id, "order_four_eyes.json")

    assert (first.accepted, first.status) == (True, "awaiting_review")
    assert first.detail == "approved 1 of 2; a second reviewer must approve"
    assert (halfway.approvals, halfway.approvals_required, halfway.claim) == (["rita"], 2, None)  # rita's claim went
    assert again == "already approved by rita; a second reviewer must approve"
    assert second.accepted and final.status == "completed"
    assert [(r.actor, r.note, r.required) for r in fakes.args(Activities.RECORD_APPROVAL)] == [("rita", "looks fine", 2)]
    assert fakes.args(Activities.APPROVE)[0].approvers == ["rita", "bob"]


async def test_under_the_threshold_one_approval_is_enough(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await awaiting_review(env, fakes, main_q, ship_q, four_eyes_amount="25.01")
        approved = await handle.execute_update(OrderWorkflow.approve, ApproveRequest("rita"))
        await handle.result()

    assert approved.accepted and approved.status == "approved"
    assert Activities.RECORD_APPROVAL not in fakes.names()


async def test_four_eyes_still_escalates_and_times_out():
    fakes = FakeActivities()
    async with await WorkflowEnvironment.start_time_skipping(test_server_existing_path=temporal_test_server()) as env:
        await add_search_attributes(env.client)
        async with running_workers(env.client, fakes) as (main_q, ship_q):
            handle = await awaiting_review(env, fakes, main_q, ship_q, four_eyes_amount=FOUR_EYES)
            first = await handle.execute_update(OrderWorkflow.approve, ApproveRequest("rita"))
            await env.sleep(86400)
            state = await handle.result()

    assert first.accepted and first.status == "awaiting_review"
    assert state.status == "cancelled" and state.last_failure == REVIEW_TIMED_OUT and state.escalated
    assert Activities.ESCALATE in fakes.names() and Activities.APPROVE not in fakes.names()


@pytest.mark.parametrize(
    "request_, refusal",
    [
        (CancelRequest(actor="rita", code="other"), "the reason code other needs a note"),
        (CancelRequest(actor="rita", code="bored", note="x"), "unknown reason code 'bored'; use one of customer_request, suspected_fraud, out_of_stock, address_problem, other"),
    ],
)
async def test_cancel_reason_codes_are_checked(env, request_, refusal):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await awaiting_review(env, fakes, main_q, ship_q)
        message = await refused(handle, OrderWorkflow.cancel, request_)
        await handle.execute_update(OrderWorkflow.cancel, CancelRequest(actor="rita", code="other", note="test order"))
        state = await handle.result()

    assert message == refusal
    assert state.last_failure == "Other: test order"
    cancel = fakes.args(Activities.CANCEL)[0]
    assert (cancel.code, cancel.note, cancel.reason) == ("other", "test order", "Other: test order")


async def test_the_old_cancel_signal_still_works(env):
    fakes = FakeActivities()
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        handle = await awaiting_review(env, fakes, main_q, ship_q)
        await handle.signal("cancel_order", {"reason": "fraud", "actor": "ops"})
        state = await handle.result()

    assert state.status == "cancelled" and state.last_failure == "fraud"
    assert (fakes.args(Activities.CANCEL)[0].reason, fakes.args(Activities.CANCEL)[0].actor) == ("fraud", "ops")


async def test_a_bulk_decision_sets_the_order_going_when_the_bulk_budget_is_over(env):
    """A bulk decision is accepted at once, and what it sets going (the approval's write, the payment, the shipment)
    waits out the hold the bulk gave it. A first of two approvals sets nothing going: it is answered without it."""
    fakes = FakeActivities()
    in_bulk = lambda actor: ApproveRequest(actor, bulk=True, hold_seconds=10)  # noqa: E731
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        held = await awaiting_review(env, fakes, main_q, ship_q)
        four_eyes = await awaiting_review(env, fakes, main_q, ship_q, four_eyes_amount=FOUR_EYES)
        accepted = await held.start_update(OrderWorkflow.approve, in_bulk("rita"), wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        first_of_two = await asyncio.wait_for(four_eyes.execute_update(OrderWorkflow.approve, in_bulk("rita")), timeout=6)
        writes_during_hold = len(fakes.args(Activities.APPROVE)) + len(fakes.args(Activities.CAPTURE))
        outcome = await accepted.result()
        final = await held.result()
        await save_history(env, held.id, "order_bulk_approve_held.json")

    assert writes_during_hold == 0
    assert first_of_two.accepted and first_of_two.detail.startswith("approved 1 of 2"), first_of_two
    assert outcome.accepted and final.status == "completed"
    assert len(fakes.args(Activities.APPROVE)) == len(fakes.args(Activities.CAPTURE)) == 1


@pytest.mark.parametrize(
    "update, request_, gate, activity",
    [
        (OrderWorkflow.approve, ApproveRequest("rita"), "approve_gate", Activities.APPROVE),
        (OrderWorkflow.cancel, CancelRequest(actor="rita", code="out_of_stock"), "cancel_gate", Activities.CANCEL),
    ],
)
async def test_a_bulk_decision_is_accepted_before_its_database_write(env, update, request_, gate, activity):
    """A local activity holds the workflow task that carries an update's acceptance. A decision sent one at a time
    is accepted once its database write is done; one sent in bulk is accepted first, and the write follows."""
    held = asyncio.Event()
    fakes = FakeActivities(**{gate: held})
    accepted = lambda handle, request: handle.start_update(update, request, wait_for_stage=WorkflowUpdateStage.ACCEPTED)  # noqa: E731
    async with running_workers(env.client, fakes) as (main_q, ship_q):
        one, bulk = [await awaiting_review(env, fakes, main_q, ship_q) for _ in range(2)]
        single = asyncio.create_task(accepted(one, request_))
        in_bulk = await asyncio.wait_for(accepted(bulk, replace(request_, bulk=True)), timeout=10)
        # The bulk one's write follows its acceptance after a timer (about a second on the dev server).
        await eventually(lambda: len(fakes.args(activity)) == 2)
        single_accepted_while_held = single.done()
        writes_while_held = len(fakes.args(activity))
        held.set()
        outcomes = [await (await single).result(), await in_bulk.result()]
        finals = [await one.result(), await bulk.result()]
        await save_history(env, bulk.id, f"order_bulk_{update.__name__}.json")

    # A cancel's first step voids the hold at the gateway, a regular activity: the task that accepts even a single
    # cancel ends there, before any write.
    assert single_accepted_while_held == (update == OrderWorkflow.cancel)
    assert writes_while_held == 2  # both writes had started: the bulk one was accepted before its write ended
    assert all(o.accepted for o in outcomes)
    assert {f.status for f in finals} == {"completed" if update == OrderWorkflow.approve else "cancelled"}
