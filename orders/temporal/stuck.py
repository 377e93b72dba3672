"""Stuck orders: running, not in an expected wait (review, shipping backoff, a bulk hold), and not moved on for longer
than ORDER_STUCK_AFTER. The workflow publishes its step, when it last moved on and whether it waits as search
attributes (workflows/search_attributes.py), so one visibility query finds them; each one's get_status then says
the attempt of its step and the last error. `manage.py reconcile` reports them, /metrics counts them by reason
(orders/temporal/metrics.py) and the review dashboard lists them."""

import asyncio
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from django.conf import settings
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from orders.temporal import runner
from orders.temporal.errors import OrderClientError
from workflows.names import Messages
from workflows.search_attributes import ORDER_PROGRESS_AT, ORDER_STEP
from workflows.types import WorkflowState, order_workflow_id

LIMIT = 500  # the most stuck orders looked at in one pass
CONCURRENCY = 16
QUERY_TIMEOUT = 5.0
RECENT_FOR = 30.0  # seconds one look serves /metrics and the dashboard


class Reasons:
    RETRYING = "retrying"  # its step fails and is tried again; the last error says why
    NO_PROGRESS = "no_progress"  # no error, yet nothing moves it on (no worker takes its tasks, a lock held elsewhere)
    NO_ANSWER = "no_answer"  # its status query gets no answer (no worker, or none can replay it)
    ALL = (RETRYING, NO_PROGRESS, NO_ANSWER)


@dataclass(frozen=True)
class StuckOrder:
    order_id: str
    workflow_id: str
    step: str
    attempt: int
    error: str
    progress_at: Optional[datetime]
    reason: str

    @property
    def detail(self) -> str:
        since = f"since {self.progress_at:%Y-%m-%d %H:%M:%S} UTC" if self.progress_at else "for long"
        tried = f", attempt {self.attempt}: {self.error}" if self.error else (f", attempt {self.attempt}" if self.attempt > 1 else "")
        return f"stuck in {self.step or 'an unknown step'} {since} ({self.reason}{tried})"


def visibility_query(cutoff: datetime) -> str:
    return (
        f"WorkflowType='OrderWorkflow' AND TaskQueue='{settings.TEMPORAL_MAIN_TASK_QUEUE}' AND ExecutionStatus='Running'"
        f" AND OrderWaiting=false AND OrderProgressAt < '{cutoff.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}'"
    )


def stuck_orders(limit: int = LIMIT) -> list[StuckOrder]:
    """The stuck orders, oldest progress first. Raises TemporalUnavailable when Temporal does not answer."""
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=settings.ORDER_STUCK_AFTER)

    async def look() -> list[StuckOrder]:
        client = await runner.connected()
        listed = []
        async for execution in client.list_workflows(visibility_query(cutoff), limit=limit, page_size=min(limit, 1000)):
            attributes = execution.typed_search_attributes
            listed.append((execution.id, attributes.get(ORDER_STEP) or "", attributes.get(ORDER_PROGRESS_AT)))
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(workflow_id: str, step: str, progress_at: Optional[datetime]) -> Optional[StuckOrder]:
            order_id = workflow_id.removeprefix(order_workflow_id(""))
            handle = client.get_workflow_handle(workflow_id)
            try:
                async with gate:
                    state = await handle.query(Messages.GET_STATUS, result_type=WorkflowState, rpc_timeout=timedelta(seconds=QUERY_TIMEOUT))
            except (WorkflowQueryFailedError, RPCError) as exc:
                error = exc.message  # a worker's failure is encrypted with the payloads: then "Encoded failure"
                return StuckOrder(order_id, workflow_id, step, 1, f"no answer to its status query: {error}", progress_at, Reasons.NO_ANSWER)
            moved = _parse(state.progress_at)
            if state.waiting or (moved and moved >= cutoff):
                return None  # it moved on, or began to wait, since visibility was written
            reason = Reasons.RETRYING if state.step_error or state.step_attempt > 1 else Reasons.NO_PROGRESS
            return StuckOrder(order_id, workflow_id, state.step or step, state.step_attempt, state.step_error, moved or progress_at, reason)

        found = await asyncio.gather(*(one(*row) for row in listed))
        return sorted((o for o in found if o), key=lambda o: o.progress_at or cutoff)

    return runner.run(look(), timeout=settings.TEMPORAL_CLIENT_TIMEOUT + QUERY_TIMEOUT)


_recent: dict[tuple, tuple[float, Optional[list[StuckOrder]], Optional[Exception]]] = {}
_recent_lock = threading.Lock()


def recent() -> list[StuckOrder]:
    """stuck_orders() as found at most RECENT_FOR seconds ago (one look serves every scrape and page view in that
    time, in this process); raises that look's error when it got no answer."""
    key = (settings.TEMPORAL_ADDRESS, settings.TEMPORAL_NAMESPACE, settings.TEMPORAL_MAIN_TASK_QUEUE, settings.ORDER_STUCK_AFTER)
    with _recent_lock:
        at, found, error = _recent.get(key, (-RECENT_FOR, None, None))
        if time.monotonic() - at >= RECENT_FOR:
            try:
                found, error = stuck_orders(), None
            except OrderClientError as exc:
                found, error = None, exc
            _recent[key] = (time.monotonic(), found, error)
    if error is not None:
        raise error
    return found


def for_display() -> dict:
    """recent() for a page: {"orders": [...], "error": "why they are not known"}."""
    try:
        return {"orders": recent(), "error": ""}
    except OrderClientError as exc:
        return {"orders": [], "error": str(exc)}


def _parse(value: str) -> Optional[datetime]:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
