"""`manage.py temporal_setup`: make a Temporal cluster ready for the orders, idempotently. It waits until the
frontend serves, registers the namespace if it is missing, and adds the orders' search attributes that are
missing (workflows/search_attributes.py). The compose stack's setup job runs it; safe to run again at any time.
The dev server that `make run` and the tests start registers the search attributes itself."""

import asyncio
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import CommandError
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.service import RPCError, RPCStatusCode

from orders.management.commands._exit import TemporalCommand
from workflows.connection import connect
from workflows.search_attributes import ALL, register


class Command(TemporalCommand):
    help = "Register the namespace and the orders' search attributes on a Temporal cluster (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--retention", default="7d", help="the namespace's retention, when it is created (e.g. 7d, 72h)")
        parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the cluster to serve")

    def handle(self, *args, **options):
        from ordersite.durations import parse_duration_seconds

        retention = timedelta(seconds=parse_duration_seconds(options["retention"]))
        asyncio.run(self._setup(retention, options["wait"]))

    async def _setup(self, retention: timedelta, wait: float) -> None:
        client = await self._serving_client(wait)
        namespace = settings.TEMPORAL_NAMESPACE
        try:
            await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
            self.stdout.write(f"Namespace {namespace}: exists")
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise CommandError(f"describing namespace {namespace} failed: {exc}") from exc
            await client.workflow_service.register_namespace(
                RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=Duration(seconds=int(retention.total_seconds())))
            )
            self.stdout.write(f"Namespace {namespace}: created")
            await asyncio.sleep(2)  # a new namespace takes a moment to reach every frontend
        missing = await register(client, namespace)
        for key in ALL:
            self.stdout.write(f"Search attribute {key.name}: {'added' if key.name in missing else 'exists'}")

    async def _serving_client(self, wait: float):
        deadline = time.monotonic() + wait
        while True:
            try:
                client = await connect()
                if await client.service_client.check_health():
                    return client
            except (RuntimeError, RPCError) as exc:
                last = exc
            else:
                last = "not serving yet"
            if time.monotonic() > deadline:
                raise CommandError(f"Temporal at {settings.TEMPORAL_ADDRESS} did not serve within {wait:.0f}s: {last}", returncode=2)
            await asyncio.sleep(2)
