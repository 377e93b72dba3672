"""The one place where Django code talks to Temporal: start an order, approve, cancel, change its address, read
its live status. Functions are synchronous (views, admin and commands are); the Temporal client lives on one
background event loop per process, created lazily so that forked web workers each get their own.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import gc
import os
import threading
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any, Optional

from django.conf import settings
from django.db.models import Q
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
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
from orders.temporal import errors
from orders.temporal.errors import (  # noqa: F401 (the client's errors, as callers know them)
    UNAVAILABLE_CODES,
    MessageRejected,
    OrderClientError,
    OrderConflict,
    OrderNotFound,
    OrderRefused,
    PaymentIdInUse,
    TemporalUnavailable,
    workflow_missing,
)
from workflows.connection import connect
from workflows.search_attributes import ORDER_STATUS
from workflows.types import (
    TERMINAL_STATUSES,
    Address,
    AddressUpdate,
    ApproveRequest,
    CancelRequest,
    ClaimRequest,
    CreationResult,
    ErrorTypes,
    FaultSettings,
    MessageResult,
    OrderInput,
    OrderItem,
    OrderStatus,
    ProcessSettings,
    RetrySettings,
    Roles,
    WorkflowState,
    default_payment_id,
    order_workflow_id,
)

OUTCOME_BATCH = 200
TERMINAL_VALUES = {status.value for status in TERMINAL_STATUSES}


@dataclass(frozen=True)
class StartResult:
    order_id: str
    workflow_id: str
    created: bool
    # The workflow runs but has not written the order yet (no worker has taken it within TEMPORAL_UPDATE_WAIT).
    pending: bool = False


def process_settings(faults: Optional[FaultSettings] = None) -> ProcessSettings:
    return ProcessSettings(
        faults=faults,
        review_escalate_after_seconds=settings.REVIEW_ESCALATE_AFTER,
        review_timeout_seconds=settings.REVIEW_TIMEOUT,
        review_claim_ttl_seconds=settings.REVIEW_CLAIM_TTL,
        four_eyes_amount=settings.FOUR_EYES_AMOUNT,
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

    def run(self, coro, timeout: Optional[float] = None) -> Any:
        """Run coro on the client's loop, within `timeout` seconds (default TEMPORAL_CLIENT_TIMEOUT)."""
        timeout = timeout or settings.TEMPORAL_CLIENT_TIMEOUT
        # The caller's context goes with the call (its trace span, so that the Temporal calls join its trace).
        context = contextvars.copy_context()
        future = asyncio.run_coroutine_threadsafe(self._in_context(context, self._guard(coro, timeout)), self.loop())
        return future.result(timeout=timeout + 5)

    @staticmethod
    async def _in_context(context: contextvars.Context, coro):
        return await asyncio.get_running_loop().create_task(coro, context=context)

    async def _guard(self, coro, timeout: float):
        try:
            return await asyncio.wait_for(coro, timeout=timeout)
        except asyncio.TimeoutError as exc:
            raise TemporalUnavailable("Temporal did not answer in time") from exc
        except RPCError as exc:
            raise errors.translate(exc) from exc


_runner = _Runner()
run, connected = _runner.run, _runner.client  # the same loop and client, for orders/temporal/


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
    """Start an order's workflow and answer once its first step has written and validated the row (see the
    README's "Creation"): one update-with-start call, no polling.

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
            "await_creation",
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


# --- messages -------------------------------------------------------------------------------


# An idempotency key (the API's Idempotency-Key header) makes the update id: a retry with the same key after
# "outcome unknown" is the same update to Temporal, which answers it with the first one's outcome instead of
# judging it as a second decision. Without a key, every call is a new decision.
def approve(order_id: str, *, actor: str, note: str = "", role: str = Roles.REVIEWER, idempotency_key: str = "") -> MessageResult:
    request = ApproveRequest(actor=actor, note=note, role=role)
    return _message(order_id, "approve", request, _update_id("approve", actor, idempotency_key))


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
    return _message(order_id, "cancel", request, _update_id("cancel", actor, idempotency_key))


def claim(order_id: str, *, actor: str, take_over: bool = False) -> MessageResult:
    """Claim an order for review for REVIEW_CLAIM_TTL; take_over (for holders of orders.take_over_review) takes it
    from another reviewer."""
    return _message(order_id, "claim", ClaimRequest(actor=actor, take_over=take_over))


def release(order_id: str, *, actor: str, take_over: bool = False) -> MessageResult:
    return _message(order_id, "release", ClaimRequest(actor=actor, take_over=take_over))


def update_address(order_id: str, *, actor: str, address: dict, idempotency_key: str = "") -> MessageResult:
    update = AddressUpdate(address=Address(**address), actor=actor)
    return _message(order_id, "change_address", update, _update_id("change_address", actor, idempotency_key))


def _update_id(update: str, actor: str, idempotency_key: str) -> Optional[str]:
    return f"{update}:{actor}:{idempotency_key}" if idempotency_key else None


class IdempotencyKeyReused(OrderClientError):
    """The idempotency key was sent before with a different request (IETF Idempotency-Key draft: 422)."""


async def _refuse_reused_key(handle, update_id: str, arg: Any) -> None:
    """A key names one request. The first is found among the updates the run accepted (one the validator refused
    left nothing to repeat, so its key is free)."""
    async for event in handle.fetch_history_events():
        if not event.HasField("workflow_execution_update_accepted_event_attributes"):
            continue
        request = event.workflow_execution_update_accepted_event_attributes.accepted_request
        if request.meta.update_id == update_id:
            converter = (await _runner.client()).data_converter
            (first,) = await converter.decode(request.input.args.payloads, [type(arg)])
            if first != arg:
                raise IdempotencyKeyReused("this Idempotency-Key was sent before with a different request; use a new key")
            return


class _NoRunningWorkflow(Exception):
    pass


def _message(order_id: str, update: str, arg: Any, update_id: Optional[str] = None) -> MessageResult:
    try:
        return _runner.run(_update(order_id, update, arg, update_id, keyed=update_id is not None))
    except _NoRunningWorkflow:
        status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
    if status is None:
        raise OrderNotFound(f"order {order_id} not found")
    raise MessageRejected(_closed_refusal(status))


def _closed_refusal(status: str) -> str:
    return f"order already {status.replace('_', ' ')}"


async def _update(
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
    handle = await _handle(order_id)
    wait = wait or settings.TEMPORAL_UPDATE_WAIT
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait

    async def accepted():
        async with sending or contextlib.nullcontext():
            return await handle.start_update(
                update,
                replace(arg, hold_seconds=round(max(0.0, deadline - loop.time()), 3)) if hold else arg,
                id=update_id,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                result_type=MessageResult,
                rpc_timeout=timedelta(seconds=max(0.1, deadline - loop.time())),
            )

    try:
        if keyed:  # the update id is the client's idempotency key
            await _refuse_reused_key(handle, update_id, arg)
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
        raise _NoRunningWorkflow() from exc
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


# --- many at once -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkOutcome:
    DONE, PROCESSING, REFUSED, UNKNOWN = "done", "processing", "refused", "unknown"

    order_id: str
    outcome: str
    detail: str = ""


def decide_many(order_ids: list[str], update: str, request: Any) -> list[BulkOutcome]:
    """Send the same decision (update `update` with argument `request`) to many orders at once, at most
    BULK_REVIEW_CONCURRENCY at a time on the client's loop, within BULK_REVIEW_BUDGET seconds in all. Each order's
    validator answers for it: done (its outcome is known), processing (accepted, outcome still running), refused
    (with the reason) or unknown (not taken in time: nothing is known, try again). When there are more orders than
    are sent at once, the decisions come first: what they set going (payments, shipments) starts when the budget is
    over (workflows/order/review.py, Review.answer_first), instead of slowing down the acceptance of the rest."""
    budget = settings.BULK_REVIEW_BUDGET
    request = replace(request, bulk=True)
    hold = len(order_ids) > settings.BULK_REVIEW_CONCURRENCY
    # One id per order for the same reviewer's bulk decision: repeating the action on an order whose decision was
    # accepted after the answer went out gets that decision's outcome again, not a refusal of a second one.
    update_id = _update_id(update, request.actor, "bulk")

    async def decide() -> list[BulkOutcome]:
        loop = asyncio.get_running_loop()
        deadline, gate = loop.time() + budget, asyncio.Semaphore(settings.BULK_REVIEW_CONCURRENCY)

        async def one(order_id: str) -> BulkOutcome:
            remaining = deadline - loop.time()
            try:
                # Bounded while it is sent (until its validator answers); its outcome is then awaited apart.
                result = await _update(order_id, update, request, update_id, wait=remaining, sending=gate, hold=hold)
            except MessageRejected as exc:
                return BulkOutcome(order_id, BulkOutcome.REFUSED, str(exc))
            except _NoRunningWorkflow:
                return BulkOutcome(order_id, BulkOutcome.REFUSED, "")  # closed: the database says how
            except (TemporalUnavailable, RPCError) as exc:
                return BulkOutcome(order_id, BulkOutcome.UNKNOWN, str(exc))
            if result.still_processing:
                return BulkOutcome(order_id, BulkOutcome.PROCESSING, result.detail)
            return BulkOutcome(order_id, BulkOutcome.DONE, result.detail)

        return await asyncio.gather(*(one(order_id) for order_id in order_ids))

    outcomes = _runner.run(decide(), timeout=budget + 5)
    closed = [o.order_id for o in outcomes if o.outcome == BulkOutcome.REFUSED and not o.detail]
    statuses = dict(Order.objects.filter(pk__in=closed).values_list("pk", "status"))
    return [
        BulkOutcome(o.order_id, o.outcome, _closed_refusal(statuses[o.order_id]) if o.order_id in statuses else "order not found")
        if o.order_id in closed
        else o
        for o in outcomes
    ]


# --- status ---------------------------------------------------------------------------------


def status(order_id: str) -> Optional[dict]:
    """The live state from the workflow's get_status query (one call), or None when there is no workflow
    (callers then read the database). `running` is False once the workflow has reached a final status."""
    return _runner.run(_status(order_id))


async def _status(order_id: str) -> Optional[dict]:
    handle = await _handle(order_id)
    try:
        state = await handle.query("get_status", result_type=WorkflowState)
    except WorkflowQueryFailedError as exc:  # e.g. no worker can replay it
        raise errors.StatusUnknown(f"the order's workflow does not answer its status query: {exc.message}") from exc
    except RPCError as exc:
        if not workflow_missing(exc):
            raise
        return None
    return {**asdict(state), "running": state.status not in TERMINAL_VALUES}


def wait_until_closed(order_id: str, timeout: float) -> bool:
    """Wait, without polling, until the order's workflow has closed (Temporal long-polls for the close event),
    for at most `timeout` seconds. True when it has closed (or there is none)."""

    async def wait() -> bool:
        handle = await _handle(order_id)
        try:
            await asyncio.wait_for(handle.result(), timeout=timeout)
        except asyncio.TimeoutError:
            return False
        except WorkflowFailureError:
            return True
        except RPCError as exc:
            if not workflow_missing(exc):
                raise
        return True

    return _runner.run(wait(), timeout=timeout + settings.TEMPORAL_CLIENT_TIMEOUT)


def order_workflows(order_ids: Optional[list[str]] = None, concurrency: int = 32) -> dict:
    """What Temporal knows of orders (orders.audit.WorkflowView by order id; none for an id without a workflow):
    every order workflow (the latest run of each id), or only those of `order_ids`. Asked with bounded concurrency
    on the client's loop."""
    from orders.audit import WorkflowView

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
            handle = client.get_workflow_handle(order_workflow_id(order_id), result_type=WorkflowState)
            async with gate:
                try:
                    if execution_status is None:
                        description = await handle.describe()
                        execution_status = description.status.name if description.status else "UNKNOWN"
                    if execution_status == "RUNNING":
                        state = await handle.query("get_status", result_type=WorkflowState, rpc_timeout=timedelta(seconds=5))
                        return WorkflowView(execution_status, state.status)
                    if execution_status == "COMPLETED":
                        return WorkflowView(execution_status, (await handle.result()).status)
                    if execution_status == "FAILED":
                        try:
                            await handle.result()
                        except WorkflowFailureError as exc:
                            return WorkflowView(execution_status, failure_type=getattr(exc.cause, "type", "") or "")
                    return WorkflowView(execution_status)
                except WorkflowQueryFailedError as exc:
                    return WorkflowView(execution_status, f"no answer to its status query ({exc.message})")
                except RPCError as exc:
                    if workflow_missing(exc):
                        return None
                    if exc.status in UNAVAILABLE_CODES and execution_status != "RUNNING":
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
