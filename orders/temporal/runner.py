"""The Temporal client of this process, on one background event loop: views, the admin and commands are synchronous
and hand their calls to it. The loop is created lazily, so that forked web workers each get their own."""

import asyncio
import atexit
import contextvars
import gc
import os
import threading
from typing import Any, Optional

from django.conf import settings
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from orders.temporal import errors
from orders.temporal.connection import connect
from workflows.types import order_workflow_id


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
                raise errors.TemporalUnavailable(f"Temporal is unreachable at {settings.TEMPORAL_ADDRESS}: {exc}") from exc
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
            raise errors.TemporalUnavailable("Temporal did not answer in time") from exc
        except RPCError as exc:
            raise errors.translate(exc) from exc


_runner = _Runner()
run, connected = _runner.run, _runner.client


async def handle(order_id: str) -> WorkflowHandle:
    """The handle of the order's workflow (its latest run)."""
    return (await _runner.client()).get_workflow_handle(order_workflow_id(order_id))
