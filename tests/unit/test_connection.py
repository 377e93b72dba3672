"""Connecting to Temporal: TLS and API keys for real clusters, and the workers' behaviour without a server."""

import os
import signal
import subprocess
import sys
import time

from temporalio.service import TLSConfig

from orders.temporal.connection import tls_config
from tests.conftest import ROOT


def test_plain_by_default(settings):
    assert tls_config() is False


def test_api_key_implies_tls(settings):
    settings.TEMPORAL_API_KEY = "key"
    assert tls_config() is True


def test_client_certificates_are_read(settings, tmp_path):
    for name in ("ca", "cert", "key"):
        (tmp_path / name).write_bytes(f"--{name}--".encode())
    settings.TEMPORAL_TLS_CA, settings.TEMPORAL_TLS_CERT, settings.TEMPORAL_TLS_KEY = (
        str(tmp_path / "ca"), str(tmp_path / "cert"), str(tmp_path / "key"),
    )
    config = tls_config()
    assert isinstance(config, TLSConfig)
    assert (config.server_root_ca_cert, config.client_cert, config.client_private_key) == (b"--ca--", b"--cert--", b"--key--")


def test_workers_wait_for_temporal_and_stop_gracefully():
    env = {**os.environ, "TEMPORAL_ADDRESS": "127.0.0.1:1", "WORKER_METRICS_PORT": "0"}
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "run_workers"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(6)  # long enough for a few attempts with backoff
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=30)

    assert worker.returncode == 0, err
    assert err.count("Temporal is unreachable at 127.0.0.1:1") >= 2
    assert "retrying in 1s" in err and "retrying in 2s" in err
    assert "Workers stopped." in out
