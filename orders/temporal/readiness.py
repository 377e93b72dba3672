"""Whether Temporal is ready for the orders: the server serves, the namespace exists and has every search attribute
of workflows/search_attributes.py with its type, and the payload key encrypts and decrypts (when encryption is on).
`/readyz` asks it (a complete setup is kept for READY_FOR seconds, a missing one never), and so do the workers
at start (worker.py). A cluster that was not set up is named with its fix, `manage.py temporal_setup`,
and once the setup has run the same processes go on without a restart."""

import asyncio
import logging
import time
from typing import Optional

from django.conf import settings
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from orders.temporal import runner
from orders.temporal.connection import payload_codec
from orders.temporal.errors import SETUP_FIX, TemporalUnavailable, is_namespace_missing
from workflows.search_attributes import ALL

log = logging.getLogger(__name__)

READY_FOR = 10.0  # seconds a positive answer is kept
RECHECK_EVERY = 10.0  # seconds between a waiting worker's checks
NO_NAMESPACE = "does not exist"
# A cluster that does not let this client list search attributes (e.g. Temporal Cloud's operator API): not checked.
NOT_ASKABLE = {RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED}

_ready_until: dict[tuple[str, str], float] = {}  # (address, namespace): until when its setup is known complete


async def problems(client: Client, namespace: str) -> list[str]:
    """What keeps the orders from running on `namespace`; empty when nothing does."""
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND or is_namespace_missing(exc):
            return [f"namespace {namespace} {NO_NAMESPACE}"]
        raise
    try:
        listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    except RPCError as exc:
        if exc.status in NOT_ASKABLE:
            return []
        raise
    known = {**listed.custom_attributes, **listed.system_attributes}
    missing = [key.name for key in ALL if key.name not in known]
    wrong = [
        f"{key.name} is {_type_name(known[key.name])}, not {_type_name(int(key.indexed_value_type))} (remove it first:"
        f" `temporal operator search-attribute remove --name {key.name} --namespace {namespace}`)"
        for key in ALL
        if key.name in known and known[key.name] != int(key.indexed_value_type)
    ]
    return ([f"search attributes missing: {', '.join(missing)}"] if missing else []) + wrong


async def codec_problem() -> Optional[str]:
    """Whether the active payload key encrypts and decrypts a payload (None when it does, or encryption is off)."""
    probe = Payload(metadata={"encoding": b"json/plain"}, data=b'"ready"')
    try:
        codec = payload_codec()
        if codec is None:
            return None
        [back] = await codec.decode(await codec.encode([probe]))
    except (ValueError, KeyError) as exc:  # KeyringError is a ValueError
        return f"the payload key does not work: {exc}"
    return None if back == probe else "the payload key does not give back what it encrypted"


def describe(found: list[str]) -> str:
    return f"Temporal namespace {settings.TEMPORAL_NAMESPACE} is not set up: {'; '.join(found)}; {SETUP_FIX}"


def check() -> dict:
    """The readiness of Temporal for /readyz: {"ok": ..., "detail": ...}. The server is asked whether it serves
    every time; the setup, when it was found complete less than READY_FOR seconds ago, is not asked again."""
    key = (settings.TEMPORAL_ADDRESS, settings.TEMPORAL_NAMESPACE)
    known = time.monotonic() < _ready_until.get(key, 0.0)

    async def ask() -> list[str]:
        client = await runner.connected()
        if not await client.service_client.check_health():
            raise TemporalUnavailable("Temporal reports it is not serving")
        if known:
            return []
        found = await problems(client, settings.TEMPORAL_NAMESPACE)
        codec = await codec_problem()
        return found + ([codec] if codec else [])

    try:
        found = runner.run(ask())
    except TemporalUnavailable as exc:
        return {"ok": False, "detail": str(exc)}
    if found:
        _ready_until.pop(key, None)
        return {"ok": False, "detail": describe(found)}
    if not known:
        _ready_until[key] = time.monotonic() + READY_FOR
    return {"ok": True, "detail": f"serving; namespace {settings.TEMPORAL_NAMESPACE} set up"}


async def wait_until_usable(client: Client, stop: asyncio.Event) -> bool:
    """At a worker's start: say loudly (ERROR) what the namespace lacks, naming the fix. Without the namespace the
    workers cannot poll, so wait for it (checking again every RECHECK_EVERY seconds) instead of exiting: a setup run
    later takes effect without a restart. Lacking only search attributes, they poll: no order can start until the
    setup runs. False when asked to stop first."""
    while not stop.is_set():
        try:
            found = await problems(client, settings.TEMPORAL_NAMESPACE)
        except RPCError as exc:
            log.warning("could not check Temporal namespace %s (%s); checking again", settings.TEMPORAL_NAMESPACE, exc)
        else:
            if found:
                log.error("%s", describe(found))
            if not any(NO_NAMESPACE in problem for problem in found):
                return True
        try:
            await asyncio.wait_for(stop.wait(), timeout=RECHECK_EVERY)
        except asyncio.TimeoutError:
            pass
    return False


def _type_name(value: int) -> str:
    return IndexedValueType.Name(value).removeprefix("INDEXED_VALUE_TYPE_").lower()
