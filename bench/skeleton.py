"""The bare Temporal skeleton the benchmark compares the order system with: one workflow of 4 no-op activities and
1 signal (2 activities, the signal, 2 activities), no database, no web tier; its worker runs in its own process
(`python -m bench.skeleton ADDRESS TASK_QUEUE`), on a dev server started with the project's own flags."""

import asyncio
import sys
import time
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

WORKFLOW = "BenchSkeleton"


@activity.defn(name="noop")
async def noop(step: str) -> str:
    return step


@workflow.defn(name=WORKFLOW)
class Skeleton:
    def __init__(self) -> None:
        self._signalled = False

    @workflow.run
    async def run(self) -> None:
        for step in ("a", "b"):
            await workflow.execute_activity(noop, step, start_to_close_timeout=timedelta(seconds=30))
        await workflow.wait_condition(lambda: self._signalled)
        for step in ("c", "d"):
            await workflow.execute_activity(noop, step, start_to_close_timeout=timedelta(seconds=30))

    @workflow.signal
    def go(self) -> None:
        self._signalled = True


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address)
    async with Worker(client, task_queue=task_queue, workflows=[Skeleton], activities=[noop]):
        print("skeleton worker polling", flush=True)
        await asyncio.Event().wait()


async def drive(address: str, task_queue: str, orders: int, concurrency: int) -> dict:
    """Run `orders` skeleton workflows, `concurrency` at a time: start, signal, wait for the result."""
    client = await Client.connect(address)
    gate = asyncio.Semaphore(concurrency)
    times = []

    async def one() -> None:
        async with gate:
            began = time.monotonic()
            handle = await client.start_workflow(WORKFLOW, id=f"skeleton-{uuid.uuid4()}", task_queue=task_queue)
            await handle.signal("go")
            await handle.result()
            times.append(time.monotonic() - began)

    await asyncio.gather(*(one() for _ in range(min(concurrency, orders))))  # warm up
    times.clear()
    began = time.monotonic()
    await asyncio.gather(*(one() for _ in range(orders)))
    wall = time.monotonic() - began
    return {"orders": orders, "concurrency": concurrency, "seconds": round(wall, 2), "orders_per_second": round(orders / wall, 2), "times": times}


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
