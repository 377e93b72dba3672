"""`manage.py temporal_setup`: make a Temporal cluster ready for the orders, idempotently. It waits until the
frontend serves, registers the namespace if it is missing, and adds the orders' search attributes that are
missing (workflows/search_attributes.py), then waits until the server applies them: its frontends cache each
namespace's search attributes for `system.namespaceCacheRefreshInterval` (deploy/temporal/dynamicconfig), and a start
naming one they do not know yet is refused. The compose stack's setup job runs it; safe to run again at any time,
also while the stack runs (the web and the workers take it up without a restart). The dev server that `make run`
and the tests start registers the search attributes itself."""

import asyncio
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import CommandError
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.service import RPCError, RPCStatusCode

from orders.management.commands._exit import TemporalCommand
from orders.temporal.connection import connect
from orders.temporal.readiness import problems
from workflows.search_attributes import ALL, register

# A visibility query that names every attribute, each with a value of its type.
SAMPLES = {"KEYWORD": "'-'", "DOUBLE": "-1", "INT": "-1", "BOOL": "false", "DATETIME": "'1970-01-01T00:00:00Z'"}
PROBE = " AND ".join(f"{key.name} = {SAMPLES[key.indexed_value_type.name.removeprefix('INDEXED_VALUE_TYPE_')]}" for key in ALL)


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
        wrong = await problems(client, namespace)
        if wrong:  # an attribute of the same name with another type: adding cannot fix it
            raise CommandError(f"namespace {namespace}: {'; '.join(wrong)}", returncode=2)
        await self._in_effect(client, namespace, wait)

    async def _in_effect(self, client, namespace: str, wait: float) -> None:
        """Until a visibility query naming every search attribute is accepted (the frontend knows them all)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                await client.count_workflows(PROBE)
                self.stdout.write(f"Search attributes of {namespace}: in effect")
                return
            except RPCError as exc:
                if exc.status != RPCStatusCode.INVALID_ARGUMENT or time.monotonic() > deadline:
                    raise CommandError(f"the search attributes of {namespace} are not in effect: {exc}", returncode=2) from exc
            await asyncio.sleep(1)

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
