"""Gauges of the orders in Temporal, served at /metrics with django-prometheus's request metrics: the stuck orders
by reason (orders/temporal/stuck.py), looked up when Prometheus scrapes (at most every stuck.RECENT_FOR seconds per
web process, the same answer in between)."""

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from orders.temporal import stuck
from orders.temporal.errors import OrderClientError


class StuckOrders(Collector):
    def collect(self):
        answered = GaugeMetricFamily("orders_stuck_lookup_ok", "1 when Temporal answered the last look for stuck orders")
        try:
            found = stuck.recent()
        except OrderClientError:
            answered.add_metric([], 0)
            yield answered
            return
        gauge = GaugeMetricFamily(
            "orders_stuck",
            "Running orders with no progress for longer than ORDER_STUCK_AFTER outside an expected wait, by reason",
            labels=["reason"],
        )
        for reason in stuck.Reasons.ALL:
            gauge.add_metric([reason], sum(1 for order in found if order.reason == reason))
        answered.add_metric([], 1)
        yield gauge
        yield answered

    def describe(self):
        return []  # registering asks nothing of Temporal


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(StuckOrders())
        _registered = True
