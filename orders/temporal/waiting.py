"""Reading and waiting on an order's workflow from the web tier's event loop (GET /orders/{id}/status?wait=N): no
thread is held while Temporal long-polls for the workflow's close. Waits on the same order in one process share one
long poll. The synchronous counterparts, for views, the admin and commands, are in reading.py.
"""

import asyncio
import contextvars
import weakref
from dataclasses import dataclass, field
from typing import Optional

from django.conf import settings
from temporalio.client import Client

from orders.temporal import errors, reading
from orders.temporal.connection import connect
from workflows.types import order_workflow_id


@dataclass
class _Shared:
    """One long poll for the close of an order's workflow, and how many requests await it."""

    task: asyncio.Task
    waiters: int = 0


@dataclass
class _Loop:
    """What one event loop holds (one per web process; tests run one per request)."""

    client: Optional[Client] = None
    target: tuple = ()
    connecting: asyncio.Lock = field(default_factory=asyncio.Lock)
    waits: dict[str, _Shared] = field(default_factory=dict)


_loops: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop]" = weakref.WeakKeyDictionary()


def _here() -> _Loop:
    loop = asyncio.get_running_loop()
    if loop not in _loops:
        _loops[loop] = _Loop()
    return _loops[loop]


async def _client() -> Client:
    here = _here()
    target = (settings.TEMPORAL_ADDRESS, settings.TEMPORAL_NAMESPACE)
    async with here.connecting:
        if here.client is None or here.target != target:
            try:
                here.client = await connect()
            except Exception as exc:  # the SDK raises RuntimeError when it can't connect
                raise errors.TemporalUnavailable(f"Temporal is unreachable at {settings.TEMPORAL_ADDRESS}: {exc}") from exc
            here.target = target
    return here.client


async def until_closed(order_id: str, timeout: float) -> bool:
    """Wait until the order's workflow has closed (or there is none), for at most `timeout` seconds; False when the
    time ran out first. A Temporal that fails meanwhile raises the client's errors (orders/temporal/errors.py)."""
    here = _here()
    shared = here.waits.get(order_id)
    if shared is None:
        # A context of its own: the poll serves every request waiting on the order, and outlives the first one.
        task = asyncio.get_running_loop().create_task(_closed(order_id), context=contextvars.Context())
        shared = here.waits[order_id] = _Shared(task)
        task.add_done_callback(lambda done: _forget(here, order_id, shared))
    shared.waiters += 1
    try:
        return await asyncio.wait_for(asyncio.shield(shared.task), timeout)
    except asyncio.TimeoutError:
        return False
    finally:
        shared.waiters -= 1
        if not shared.waiters:  # nobody waits on it any more: the next request starts a new poll
            _forget(here, order_id, shared)
            shared.task.cancel()


def _forget(here: _Loop, order_id: str, shared: _Shared) -> None:
    if here.waits.get(order_id) is shared:
        del here.waits[order_id]
    if shared.task.done() and not shared.task.cancelled():
        shared.task.exception()  # seen by its waiters, if any are left; never "never retrieved"


async def _closed(order_id: str) -> bool:
    return await reading.closed((await _client()).get_workflow_handle(order_workflow_id(order_id)))


async def live_status(order_id: str) -> Optional[dict]:
    """The live state from the workflow's get_status query, or None when there is no workflow (the database then
    answers alone). `running` is False once the workflow has reached a final status."""
    workflow = (await _client()).get_workflow_handle(order_workflow_id(order_id))
    timeout = settings.TEMPORAL_CLIENT_TIMEOUT
    try:
        return await asyncio.wait_for(reading.ask_status(workflow, rpc_timeout=timeout), timeout)
    except asyncio.TimeoutError as exc:
        raise errors.TemporalUnavailable("Temporal did not answer in time") from exc
