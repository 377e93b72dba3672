"""OpenTelemetry tracing: off unless OTEL_TRACES_EXPORTER names an exporter (`console` or `otlp`; the standard
OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME apply). One trace follows an order action across processes:
the Django request, the Temporal client's StartWorkflow or update, the workflow run, each activity and its SQL
(psycopg). The Temporal SDK's tracing interceptor carries the context through Temporal's headers, so the web
process, the CLI and the workers join the same trace. SQL parameters are never recorded: they hold personal
data.

configure() runs before Django loads its middleware (manage.py, wsgi.py); interceptors() is what the Temporal
client (and the workers built on it) are given."""

import os
from typing import Optional

EXPORTERS = ("console", "otlp")
_provider = None


def enabled() -> bool:
    return _provider is not None


def configure(default_service: str = "orders", exporter=None) -> bool:
    """Set up tracing once per process. `exporter` (a SpanExporter) is for tests; otherwise OTEL_TRACES_EXPORTER
    decides. Returns whether tracing is on."""
    global _provider
    if _provider is not None:
        return True
    name = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if exporter is None and name not in EXPORTERS:
        return False
    from opentelemetry import trace
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", default_service)}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument(tracer_provider=provider)
    PsycopgInstrumentor().instrument(tracer_provider=provider, capture_parameters=False, enable_commenter=False)
    _provider = provider
    return True


def interceptors() -> list:
    if not enabled():
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


def flush(timeout_millis: int = 5000) -> Optional[bool]:
    """Export what is buffered (short-lived commands end with os._exit, which skips atexit hooks)."""
    return _provider.force_flush(timeout_millis) if _provider is not None else None
