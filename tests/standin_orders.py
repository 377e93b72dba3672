"""A stand-in for OrderWorkflow on the dev server: a real workflow, registered under the same name on the test's
main task queue, that publishes the progress search attributes it is given and answers get_status (or fails to) and
claims as it is told. For the Django side's views of Temporal (stuck orders, failed queries, refused updates)
without driving the real order process into those states."""

import asyncio
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from django.conf import settings
from temporalio import workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from orders.temporal.connection import connect
from workflows.search_attributes import ORDER_PROGRESS_AT, ORDER_STEP, ORDER_WAITING
from workflows.types import ClaimRequest, MessageResult, WorkflowState, order_workflow_id


@dataclass
class StandIn:
    step: str
    progress_at: str  # ISO 8601, with its offset
    waiting: bool = False
    state: Optional[WorkflowState] = None  # what get_status answers; None: the query fails


@workflow.defn(name="OrderWorkflow", sandboxed=False)
class StandInOrder:
    @workflow.init
    def __init__(self, arg: StandIn) -> None:
        self.arg = arg

    @workflow.run
    async def run(self, arg: StandIn) -> None:
        workflow.upsert_search_attributes(
            [
                ORDER_STEP.value_set(arg.step),
                ORDER_PROGRESS_AT.value_set(datetime.fromisoformat(arg.progress_at)),
                ORDER_WAITING.value_set(arg.waiting),
            ]
        )
        await workflow.wait_condition(lambda: False)

    @workflow.query
    def get_status(self) -> WorkflowState:
        if self.arg.state is None:
            raise RuntimeError("this worker cannot replay the run")
        return self.arg.state

    @workflow.update
    def claim(self, request: ClaimRequest) -> MessageResult:
        return MessageResult(accepted=True, status="awaiting_review", detail=f"claimed by {request.actor}")


class StandInWorker:
    """A worker for StandInOrder on its own event loop in a thread, with the Django side's connection settings."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._client = self._run(connect())
        self._worker = Worker(
            self._client,
            task_queue=settings.TEMPORAL_MAIN_TASK_QUEUE,
            workflows=[StandInOrder],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )
        self._running = asyncio.run_coroutine_threadsafe(self._worker.run(), self._loop)

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def start(self, order_id: str, arg: StandIn) -> None:
        self._run(
            self._client.start_workflow(
                StandInOrder.run, arg, id=order_workflow_id(order_id), task_queue=settings.TEMPORAL_MAIN_TASK_QUEUE
            )
        )

    def stop(self) -> None:
        self._run(self._worker.shutdown())
        self._running.result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
