"""GET /orders/{id}/status (?wait=N), served on the event loop: a client waiting up to a minute for its order's
outcome holds no thread (ordersite/web_threads.py).

The route is the orders API's own: DRF authenticates, checks permissions and throttles it, and maps errors to the
API's JSON shapes, exactly as for every other action of OrderViewSet. Only those short synchronous steps run in a
thread; the wait on Temporal (orders/temporal/waiting.py) and its status query are awaited on the loop.

Each client may have ORDER_WAITS_PER_CLIENT waits open at once; one more is refused with 429 and Retry-After, and a
wait that was let in is held to its end. Waits are counted in the cache (CACHE_URL): with a shared cache (redis,
memcached, dbcache) the count is one across web processes and hosts; with the default per-process memory cache,
each web process counts its own.
"""

import asyncio
import math
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from orders import selectors
from orders.api import serializers as s
from orders.api.errors import ServiceUnavailable
from orders.api.views import OrderViewSet
from orders.models import Order
from orders.temporal import waiting
from orders.unavailable import Outage


class TooManyWaits(exceptions.Throttled):
    default_code = "too_many_waits"


class WaitSlots:
    """A client's open waits, as ORDER_WAITS_PER_CLIENT slots in the cache. A wait takes a free slot with an atomic
    add, holding the time its wait ends, and gives it back when it ends; a slot whose process died frees itself
    once the wait it held would have ended."""

    PREFIX = "order-waits"
    SLACK = 10.0  # seconds a slot outlives its wait: the wait's own steps around it

    @classmethod
    def take(cls, *, client_id: int, seconds: float) -> str:
        cap = settings.ORDER_WAITS_PER_CLIENT
        keys = [f"{cls.PREFIX}:{client_id}:{n}" for n in range(cap)]
        now = time.time()
        held = cache.get_many(keys)
        for key in keys:
            if key not in held and cache.add(key, now + seconds, timeout=seconds + cls.SLACK):
                return key
        first_free = min(held.values(), default=now + 1)
        raise TooManyWaits(
            wait=max(1, math.ceil(first_free - now)),
            detail=f"This client has {cap} waits open, as many as it may have at once (ORDER_WAITS_PER_CLIENT).",
        )

    @classmethod
    def give_back(cls, key: str) -> None:
        cache.delete(key)


class OrderStatusView(OrderViewSet):
    """OrderViewSet's status action, dispatched as DRF dispatches it but awaiting where it waits."""

    ACTIONS = {"get": "status", "head": "status"}

    @classmethod
    def as_async_view(cls):
        async def view(request, *args, **kwargs):
            self = cls()
            self.action_map = cls.ACTIONS
            for method, action in cls.ACTIONS.items():
                setattr(self, method, getattr(self, action))
            return await self.dispatch_async(request, *args, **kwargs)

        # What DRF's as_view() exposes, so that drf-spectacular documents the route with the action's schema.
        view.cls, view.initkwargs, view.actions = cls, {}, {"get": "status"}
        view.csrf_exempt = True
        return markcoroutinefunction(view)

    async def dispatch_async(self, request, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        request = self.request = self.initialize_request(request, *args, **kwargs)
        self.headers = self.default_response_headers
        try:
            await sync_to_async(self.initial)(request, *args, **kwargs)
            method = request.method.lower()
            handler = getattr(self, method, None) if method in self.http_method_names else None
            handler = handler or self.http_method_not_allowed
            if iscoroutinefunction(handler):
                response = await handler(request, *args, **kwargs)
            else:
                response = await sync_to_async(handler)(request, *args, **kwargs)
        except Exception as exc:
            response = await sync_to_async(self.handle_exception)(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    async def status(self, request: Request, pk: str) -> Response:
        order, wait, slot = await sync_to_async(self._order_and_slot)(request)
        if slot:
            try:
                await waiting.until_closed(order.id, wait)
            finally:
                # Given back even when the client has gone (the request is cancelled).
                await asyncio.shield(sync_to_async(WaitSlots.give_back)(slot))
            if Outage.open():  # the database went down during the wait: answer now, not after the pool's timeout
                raise ServiceUnavailable()
            order = await sync_to_async(self.get_object)()
        live = None if order.is_terminal else await waiting.live_status(order.id)
        return Response(await sync_to_async(self._status_body)(order, live))

    status.kwargs = OrderViewSet.status.kwargs  # the action's schema, declared in views.py with the others

    def _order_and_slot(self, request: Request) -> tuple[Order, float, str]:
        """The order, the seconds to wait, and the client's wait slot when it is to be waited on ("" otherwise)."""
        order = self.get_object()
        wait = self._body_of(s.StatusQuerySerializer, request.query_params)["wait"]
        if not wait or order.is_terminal:
            return order, wait, ""
        return order, wait, WaitSlots.take(client_id=request.user.id, seconds=wait)

    def _status_body(self, order: Order, live) -> dict:
        return s.StatusSerializer(selectors.order_status(order, live)).data


status_view = OrderStatusView.as_async_view()
