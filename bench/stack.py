"""A stack for one benchmark pass, booted as `make run` boots it (`manage.py run_stack`: the durable dev server,
the workers, gunicorn), on its own ports, Temporal data file and database, so that a run never touches a
developer's data: PostgreSQL when DATABASE_URL points at it (a fresh `<name>_bench` database), else SQLite.
Or a stack that is already running, given its URL and tokens."""

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings

from workflows.devserver import free_port

ROOT = Path(settings.BASE_DIR)


@dataclass
class Stack:
    url: str
    client_token: str
    reviewer_token: str
    process: Optional[subprocess.Popen] = None  # None: a stack this run did not start
    temporal_address: str = ""
    env: dict = field(default_factory=dict)
    log: Optional[Path] = None

    @property
    def root_pid(self) -> Optional[int]:
        return self.process.pid if self.process else None

    @property
    def database(self) -> str:
        """The PostgreSQL database the stack uses ("" for SQLite)."""
        url = self.env.get("DATABASE_URL", "")
        return urlsplit(url).path.lstrip("/") if url.startswith(("postgres://", "postgresql://")) else ""

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def fresh_database(work_dir: Path) -> str:
    """A database URL for this run only: `<name>_bench` next to DATABASE_URL's PostgreSQL database, dropped and
    created anew; or a SQLite file in the run's directory."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{work_dir / 'db.sqlite3'}"
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'orders'}_bench"
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def boot(work_dir: Path, *, worker_processes: int, database_url: str, extra_env: Optional[dict] = None) -> Stack:
    work_dir.mkdir(parents=True, exist_ok=True)
    web_port, temporal_port, ui_port, metrics_port = free_port(), free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "DEBUG": "0",  # measured as it would run in production
        "SECRET_KEY": secrets.token_urlsafe(32),
        "HTTPS_ONLY": "0",
        "DATABASE_URL": database_url,
        "WORKER_PROCESSES": str(worker_processes),
        "WORKER_METRICS_PORT": str(metrics_port),
        "API_THROTTLE_RATE": "1000000/minute",  # the benchmark's clients are not abusers
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    log = work_dir / "stack.log"
    command = [
        sys.executable, "manage.py", "run_stack",
        "--web-port", str(web_port),
        "--temporal-port", str(temporal_port),
        "--temporal-ui-port", str(ui_port),
        "--data-dir", str(work_dir),
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{web_port}"
    stack = Stack(url=url, client_token="", reviewer_token="", process=process, env=env, log=log,
                  temporal_address=f"127.0.0.1:{temporal_port}")
    try:
        _wait_ready(stack)
        stack.client_token = _token(stack, "shop")
        stack.reviewer_token = _token(stack, "reviewer")
    except BaseException:
        stack.stop()
        raise
    return stack


def _token(stack: Stack, username: str) -> str:
    out = stack.manage("drf_create_token", username)
    return re.search(r"[0-9a-f]{40}", out).group(0)


def wait_until_ready(url: str, timeout: float = 180.0, process: Optional[subprocess.Popen] = None, log: Optional[Path] = None) -> bytes:
    """Poll `url` until it answers 200 (its body is returned), failing early if `process` exits; `log`'s tail
    explains a failure."""
    tail = lambda: log.read_text()[-3000:] if log and log.exists() else ""  # noqa: E731
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"exited early with {process.returncode}:\n{tail()}")
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if response.status == 200:
                    return response.read()
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} was not ready in {timeout:.0f}s:\n{tail()}")


def _wait_ready(stack: Stack) -> None:
    wait_until_ready(f"{stack.url}/readyz", process=stack.process, log=stack.log)
