"""Starting an order's workflow: one update-with-start call that answers once the first step has written the row."""

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

from django.conf import settings
from django.db.models import Q
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from orders.models import Order
from orders.services import order_fingerprint
from orders.temporal.errors import (
    OrderClientError,
    OrderConflict,
    OrderRefused,
    PaymentIdInUse,
    TemporalUnavailable,
    workflow_missing,
)
from orders.temporal.runner import _runner
from orders.temporal.snapshot import process_settings
from workflows.names import Messages
from workflows.search_attributes import ORDER_STATUS
from workflows.types import (
    Address,
    CreationResult,
    ErrorTypes,
    FaultSettings,
    OrderInput,
    OrderItem,
    OrderStatus,
    default_payment_id,
    order_workflow_id,
)


@dataclass(frozen=True)
class StartResult:
    order_id: str
    workflow_id: str
    created: bool
    # The workflow runs but has not written the order or held its payment within TEMPORAL_UPDATE_WAIT (no worker has
    # taken it yet, or the gateway is slow).
    pending: bool = False


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
    """Start an order's workflow and answer once its first steps have written and validated the row and held its
    payment (see docs/api.md, "Start"): one update-with-start call, no polling.

    Starting the same order again, even concurrently or after it finished, returns the existing order; the same
    id with different data raises OrderConflict, a payment id of another order PaymentIdInUse, and an order its
    first step refused OrderConflict or OrderRefused with the reason, on every repeat too. It never answers for
    an order that does not exist: a workflow that has not written its row in time gives `pending`.
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
    known = _known_start(order_id, payment_id, fingerprint)
    if known:
        return known
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
    started = _runner.run(_start(data))
    if started is not None:
        return started
    # The id belongs to a workflow that has closed: it either wrote its row, or says why it could not.
    return _known_start(order_id, payment_id, fingerprint) or _runner.run(_closed_start(order_id, fingerprint))


def _known_start(order_id: str, payment_id: str, fingerprint: str) -> Optional[StartResult]:
    """What the database already says of this start: a repeat, a conflict, or nothing yet."""
    rows = dict(Order.objects.filter(Q(pk=order_id) | Q(payment_id=payment_id)).values_list("pk", "fingerprint"))
    if order_id in rows:
        if rows[order_id] != fingerprint:
            raise OrderConflict(f"order {order_id} already exists with different data")
        return StartResult(order_id=order_id, workflow_id=order_workflow_id(order_id), created=False)
    if rows:
        raise PaymentIdInUse(f"payment id {payment_id} is already used by another order")
    return None


async def _start(data: OrderInput) -> Optional[StartResult]:
    """Start the workflow, or join the running one, with the `await_creation` update. None when the id belongs to
    a workflow that has closed (ids are never reused)."""
    client = await _runner.client()
    workflow_id = order_workflow_id(data.order_id)
    operation = WithStartWorkflowOperation(
        "OrderWorkflow",
        data,
        id=workflow_id,
        task_queue=settings.TEMPORAL_MAIN_TASK_QUEUE,
        # One workflow per order id, ever: a repeat joins the running one, and starts nothing once it has closed.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        memo={"fingerprint": data.fingerprint},
        search_attributes=TypedSearchAttributes([SearchAttributePair(ORDER_STATUS, OrderStatus.RECEIVED.value)]),
    )
    deadline = asyncio.get_running_loop().time() + settings.TEMPORAL_UPDATE_WAIT
    pending = StartResult(order_id=data.order_id, workflow_id=workflow_id, created=True, pending=True)
    try:
        update = await client.start_update_with_start_workflow(
            Messages.AWAIT_CREATION,
            start_workflow_operation=operation,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=CreationResult,
            rpc_timeout=timedelta(seconds=settings.TEMPORAL_UPDATE_WAIT),
        )
    except WorkflowAlreadyStartedError:
        with contextlib.suppress(Exception):  # the operation holds the same error; take it, so it is not logged
            await operation.workflow_handle()
        return None
    except RPCError:  # e.g. the namespace lacks the search attributes; the operation holds the same error
        with contextlib.suppress(Exception):
            await operation.workflow_handle()
        raise
    except (WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowUpdateFailedError):
        with contextlib.suppress(Exception):  # the operation holds the same error; take it, so it is not logged
            await operation.workflow_handle()
        # Not taken in time (no worker yet, or a backlog): say so only if the workflow really runs.
        if await _is_running(client, workflow_id):
            return pending
        raise TemporalUnavailable("Temporal did not take the order in time; retry")
    try:
        created = await asyncio.wait_for(update.result(), timeout=max(0.0, deadline - asyncio.get_running_loop().time()))
    except (asyncio.TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        return pending  # taken, but its first step has not written the row yet (e.g. the database is down)
    if created.fingerprint != data.fingerprint:
        raise OrderConflict(f"order {data.order_id} already exists with different data")
    if created.refusal:
        raise _refusal(created.refusal_type, created.refusal)
    return StartResult(order_id=data.order_id, workflow_id=workflow_id, created=created.first)


async def _is_running(client: Client, workflow_id: str) -> bool:
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as exc:
        if workflow_missing(exc):
            return False
        raise
    return description.status == WorkflowExecutionStatus.RUNNING


async def _closed_start(order_id: str, fingerprint: str) -> StartResult:
    """A workflow that closed without writing its row: raise what it said, the same way on every repeat."""
    handle = (await _runner.client()).get_workflow_handle(order_workflow_id(order_id))
    description = await handle.describe()
    if (await description.memo()).get("fingerprint", "") != fingerprint:
        raise OrderConflict(f"order id {order_id} was used by an earlier request with different data")
    try:
        await handle.result()
    except WorkflowFailureError as exc:
        raise _refusal(getattr(exc.cause, "type", ""), getattr(exc.cause, "message", "") or str(exc.cause)) from exc
    status = description.status.name.lower() if description.status else "closed"
    raise OrderConflict(f"order {order_id} was never created: its workflow ended {status}")


def _refusal(error_type: str, reason: str) -> OrderClientError:
    kinds = {ErrorTypes.PAYMENT_ID_IN_USE: PaymentIdInUse, ErrorTypes.CONFLICT: OrderConflict}
    return kinds.get(error_type, OrderRefused)(reason)
