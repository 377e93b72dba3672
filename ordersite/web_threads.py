"""The threads of a web process under ASGI (ordersite/asgi.py, served by gunicorn's asgi worker).

Django runs synchronous code (a view, most middleware, the ORM) in threads. Left to itself, under ASGI, it starts a
new thread for every request, with no bound: under load every one of them would take a database connection at once.
And it hops between the event loop and that thread for each middleware, twice. Here:

- A request to a synchronous view (the admin, most of the API, the probes) waits for one of WEB_THREADS threads, on
  the event loop and holding nothing, and then runs there from its first middleware to its response in one go, as
  under a threaded WSGI server: at most WEB_THREADS such requests per process at once, the next one served by the
  first thread that is free.
- A request to an asynchronous view (GET /orders/{id}/status, whose ?wait may last a minute) has no thread of its
  own. Its short synchronous steps (middleware, authentication, reads of the order) run on one of a few threads that
  every such request shares (WEB_THREADS / 2, at least 2; the least busy one), and it waits on the event loop.

So a process uses at most WEB_THREADS + max(2, WEB_THREADS / 2) database connections: 12 by default. Each request
stays on one thread (Django's thread-sensitive code and the thread's database connection see one thread per
request), and Django closes the connection when the request ends, as with a threaded server.
"""

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, iscoroutinefunction, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import FileResponse
from django.urls import Resolver404, resolve

ASYNC_VIEW = "ordersite.async_view"  # in the scope: whether the request's view is asynchronous


def async_step_threads(web_threads: int) -> int:
    return max(2, web_threads // 2)


def is_async_view(scope) -> bool:
    try:
        match = resolve(scope["path"].removeprefix(scope.get("root_path", "") or ""))
    except Resolver404:
        return False
    return iscoroutinefunction(match.func)


class Threads:
    """WEB_THREADS threads, each for one request at a time; and the few that asynchronous views share."""

    def __init__(self, web_threads: int):
        self.web_threads = web_threads
        self._free = [ThreadPoolExecutor(1, thread_name_prefix=f"web-{n}") for n in range(web_threads)]
        self._shared = [ThreadPoolExecutor(1, thread_name_prefix=f"async-steps-{n}") for n in range(async_step_threads(web_threads))]
        self._load = [0] * len(self._shared)
        self._slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def own(self):
        """The request's thread-sensitive code runs on a thread of its own, once one is free."""
        async with self._semaphore():
            executor = self._free.pop()
            try:
                async with ThreadSensitiveContext(executor=executor):
                    yield
            finally:
                self._free.append(executor)

    @contextlib.asynccontextmanager
    async def shared(self):
        """The request's thread-sensitive code runs on the least busy of the shared threads."""
        index = min(range(len(self._shared)), key=self._load.__getitem__)
        self._load[index] += 1
        try:
            async with ThreadSensitiveContext(executor=self._shared[index]):
                yield
        finally:
            self._load[index] -= 1

    def _semaphore(self) -> asyncio.Semaphore:
        # One event loop per worker process; a semaphore belongs to the loop it is first used on.
        loop = asyncio.get_running_loop()
        if loop not in self._slots:
            self._slots = {loop: asyncio.Semaphore(self.web_threads)}
        return self._slots[loop]


class ThreadedASGIHandler(ASGIHandler):
    """Django's ASGI handler, its threads assigned as the module says: a synchronous view goes through the
    synchronous middleware chain in one call on its thread; an asynchronous view through the asynchronous chain."""

    def __init__(self, *, web_threads: int):
        super().__init__()
        self.threads = Threads(web_threads)
        self.sync_handler = BaseHandler()
        self.sync_handler.load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        view_is_async = is_async_view(scope)
        async with self.threads.shared() if view_is_async else self.threads.own():
            await self.handle({**scope, ASYNC_VIEW: view_is_async}, receive, send)

    async def run_get_response(self, request):
        if request.scope[ASYNC_VIEW]:
            return await super().run_get_response(request)
        response = await sync_to_async(self.sync_handler.get_response)(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response
