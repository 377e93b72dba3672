"""Run by tests/e2e/test_tracing.py in its own process (tracing is process-wide): tracing on with an in-memory
exporter, the workers in this process, one order started through the API with the Django test client, then
every finished span printed as JSON lines."""

import asyncio
import json
import os
import sys
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ordersite.settings")
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from ordersite import tracing  # noqa: E402

exporter = InMemorySpanExporter()
tracing.configure("orders-probe", exporter=exporter)

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402

from orders.models import Order  # noqa: E402
from orders.temporal.worker import WorkerOptions, run  # noqa: E402


def main(order_id: str, token: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_until_complete, args=(run(WorkerOptions(), stop),), daemon=True).start()
    body = {
        "customer_name": "Trace Probe", "customer_email": "probe@example.com", "currency": "USD",
        "items": [{"sku": "T-1", "quantity": 1, "unit_price": "5.00"}],
        "shipping_address": {"name": "P", "line1": "1 Main St", "city": "London", "postal_code": "N1", "country": "GB"},
    }
    response = Client().post(f"/orders/{order_id}/start", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code in (200, 201, 202), response.content
    deadline = time.monotonic() + 60
    while Order.objects.filter(pk=order_id, status=Order.Status.AWAITING_REVIEW).count() == 0:
        assert time.monotonic() < deadline, "the order never reached review"
        time.sleep(0.2)
    time.sleep(0.5)
    loop.call_soon_threadsafe(stop.set)
    for span in exporter.get_finished_spans():
        print(json.dumps({
            "name": span.name,
            "id": span.context.span_id,
            "trace": span.context.trace_id,
            "parent": span.parent.span_id if span.parent else None,
            "attributes": {k: str(v) for k, v in (span.attributes or {}).items()},
        }))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(*sys.argv[1:3])
