import asyncio
import signal

from django.conf import settings
from django.core.management.base import CommandError

from orders.management.commands._exit import TemporalCommand
from workflows.worker import QUEUES, WorkerOptions, run


class Command(TemporalCommand):
    help = "Run the Temporal workers: main-tq and shipping-tq in one process, or one of them with --queue."

    def add_arguments(self, parser):
        parser.add_argument("--queue", choices=[*QUEUES, "all"], default="all", help="which task queue to serve")
        parser.add_argument("--max-concurrent-activities", type=int, default=20)
        parser.add_argument("--max-concurrent-workflow-tasks", type=int, default=50)

    def handle(self, *args, **options):
        if options["max_concurrent_activities"] < 1 or options["max_concurrent_workflow_tasks"] < 1:
            raise CommandError("concurrency options must be at least 1")
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
