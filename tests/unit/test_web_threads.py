"""The web tier's threads under ASGI (ordersite/web_threads.py): synchronous views share WEB_THREADS threads per
process, asynchronous views (the waits) hold none while they wait, and no middleware forces an asynchronous view
into a thread."""

import asyncio
import json
import threading

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.utils.module_loading import import_string

from ordersite.web_threads import ThreadedASGIHandler, Threads, async_step_threads


class Steps:
    """Synchronous steps standing in for Django's: each records its thread and how many ran at once; a blocking one
    lasts until `release`."""

    def __init__(self):
        self.release = threading.Event()
        self.running = self.most = 0
        self.threads: list[str] = []
        self.lock = threading.Lock()

    def step(self, block: bool = False) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.threads.append(threading.current_thread().name.split("_")[0])
        if block:
            self.release.wait(timeout=10)
        with self.lock:
            self.running -= 1


async def until(condition) -> None:
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.mark.asyncio(loop_scope="function")
async def test_synchronous_views_run_at_most_web_threads_at_once_each_on_a_thread_of_its_own():
    threads, steps = Threads(web_threads=2), Steps()

    async def view():
        async with threads.own():
            await sync_to_async(steps.step)(block=True)

    requests = [asyncio.ensure_future(view()) for _ in range(5)]
    await until(lambda: steps.running == 2)
    await asyncio.sleep(0.1)  # room for a third to start, if it could
    most_before_release = steps.most
    steps.release.set()
    await asyncio.gather(*requests)

    assert most_before_release == 2
    assert set(steps.threads) == {"web-0", "web-1"}


@pytest.mark.asyncio(loop_scope="function")
async def test_waits_hold_no_thread_while_they_wait():
    threads, steps = Threads(web_threads=2), Steps()
    end_waits, waiting = asyncio.Event(), []

    async def wait():
        async with threads.shared():
            await sync_to_async(steps.step)()
            waiting.append(1)
            await end_waits.wait()
            await sync_to_async(steps.step)()

    async def view():
        async with threads.own():
            await sync_to_async(steps.step)()

    waits = [asyncio.ensure_future(wait()) for _ in range(10)]
    await until(lambda: len(waiting) == 10)
    # More waits open than the process has threads, and a synchronous view is answered meanwhile.
    await asyncio.wait_for(view(), timeout=5)
    answered_while_waiting = not any(w.done() for w in waits)
    end_waits.set()
    await asyncio.gather(*waits)

    assert answered_while_waiting
    shared = [name for name in steps.threads if name.startswith("async-steps")]
    assert len(shared) == 20 and set(shared) == {f"async-steps-{n}" for n in range(async_step_threads(2))}


async def get(application, path: str) -> tuple[int, bytes]:
    scope = {
        "type": "http", "method": "GET", "path": path, "root_path": "", "query_string": b"", "headers": [],
        "http_version": "1.1", "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 1234),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=10)
    body = await communicator.receive_output(timeout=10)
    await communicator.wait(timeout=10)
    return start["status"], body["body"]


@pytest.mark.asyncio(loop_scope="function")
async def test_the_handler_serves_synchronous_and_asynchronous_views():
    application = ThreadedASGIHandler(web_threads=2)

    assert await get(application, "/healthz") == (200, b'{"status": "ok"}')
    status, body = await get(application, "/orders/o-1/status")  # the API's async view, anonymous
    assert status == 401 and json.loads(body)["error"] == "not_authenticated"


def test_no_middleware_forces_an_asynchronous_view_into_a_thread():
    for path in settings.MIDDLEWARE:
        assert getattr(import_string(path), "async_capable", False), f"{path} is synchronous only"
    assert asyncio.iscoroutinefunction(ASGIHandler()._middleware_chain)
