"""The workers: main-tq runs OrderWorkflow and its activities, shipping-tq runs ShippingWorkflow and its own."""

import asyncio
import compileall
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import workflows
from orders.temporal import activities, readiness
from orders.temporal.connection import connect, metrics_runtime
from workflows.order import OrderWorkflow
from workflows.shipping import ShippingWorkflow

log = logging.getLogger(__name__)

QUEUES = ("main", "shipping")

shipping = activities.shipping
SHIPPING_ACTIVITIES = [shipping.prepare_package, shipping.dispatch_carrier, shipping.record_shipping_step]
MAIN_ACTIVITIES = [a for a in activities.ALL if a not in SHIPPING_ACTIVITIES] + [shipping.record_shipping_step]


@dataclass(frozen=True)
class WorkerOptions:
    queues: tuple[str, ...] = QUEUES
    max_concurrent_activities: int = 20
    max_concurrent_workflow_tasks: int = 50


def compile_workflow_code() -> None:
    """Write the bytecode of the workflow modules. The sandbox imports them afresh for every new workflow run; with
    no bytecode on disk (PYTHONDONTWRITEBYTECODE, a fresh checkout) each import would compile the source again."""
    try:
        compileall.compile_dir(Path(workflows.__file__).parent, quiet=2)
    except OSError as exc:  # a read-only tree: the image should have compiled it at build time
        log.warning("could not write the workflows' bytecode: %s", exc)


def workflow_runner() -> WorkflowRunner:
    """The sandbox re-imports the workflow code for every run and wraps every activation, to catch non-deterministic
    calls as they happen; it costs about a third of the worker's CPU. The test suite runs every workflow path inside
    it (tests/workflows/test_workflows.py, test_workflow_races.py, test_replay.py), so WORKFLOW_SANDBOX=0 runs production
    workers without it."""
    return SandboxedWorkflowRunner() if settings.WORKFLOW_SANDBOX else UnsandboxedWorkflowRunner()


def build_workers(client: Client, options: WorkerOptions) -> list[Worker]:
    compile_workflow_code()
    workers = []
    for queue in options.queues:
        main = queue == "main"
        workers.append(
            Worker(
                client,
                task_queue=settings.TEMPORAL_MAIN_TASK_QUEUE if main else settings.TEMPORAL_SHIPPING_TASK_QUEUE,
                workflows=[OrderWorkflow] if main else [ShippingWorkflow],
                activities=MAIN_ACTIVITIES if main else SHIPPING_ACTIVITIES,
                # The Django ORM is synchronous: activities run in threads.
                activity_executor=ThreadPoolExecutor(max_workers=options.max_concurrent_activities),
                workflow_runner=workflow_runner(),
                max_concurrent_activities=options.max_concurrent_activities,
                max_concurrent_workflow_tasks=options.max_concurrent_workflow_tasks,
            )
        )
    return workers


async def connect_with_retry(stop: asyncio.Event, max_delay: float = 30.0, report=log.warning) -> Client | None:
    """Keep trying to reach Temporal with exponential backoff, until connected or asked to stop."""
    delay = 1.0
    runtime = metrics_runtime()
    while not stop.is_set():
        try:
            return await connect(runtime=runtime)
        except Exception as exc:  # the SDK raises RuntimeError for connection failures
            report(f"Temporal is unreachable at {settings.TEMPORAL_ADDRESS} ({exc}); retrying in {delay:.0f}s")
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
            delay = min(delay * 2, max_delay)
    return None


async def run(options: WorkerOptions, stop: asyncio.Event, report=log.warning) -> None:
    """Run the workers until `stop` is set, then shut them down gracefully (in-flight activities finish)."""
    client = await connect_with_retry(stop, report=report)
    if client is None or not await readiness.wait_until_usable(client, stop):
        return
    workers = build_workers(client, options)
    log.info("workers polling %s", ", ".join(w.task_queue for w in workers))
    if settings.WORKER_METRICS_PORT:
        log.info("worker metrics on http://%s:%s/metrics", settings.WORKER_METRICS_HOST, settings.WORKER_METRICS_PORT)
    runs = [asyncio.create_task(w.run()) for w in workers]
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*runs, stopped], return_when=asyncio.FIRST_COMPLETED)
    await asyncio.gather(*(w.shutdown() for w in workers))
    for task in runs:
        if task.done() and task.exception():
            raise task.exception()
