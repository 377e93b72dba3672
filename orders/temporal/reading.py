"""Reading orders from Temporal: one order's live status and the wait for its close (shared with the web tier's
event loop, orders/temporal/waiting.py), what Temporal knows of every order (for reconcile) and the counts by
status."""

import asyncio
from dataclasses import asdict
from datetime import timedelta
from typing import Optional

from django.conf import settings
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowQueryFailedError
from temporalio.service import RPCError

from orders.audit import WorkflowView
from orders.temporal import errors
from orders.temporal.runner import _runner, handle
from workflows.names import Messages
from workflows.types import TERMINAL_STATUSES, OrderStatus, WorkflowState, order_workflow_id

OUTCOME_BATCH = 200
TERMINAL_VALUES = {status.value for status in TERMINAL_STATUSES}


async def ask_status(workflow: WorkflowHandle, rpc_timeout: Optional[float] = None) -> Optional[dict]:
    """The live state from the workflow's get_status query, or None when there is no workflow (the database then
    answers alone). `running` is False once the workflow has reached a final status."""
    try:
        state = await workflow.query(
            Messages.GET_STATUS, result_type=WorkflowState, rpc_timeout=timedelta(seconds=rpc_timeout) if rpc_timeout else None
        )
    except WorkflowQueryFailedError as exc:  # e.g. no worker can replay it
        raise errors.StatusUnknown(f"the order's workflow could not answer its status query: {exc.message}") from exc
    except RPCError as exc:
        if errors.workflow_missing(exc):
            return None
        raise errors.translate(exc) from exc
    return {**asdict(state), "running": state.status not in TERMINAL_VALUES}


async def closed(workflow: WorkflowHandle) -> bool:
    """Wait, without polling, until the workflow has closed, however it ended (Temporal long-polls for the close
    event); True then, and at once when there is no workflow."""
    try:
        await workflow.result()
    except WorkflowFailureError:  # failed, cancelled, terminated or timed out: closed all the same
        pass
    except RPCError as exc:
        if not errors.workflow_missing(exc):
            raise errors.translate(exc) from exc
    return True


def status(order_id: str) -> Optional[dict]:
    """The live state from the workflow's get_status query (one call), or None when there is no workflow
    (callers then read the database). `running` is False once the workflow has reached a final status."""

    async def ask() -> Optional[dict]:
        return await ask_status(await handle(order_id))

    return _runner.run(ask())


def wait_until_closed(order_id: str, timeout: float) -> bool:
    """Wait, without polling, until the order's workflow has closed, for at most `timeout` seconds. True when it
    has closed (or there is none)."""

    async def wait() -> bool:
        try:
            return await asyncio.wait_for(closed(await handle(order_id)), timeout=timeout)
        except asyncio.TimeoutError:
            return False

    return _runner.run(wait(), timeout=timeout + settings.TEMPORAL_CLIENT_TIMEOUT)


def order_workflows(order_ids: Optional[list[str]] = None, concurrency: int = 32) -> dict:
    """What Temporal knows of orders (orders.audit.WorkflowView by order id; none for an id without a workflow):
    every order workflow (the latest run of each id), or only those of `order_ids`. Asked with bounded concurrency
    on the client's loop."""

    async def listed() -> dict[str, str]:
        client = await _runner.client()
        latest: dict[str, tuple] = {}
        async for execution in client.list_workflows(
            f"WorkflowType='OrderWorkflow' AND TaskQueue='{settings.TEMPORAL_MAIN_TASK_QUEUE}'", page_size=1000
        ):
            order_id = execution.id.removeprefix(order_workflow_id(""))
            if order_id not in latest or execution.start_time > latest[order_id][0]:
                latest[order_id] = (execution.start_time, execution.status.name if execution.status else "UNKNOWN")
        return {order_id: status for order_id, (_, status) in latest.items()}

    async def views(batch: dict[str, Optional[str]]) -> dict[str, WorkflowView]:
        client = await _runner.client()
        gate = asyncio.Semaphore(concurrency)

        async def one(order_id: str, execution_status: Optional[str]) -> Optional[WorkflowView]:
            workflow = client.get_workflow_handle(order_workflow_id(order_id), result_type=WorkflowState)
            async with gate:
                try:
                    if execution_status is None:
                        description = await workflow.describe()
                        execution_status = description.status.name if description.status else "UNKNOWN"
                    if execution_status == "RUNNING":
                        state = await workflow.query(Messages.GET_STATUS, result_type=WorkflowState, rpc_timeout=timedelta(seconds=5))
                        return WorkflowView(execution_status, state.status)
                    if execution_status == "COMPLETED":
                        return WorkflowView(execution_status, (await workflow.result()).status)
                    if execution_status == "FAILED":
                        try:
                            await workflow.result()
                        except WorkflowFailureError as exc:
                            return WorkflowView(execution_status, failure_type=getattr(exc.cause, "type", "") or "")
                    return WorkflowView(execution_status)
                except WorkflowQueryFailedError as exc:
                    return WorkflowView(execution_status, f"no answer to its status query ({exc.message})")
                except RPCError as exc:
                    if errors.workflow_missing(exc):
                        return None
                    if exc.status in errors.UNAVAILABLE_CODES and execution_status != "RUNNING":
                        raise
                    return WorkflowView(execution_status or "UNKNOWN", f"no answer to its status query ({exc.message})")

        results = await asyncio.gather(*(one(order_id, status) for order_id, status in batch.items()))
        return {order_id: view for order_id, view in zip(batch, results) if view is not None}

    wanted = dict.fromkeys(order_ids) if order_ids is not None else _runner.run(listed(), timeout=600)
    ids, found = list(wanted), {}
    for start in range(0, len(ids), OUTCOME_BATCH):  # each batch within TEMPORAL_CLIENT_TIMEOUT
        found.update(_runner.run(views({i: wanted[i] for i in ids[start : start + OUTCOME_BATCH]}), timeout=120))
    return found


def counts_by_status() -> dict[str, int]:
    """Temporal's count of this deployment's order workflows by their OrderStatus search attribute (orders started
    before the attribute existed are not counted)."""

    async def count() -> dict[str, int]:
        client = await _runner.client()
        scope = f"WorkflowType='OrderWorkflow' AND TaskQueue='{settings.TEMPORAL_MAIN_TASK_QUEUE}'"
        found = await asyncio.gather(*(client.count_workflows(f"{scope} AND OrderStatus='{s.value}'") for s in OrderStatus))
        return {status.value: result.count for status, result in zip(OrderStatus, found) if result.count}

    return _runner.run(count())
