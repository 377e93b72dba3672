"""The chaos suite's stack: the durable Temporal dev server, worker processes and gunicorn, each a process the
suite can SIGKILL and start again, on the test database of the real PostgreSQL server (which the suite stops
and starts too)."""

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from bench.procs import children
from bench.stack import wait_until_ready
from orders.management.commands.run_stack import web_command
from workflows.devserver import dev_server_command, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """One component: started, killed and started again with the same command, its output in one log."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path):
        self.name, self.command, self.env, self.log = name, command, env, log
        self.popen = None
        self.starts = 0

    def start(self) -> None:
        self.popen = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        self.starts += 1

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL: no goodbye, no cleanup."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class ChaosStack:
    def __init__(self, work_dir: Path, database_url: str, worker_processes: int = 2, **extra_env: str):
        work_dir.mkdir(parents=True, exist_ok=True)
        self.temporal_port, self.web_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "HTTPS_ONLY": "0",
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "WORKER_METRICS_PORT": "0",
            "API_THROTTLE_RATE": "1000000/minute",
            "DB_POOL_MAX_SIZE": "12",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        self.temporal = Process(
            "temporal", dev_server_command(port=self.temporal_port, db_file=str(work_dir / "temporal.db")), self.env, work_dir / "temporal.log"
        )
        self.workers = [
            Process(f"worker-{n}", [sys.executable, "manage.py", "run_workers"], self.env, work_dir / f"worker-{n}.log")
            for n in range(worker_processes)
        ]
        self.web = Process("web", web_command(bind=f"127.0.0.1:{self.web_port}", workers=2), self.env, work_dir / "web.log")

    def boot(self) -> "ChaosStack":
        self.start_temporal()
        for worker in self.workers:
            worker.start()
        self.web.start()
        wait_for_port("127.0.0.1", self.web_port, timeout=60)
        self.wait_ready()
        return self

    def start_temporal(self) -> None:
        self.temporal.start()
        wait_for_port("127.0.0.1", self.temporal_port, timeout=60)

    def wait_ready(self) -> None:
        wait_until_ready(f"{self.url}/readyz", timeout=90, process=self.web.popen, log=self.web.log)

    def web_worker_pids(self) -> list[int]:
        """gunicorn's worker processes (its master forks them and starts a new one when one dies)."""
        return children(self.web.pid)

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=600)

    def close(self) -> None:
        for process in [self.web, *self.workers, self.temporal]:
            process.stop()
