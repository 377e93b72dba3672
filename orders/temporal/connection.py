"""Connecting to Temporal with the settings (address, namespace, TLS or API key), for the client and workers."""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from ordersite import tracing
from workflows.codec import EncryptionCodec, codec_from, data_converter


def _read(path: str) -> bytes | None:
    return Path(path).read_bytes() if path else None


def tls_config() -> TLSConfig | bool:
    if not (settings.TEMPORAL_TLS or settings.TEMPORAL_TLS_CERT or settings.TEMPORAL_TLS_CA):
        # Temporal Cloud with an API key implies TLS.
        return bool(settings.TEMPORAL_API_KEY)
    return TLSConfig(
        server_root_ca_cert=_read(settings.TEMPORAL_TLS_CA),
        client_cert=_read(settings.TEMPORAL_TLS_CERT),
        client_private_key=_read(settings.TEMPORAL_TLS_KEY),
    )


def metrics_runtime() -> Runtime | None:
    """A runtime that serves the SDK's metrics for Prometheus, when WORKER_METRICS_PORT is set."""
    if not settings.WORKER_METRICS_PORT:
        return None
    bind = f"{settings.WORKER_METRICS_HOST}:{settings.WORKER_METRICS_PORT}"
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))


def payload_codec() -> EncryptionCodec | None:
    """The payload encryption of TEMPORAL_PAYLOAD_KEYS, or None when it is off."""
    return codec_from(settings.TEMPORAL_PAYLOAD_KEYS, settings.TEMPORAL_PAYLOAD_KEY_ID)


async def connect(connect_timeout: float = 5.0, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.TEMPORAL_ADDRESS,
        namespace=settings.TEMPORAL_NAMESPACE,
        api_key=settings.TEMPORAL_API_KEY or None,
        tls=tls_config(),
        connect_timeout=timedelta(seconds=connect_timeout),
        runtime=runtime,
        data_converter=data_converter(payload_codec()),
        interceptors=tracing.interceptors(),
    )
