"""Messages to one order's workflow: approve, cancel, claim, release and change the address. Each is an update,
answered by the workflow's validator at once and then by its outcome, within TEMPORAL_UPDATE_WAIT."""

import asyncio
import contextlib
from dataclasses import replace
from datetime import timedelta
from typing import Any, Optional

from django.conf import settings
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowUpdateStage
from temporalio.service import RPCError

from orders.models import Order
from orders.temporal import errors
from orders.temporal.errors import (
    IdempotencyKeyReused,
    MessageRejected,
    OrderNotFound,
    TemporalUnavailable,
    workflow_missing,
)
from orders.temporal.runner import _runner, handle
from workflows.names import Messages
from workflows.types import (
    Address,
    AddressUpdate,
    ApproveRequest,
    CancelRequest,
    ClaimRequest,
    MessageResult,
    Roles,
)


# An idempotency key (the API's Idempotency-Key header) makes the update id: a retry with the same key after
# "outcome unknown" is the same update to Temporal, which answers it with the first one's outcome instead of
# judging it as a second decision. Without a key, every call is a new decision.
def approve(order_id: str, *, actor: str, note: str = "", role: str = Roles.REVIEWER, idempotency_key: str = "") -> MessageResult:
    request = ApproveRequest(actor=actor, note=note, role=role)
    return _message(order_id, Messages.APPROVE, request, update_id(Messages.APPROVE, actor, idempotency_key))


def cancel(
    order_id: str,
    *,
    actor: str,
    code: str = "",
    note: str = "",
    reason: str = "",
    role: str = Roles.REVIEWER,
    idempotency_key: str = "",
) -> MessageResult:
    """Cancel with a reason code (workflows.types.CancelCodes) and a note; `reason` alone is the form used before
    reason codes."""
    request = CancelRequest(reason=reason, actor=actor, code=code, note=note, role=role)
    return _message(order_id, Messages.CANCEL, request, update_id(Messages.CANCEL, actor, idempotency_key))


def claim(order_id: str, *, actor: str, take_over: bool = False) -> MessageResult:
    """Claim an order for review for REVIEW_CLAIM_TTL; take_over (for holders of orders.take_over_review) takes it
    from another reviewer."""
    return _message(order_id, Messages.CLAIM, ClaimRequest(actor=actor, take_over=take_over))


def release(order_id: str, *, actor: str, take_over: bool = False) -> MessageResult:
    return _message(order_id, Messages.RELEASE, ClaimRequest(actor=actor, take_over=take_over))


def update_address(order_id: str, *, actor: str, address: dict, idempotency_key: str = "") -> MessageResult:
    update = AddressUpdate(address=Address(**address), actor=actor)
    return _message(order_id, Messages.CHANGE_ADDRESS, update, update_id(Messages.CHANGE_ADDRESS, actor, idempotency_key))


def update_id(update: str, actor: str, idempotency_key: str) -> Optional[str]:
    return f"{update}:{actor}:{idempotency_key}" if idempotency_key else None


async def _refuse_reused_key(workflow, update_id: str, arg: Any) -> None:
    """A key names one request. The first is found among the updates the run accepted (one the validator refused
    left nothing to repeat, so its key is free)."""
    async for event in workflow.fetch_history_events():
        if not event.HasField("workflow_execution_update_accepted_event_attributes"):
            continue
        request = event.workflow_execution_update_accepted_event_attributes.accepted_request
        if request.meta.update_id == update_id:
            converter = (await _runner.client()).data_converter
            (first,) = await converter.decode(request.input.args.payloads, [type(arg)])
            if first != arg:
                raise IdempotencyKeyReused("this Idempotency-Key was sent before with a different request; use a new key")
            return


class NoRunningWorkflow(Exception):
    """The order has no running workflow: it has closed, or never existed (the database says which)."""


def _message(order_id: str, update: str, arg: Any, update_id: Optional[str] = None) -> MessageResult:
    try:
        return _runner.run(send(order_id, update, arg, update_id, keyed=update_id is not None))
    except NoRunningWorkflow:
        status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
    if status is None:
        raise OrderNotFound(f"order {order_id} not found")
    raise MessageRejected(closed_refusal(status))


def closed_refusal(status: str) -> str:
    return f"order already {status.replace('_', ' ')}"


async def send(
    order_id: str,
    update: str,
    arg: Any,
    update_id: Optional[str],
    wait: Optional[float] = None,
    sending: Optional[asyncio.Semaphore] = None,
    hold: bool = False,
    keyed: bool = False,
) -> MessageResult:
    """Send an update and wait `wait` seconds at most (TEMPORAL_UPDATE_WAIT by default), for its acceptance and then
    its outcome. `sending` bounds how many are being sent at once (until their validators answer). `hold`: the
    decision's effects wait until the deadline (its hold_seconds, set as it is sent). `keyed`: update_id is the
    client's idempotency key, which names one request."""
    workflow = await handle(order_id)
    wait = wait or settings.TEMPORAL_UPDATE_WAIT
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait

    async def accepted():
        async with sending or contextlib.nullcontext():
            return await workflow.start_update(
                update,
                replace(arg, hold_seconds=round(max(0.0, deadline - loop.time()), 3)) if hold else arg,
                id=update_id,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                result_type=MessageResult,
                rpc_timeout=timedelta(seconds=max(0.1, deadline - loop.time())),
            )

    try:
        if keyed:  # the update id is the client's idempotency key
            await _refuse_reused_key(workflow, update_id, arg)
        # The SDK asks again while the update is only admitted, and retries a busy server, each time with the full
        # rpc_timeout: the deadline is kept here.
        pending = await asyncio.wait_for(accepted(), timeout=max(0.1, deadline - loop.time()))
    except WorkflowUpdateFailedError as exc:  # the validator's refusal, known at once
        raise MessageRejected(getattr(exc.cause, "message", None) or str(exc.cause)) from exc
    except (WorkflowUpdateRPCTimeoutOrCancelledError, asyncio.TimeoutError) as exc:
        # Not accepted within the wait (no worker took the task in time, or its answer is still on the way): the
        # outcome is unknown, never reported as accepted. A retry is safe: a decision already taken is refused.
        raise TemporalUnavailable("the order did not take the message in time; its outcome is unknown, retry") from exc
    except RPCError as exc:
        if not workflow_missing(exc):
            raise errors.translate(exc, update=True) from exc  # e.g. the run has taken its most updates: 409
        raise NoRunningWorkflow() from exc
    try:
        result = await asyncio.wait_for(pending.result(), timeout=max(0.0, deadline - loop.time()))
    except WorkflowUpdateFailedError as exc:
        raise MessageRejected(getattr(exc.cause, "message", None) or str(exc.cause)) from exc
    except (asyncio.TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        # Accepted by the workflow, but the outcome takes longer than we wait.
        return MessageResult(accepted=True, status=MessageResult.PROCESSING, detail="accepted; the order is still being processed")
    if not result.accepted:
        raise MessageRejected(result.detail or f"order is {result.status}")
    return result
