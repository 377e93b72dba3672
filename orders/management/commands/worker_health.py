"""`manage.py worker_health --queue main`: the container healthcheck of a worker. Healthy only when Temporal
answers and a worker on this host polls the queue; a worker that cannot reach Temporal is unhealthy."""

import socket

from django.conf import settings
from django.core.management.base import CommandError

from orders.management.commands._exit import TemporalCommand
from orders.temporal import client
from orders.temporal.worker import QUEUES


class Command(TemporalCommand):
    help = "Exit 0 when a worker on this host polls the queue(s) on a reachable Temporal, 1 otherwise."

    def add_arguments(self, parser):
        parser.add_argument("--queue", choices=[*QUEUES, "all"], default="all")

    def handle(self, *args, **options):
        queues = {"main": settings.TEMPORAL_MAIN_TASK_QUEUE, "shipping": settings.TEMPORAL_SHIPPING_TASK_QUEUE}
        wanted = queues.values() if options["queue"] == "all" else [queues[options["queue"]]]
        host = socket.gethostname()
        try:
            client.ping()
            missing = [queue for queue in wanted if not any(p.endswith(f"@{host}") for p in client.task_queue_pollers(queue))]
        except client.TemporalUnavailable as exc:
            raise CommandError(f"Temporal unreachable: {exc}") from exc
        if missing:
            raise CommandError(f"no worker on {host} polls {', '.join(missing)}")
        self.stdout.write(f"healthy: {host} polls {', '.join(wanted)}")
