import asyncio
import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management.base import CommandError

from orders.management.commands._exit import TemporalCommand
from orders.temporal.worker import QUEUES, WorkerOptions, run


class Command(TemporalCommand):
    help = "Run the Temporal workers: main-tq and shipping-tq in one process, or one of them with --queue."

    def add_arguments(self, parser):
        parser.add_argument("--queue", choices=[*QUEUES, "all"], default="all", help="which task queue to serve")
        parser.add_argument("--max-concurrent-activities", type=int, default=20)
        parser.add_argument("--max-concurrent-workflow-tasks", type=int, default=50)
        parser.add_argument(
            "--processes", type=int, default=1, help="run this many worker processes (each polls the same queues)"
        )

    def handle(self, *args, **options):
        if min(options["max_concurrent_activities"], options["max_concurrent_workflow_tasks"], options["processes"]) < 1:
            raise CommandError("concurrency options and --processes must be at least 1")
        if options["processes"] > 1:
            return self._supervise(options)
        worker_options = WorkerOptions(
            queues=QUEUES if options["queue"] == "all" else (options["queue"],),
            max_concurrent_activities=options["max_concurrent_activities"],
            max_concurrent_workflow_tasks=options["max_concurrent_workflow_tasks"],
        )
        self.stdout.write(
            f"Starting workers for {', '.join(worker_options.queues)} against {settings.TEMPORAL_ADDRESS} "
            f"(namespace {settings.TEMPORAL_NAMESPACE})"
        )
        asyncio.run(self._serve(worker_options))
        self.stdout.write("Workers stopped.")

    async def _serve(self, worker_options):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(worker_options, stop, report=lambda msg: self.stderr.write(msg))

    def _supervise(self, options):
        """N independent worker processes (the SDK's runtime must not be shared across a fork): SIGINT/SIGTERM
        are passed on, and the command ends when they all have; if one dies, the rest are stopped."""
        command = [
            sys.executable,
            sys.argv[0],
            "run_workers",
            "--queue",
            options["queue"],
            "--max-concurrent-activities",
            str(options["max_concurrent_activities"]),
            "--max-concurrent-workflow-tasks",
            str(options["max_concurrent_workflow_tasks"]),
        ]
        port = settings.WORKER_METRICS_PORT
        children = [
            # Each process serves its metrics on its own port: WORKER_METRICS_PORT, +1, +2...
            subprocess.Popen(command, env={**os.environ, "WORKER_METRICS_PORT": str(port + n if port else 0)})
            for n in range(options["processes"])
        ]

        def stop(signum, frame):
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        codes = []
        for child in children:
            codes.append(child.wait())
            stop(None, None)
        if any(codes):
            raise CommandError(f"worker processes exited with {codes}")
