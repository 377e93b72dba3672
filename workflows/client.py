"""The one place where Django code talks to Temporal: start an order, approve, cancel, change its address, read
its live status. Functions are synchronous (views, admin and commands are); the Temporal client lives on one
background event loop per process, created lazily so that forked web workers each get their own.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import threading
from dataclasses import asdict, dataclass
from typing import Any, Optional

from django.conf import settings
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from orders.models import Order
from orders.services import order_fingerprint
from workflows.connection import connect
from workflows.types import (
    Address,
    AddressUpdate,
    ApproveRequest,
    CancelRequest,
    FaultSettings,
    MessageResult,
    OrderInput,
    OrderItem,
    ProcessSettings,
    RetrySettings,
    WorkflowState,
    default_payment_id,
    order_workflow_id,
)

UNAVAILABLE_CODES = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}


class OrderClientError(Exception):
    pass


class OrderNotFound(OrderClientError):
    pass


class OrderConflict(OrderClientError):
    """The order id is taken by an order with different data."""


class MessageRejected(OrderClientError):
    """The workflow refused the message (its validator said why)."""


class TemporalUnavailable(OrderClientError):
    pass


@dataclass(frozen=True)
class StartResult:
    order_id: str
    workflow_id: str
    created: bool


def process_settings(faults: Optional[FaultSettings] = None) -> ProcessSettings:
    return ProcessSettings(
        faults=faults,
        review_escalate_after_seconds=settings.REVIEW_ESCALATE_AFTER,
        review_timeout_seconds=settings.REVIEW_TIMEOUT,
        shipping_max_attempts=settings.SHIPPING_MAX_ATTEMPTS,
        shipping_backoff_seconds=settings.SHIPPING_RETRY_BACKOFF,
        shipping_task_queue=settings.TEMPORAL_SHIPPING_TASK_QUEUE,
        business_retry=RetrySettings(
            initial_interval_seconds=settings.BUSINESS_RETRY_INITIAL_INTERVAL,
            backoff_coefficient=settings.BUSINESS_RETRY_BACKOFF,
            maximum_interval_seconds=settings.BUSINESS_RETRY_MAX_INTERVAL,
            maximum_attempts=settings.BUSINESS_RETRY_MAX_ATTEMPTS,
        ),
    )


# --- the background loop --------------------------------------------------------------------


class _Runner:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: Optional[int] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._client: Optional[Client] = None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._pid != os.getpid():
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="temporal-client", daemon=True)
                self._thread.start()
                self._pid, self._client = os.getpid(), None
                atexit.register(self.close)
            return self._loop

    def close(self) -> None:
        """Stop the loop and drop the client before the interpreter finalizes (the SDK's native threads must not
        outlive it)."""
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                return
            self._client = None
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop, self._pid = None, None
            gc.collect()

    async def client(self) -> Client:
        if self._client is None:
            try:
                self._client = await connect()
            except Exception as exc:  # the SDK raises RuntimeError when it can't connect
                raise TemporalUnavailable(f"Temporal is unreachable at {settings.TEMPORAL_ADDRESS}: {exc}") from exc
        return self._client

    def run(self, coro) -> Any:
        future = asyncio.run_coroutine_threadsafe(self._guard(coro), self.loop())
        return future.result(timeout=settings.TEMPORAL_CLIENT_TIMEOUT + 5)

    async def _guard(self, coro):
        try:
            return await asyncio.wait_for(coro, timeout=settings.TEMPORAL_CLIENT_TIMEOUT)
        except asyncio.TimeoutError as exc:
            raise TemporalUnavailable("Temporal did not answer in time") from exc
        except RPCError as exc:
            if exc.status in UNAVAILABLE_CODES:
                raise TemporalUnavailable(f"Temporal is unavailable: {exc.message}") from exc
            raise


_runner = _Runner()


async def _handle(order_id: str):
    return (await _runner.client()).get_workflow_handle(order_workflow_id(order_id))


# --- start ----------------------------------------------------------------------------------


def start_order(
    *,
    order_id: str,
    customer_name: str,
    customer_email: str,
    items: list[dict],
    currency: str,
    shipping_address: dict,
    payment_id: Optional[str] = None,
    created_by_id: Optional[int] = None,
    faults: Optional[FaultSettings] = None,
) -> StartResult:
    """Start an order's workflow; the workflow's first step writes the order row (see the README's "Creation").

    Starting the same order again, even concurrently or after it finished, returns the existing order; the same
    id with different data raises OrderConflict.
    """
    payment_id = payment_id or default_payment_id(order_id)
    fingerprint = order_fingerprint(
        customer_name=customer_name,
        customer_email=customer_email,
        items=items,
        currency=currency,
        shipping_address=shipping_address,
        payment_id=payment_id,
    )
    existing = Order.objects.filter(pk=order_id).values_list("fingerprint", flat=True).first()
    if existing is not None:
        return _repeat(order_id, existing, fingerprint)
    data = OrderInput(
        order_id=order_id,
        customer_name=customer_name,
        customer_email=customer_email,
        items=[OrderItem(sku=i["sku"], quantity=int(i["quantity"]), unit_price=str(i["unit_price"])) for i in items],
        currency=currency.upper(),
        shipping_address=Address(**shipping_address),
        payment_id=payment_id,
        fingerprint=fingerprint,
        created_by_id=created_by_id,
        settings=process_settings(faults),
    )
    return _runner.run(_start(data))


def _repeat(order_id: str, known: str, fingerprint: str) -> StartResult:
    if known != fingerprint:
        raise OrderConflict(f"order {order_id} already exists with different data")
    return StartResult(order_id=order_id, workflow_id=order_workflow_id(order_id), created=False)


async def _start(data: OrderInput) -> StartResult:
    client = await _runner.client()
    workflow_id = order_workflow_id(data.order_id)
    try:
        await client.start_workflow(
            "OrderWorkflow",
            data,
            id=workflow_id,
            task_queue=settings.TEMPORAL_MAIN_TASK_QUEUE,
            # One workflow per order id, ever: a repeat, even after the first run closed, starts nothing.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            memo={"fingerprint": data.fingerprint},
        )
    except WorkflowAlreadyStartedError:
        description = await client.get_workflow_handle(workflow_id).describe()
        memo = await description.memo()
        return _repeat(data.order_id, memo.get("fingerprint", ""), data.fingerprint)
    return StartResult(order_id=data.order_id, workflow_id=workflow_id, created=True)


# --- messages -------------------------------------------------------------------------------


def approve(order_id: str, *, actor: str) -> MessageResult:
    return _message(order_id, "approve", ApproveRequest(actor=actor))


def cancel(order_id: str, *, actor: str, reason: str) -> MessageResult:
    return _message(order_id, "cancel", CancelRequest(reason=reason, actor=actor))


def update_address(order_id: str, *, actor: str, address: dict) -> MessageResult:
    return _message(order_id, "change_address", AddressUpdate(address=Address(**address), actor=actor))


class _NoRunningWorkflow(Exception):
    pass


def _message(order_id: str, update: str, arg: Any) -> MessageResult:
    try:
        return _runner.run(_update(order_id, update, arg))
    except _NoRunningWorkflow:
        status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
    if status is None:
        raise OrderNotFound(f"order {order_id} not found")
    raise MessageRejected(f"order already {status.replace('_', ' ')}")


async def _update(order_id: str, update: str, arg: Any) -> MessageResult:
    handle = await _handle(order_id)
    try:
        pending = await handle.start_update(
            update, arg, wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=MessageResult
        )
        # A validator's refusal is known at once; an accepted update is waited for, within bounds.
        result = await asyncio.wait_for(pending.result(), timeout=settings.TEMPORAL_UPDATE_WAIT)
    except WorkflowUpdateFailedError as exc:
        raise MessageRejected(getattr(exc.cause, "message", None) or str(exc.cause)) from exc
    except (asyncio.TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        # Accepted by the workflow (a refusal is known at once), but the outcome takes longer than we wait.
        return MessageResult(accepted=True, status=MessageResult.PROCESSING, detail="accepted; the order is still being processed")
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        raise _NoRunningWorkflow() from exc
    if not result.accepted:
        raise MessageRejected(result.detail or f"order is {result.status}")
    return result


# --- status ---------------------------------------------------------------------------------


def status(order_id: str) -> Optional[dict]:
    """The live state from the workflow's get_status query, or None when there is no running workflow
    (callers then read the database)."""
    return _runner.run(_status(order_id))


async def _status(order_id: str) -> Optional[dict]:
    handle = await _handle(order_id)
    try:
        state = await handle.query("get_status", result_type=WorkflowState)
        description = await handle.describe()
    except RPCError as exc:
        if exc.status in UNAVAILABLE_CODES:
            raise
        return None
    live = asdict(state)
    live["workflow_status"] = description.status.name if description.status else ""
    live["running"] = description.status == WorkflowExecutionStatus.RUNNING
    return live


# --- operations -----------------------------------------------------------------------------


def ping() -> None:
    """Raise TemporalUnavailable unless the server answers a health check."""

    async def check():
        healthy = await (await _runner.client()).service_client.check_health()
        if not healthy:
            raise TemporalUnavailable("Temporal reports it is not serving")

    _runner.run(check())


def task_queue_pollers(task_queue: str) -> list[str]:
    """The identities of the workers polling a task queue (workflow and activity pollers)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    async def describe():
        temporal = await _runner.client()
        identities = set()
        for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
            response = await temporal.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=settings.TEMPORAL_NAMESPACE, task_queue=TaskQueue(name=task_queue), task_queue_type=kind
                )
            )
            identities.update(p.identity for p in response.pollers)
        return sorted(identities)

    return _runner.run(describe())
