"""Test doubles for the activities, registered under the real activity names, and helpers to run the real
workflows on a real Temporal server (dev server or time-skipping test server from the wheels)."""

import asyncio
import os
import threading
import uuid
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Optional

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from tests.fake_payments import FakePayments, business_error, lost_reply
from workflows import risk
from workflows.order import OrderWorkflow
from workflows.shipping import ShippingWorkflow
from workflows.types import (
    Activities,
    Address,
    AddressChange,
    ApprovalRecord,
    ClaimChange,
    DispatchRequest,
    ErrorTypes,
    OrderInput,
    OrderItem,
    OrderRef,
    OrderSummary,
    Outcome,
    PackageRequest,
    ProcessSettings,
    RetrySettings,
    ReviewDecision,
    Screening,
    ScreenRequest,
    ShipmentTruth,
    ShippingAttempt,
    ShippingStep,
    WorkflowState,
    order_workflow_id,
)

# Histories recorded by each release's code. Those of released code are never rewritten: every release must go on
# replaying them. `make histories` refreshes the current release's.
HISTORIES = Path(__file__).parent / "histories"
CURRENT_HISTORIES = HISTORIES / "release-8"

ADDRESS = Address(name="Ada Lovelace", line1="12 St James's Square", city="London", postal_code="SW1Y 4JH", country="GB")
NEW_ADDRESS = Address(name="Ada Lovelace", line1="1 New Street", city="Leeds", postal_code="LS1 1AA", country="GB")


def order_input(shipping_queue: str, order_id: Optional[str] = None, **settings) -> OrderInput:
    order_id = order_id or f"wf-{uuid.uuid4().hex[:10]}"
    process = dict(
        review_escalate_after_seconds=3600,
        review_timeout_seconds=86400,
        shipping_max_attempts=3,
        shipping_backoff_seconds=0.05,
        shipping_task_queue=shipping_queue,
        business_retry=RetrySettings(initial_interval_seconds=0.05, maximum_interval_seconds=0.1, maximum_attempts=2),
    )
    process.update(settings)
    return OrderInput(
        order_id=order_id,
        customer_name="Ada",
        customer_email="ada@example.com",
        items=[OrderItem("BOOK-1", 2, "12.50")],
        currency="USD",
        shipping_address=ADDRESS,
        payment_id=f"pay-{order_id}",
        fingerprint="f" * 64,
        settings=ProcessSettings(**process),
    )


@dataclass
class FakeActivities(FakePayments):
    """Records each call as (activity name, argument). Knobs make steps fail or wait.

    `shipped` stands for the carrier's own books (the gateway's: fake_payments.py): the lost-reply knobs do the
    work there, then fail as a timeout would, and the settle activities read them."""

    calls: list = field(default_factory=list)
    reject_reason: str = ""
    risk_score: int = 10  # what screening scores the order
    screen_gate: Optional[asyncio.Event] = None
    failing_dispatch_attempts: int = 0
    prepare_gate: Optional[asyncio.Event] = None
    dispatch_gate: Optional[asyncio.Event] = None
    address_gate: Optional[asyncio.Event] = None
    cancel_gate: Optional[asyncio.Event] = None
    approve_gate: Optional[asyncio.Event] = None
    slow_early_address_changes: bool = False
    dispatch_lost_reply: bool = False  # every dispatch ships, then its reply is lost
    shipped: list = field(default_factory=list)
    final_status: str = ""  # what the order row would say once a final step has run
    receive_gate: Optional[asyncio.Event] = None
    receive_refusal: str = ""  # the first step refuses to create the order (its payment id is another order's)
    # Activity name -> how many of its next tries fail as a database outage would (retryable).
    outages: dict = field(default_factory=dict)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def args(self, name: str) -> list:
        return [arg for n, arg in self.calls if n == name]

    def _record(self, name, arg):
        self.calls.append((name, arg))
        if self.outages.get(name):
            self.outages[name] -= 1
            raise ApplicationError("connection to the database lost", type="OperationalError")

    @activity.defn(name=Activities.RECEIVE)
    async def receive(self, data: OrderInput) -> OrderSummary:
        if self.receive_gate:
            await self.receive_gate.wait()
        self._record(Activities.RECEIVE, data)
        if self.receive_refusal:
            raise business_error(self.receive_refusal, ErrorTypes.PAYMENT_ID_IN_USE)
        return OrderSummary(data.order_id, "25.00", data.currency, data.payment_id)

    @activity.defn(name=Activities.VALIDATE)
    async def validate(self, ref: OrderRef) -> str:
        self._record(Activities.VALIDATE, ref)
        if self.reject_reason:
            raise business_error(self.reject_reason, ErrorTypes.REJECTED)
        return "awaiting_review"

    @activity.defn(name=Activities.SCREEN)
    async def screen(self, request: ScreenRequest) -> Screening:
        if self.screen_gate:
            await self.screen_gate.wait()
        self._record(Activities.SCREEN, request)
        if self.reject_reason:
            raise business_error(self.reject_reason, ErrorTypes.REJECTED)
        route = risk.route(self.risk_score, request.approve_below, request.cancel_from)
        return Screening("awaiting_review", self.risk_score, risk.band(self.risk_score, 30, 70), route)

    @activity.defn(name=Activities.ESCALATE)
    async def escalate(self, ref: OrderRef) -> None:
        self._record(Activities.ESCALATE, ref)

    @activity.defn(name=Activities.APPROVE)
    async def approve(self, decision: ReviewDecision) -> str:
        self._record(Activities.APPROVE, decision)
        if self.approve_gate:
            await self.approve_gate.wait()
        return "approved"

    @activity.defn(name=Activities.RECORD_APPROVAL)
    async def record_approval(self, record: ApprovalRecord) -> None:
        self._record(Activities.RECORD_APPROVAL, record)

    @activity.defn(name=Activities.RECORD_CLAIM)
    async def record_claim(self, change: ClaimChange) -> None:
        self._record(Activities.RECORD_CLAIM, change)

    @activity.defn(name=Activities.CANCEL)
    async def cancel(self, decision: ReviewDecision) -> str:
        self._record(Activities.CANCEL, decision)
        self.final_status = "cancelled"
        if self.cancel_gate:  # committed, but the workflow has not heard back yet
            await self.cancel_gate.wait()
        return "cancelled"

    @activity.defn(name=Activities.UPDATE_ADDRESS)
    async def update_address(self, change: AddressChange) -> None:
        if self.slow_early_address_changes:  # left to race, earlier changes would finish last
            await asyncio.sleep(0.05 * (10 - change.sequence))
        if self.address_gate and change.sequence == 1:
            await self.address_gate.wait()
        if self.final_status:  # as services.order_update_address refuses a final order
            raise business_error(f"order is {self.final_status}; its address can no longer change", ErrorTypes.INVALID_TRANSITION)
        self._record(Activities.UPDATE_ADDRESS, change)

    @activity.defn(name=Activities.START_SHIPPING)
    async def start_shipping(self, attempt: ShippingAttempt) -> None:
        self._record(Activities.START_SHIPPING, attempt)

    @activity.defn(name=Activities.PREPARE_PACKAGE)
    async def prepare(self, request: PackageRequest) -> str:
        self._record(Activities.PREPARE_PACKAGE, request)
        if self.prepare_gate:
            await self.prepare_gate.wait()
        return f"PKG-{request.attempt}"

    @activity.defn(name=Activities.DISPATCH_CARRIER)
    async def dispatch(self, request: DispatchRequest) -> str:
        self._record(Activities.DISPATCH_CARRIER, request)
        if self.dispatch_gate:
            await self.dispatch_gate.wait()
        if request.attempt <= self.failing_dispatch_attempts:
            raise business_error(f"carrier refused attempt {request.attempt}", "CarrierDown")
        if not self.shipped:  # one shipment per order, whatever the attempt
            self.shipped.append(request.address)
        if self.dispatch_lost_reply:
            raise lost_reply("dispatch")
        return "TRK-1"

    @activity.defn(name=Activities.SETTLE_SHIPMENT)
    async def settle_shipment(self, ref: OrderRef) -> ShipmentTruth:
        self._record(Activities.SETTLE_SHIPMENT, ref)
        return ShipmentTruth(dispatched=True, tracking_number="TRK-1") if self.shipped else ShipmentTruth(dispatched=False)

    @activity.defn(name=Activities.RECORD_SHIPPING_STEP)
    async def record_step(self, step: ShippingStep) -> None:
        self._record(Activities.RECORD_SHIPPING_STEP, step)

    @activity.defn(name=Activities.COMPLETE)
    async def complete(self, ref: OrderRef) -> None:
        self._record(Activities.COMPLETE, ref)
        self.final_status = "completed"

    @activity.defn(name=Activities.FAIL)
    async def fail(self, outcome: Outcome) -> None:
        self._record(Activities.FAIL, outcome)
        self.final_status = "failed"

    def all(self) -> list:
        return [
            getattr(self, name)
            for name in dir(type(self))
            if hasattr(getattr(type(self), name), "__temporal_activity_definition")
        ]


@asynccontextmanager
async def running_workers(client: Client, fakes: FakeActivities):
    """Both task queues, with unique names, served by the real workflows and the fake activities."""
    main_queue, shipping_queue = f"main-{uuid.uuid4()}", f"shipping-{uuid.uuid4()}"
    workers = [
        Worker(client, task_queue=main_queue, workflows=[OrderWorkflow], activities=fakes.all()),
        Worker(client, task_queue=shipping_queue, workflows=[ShippingWorkflow], activities=fakes.all()),
    ]
    async with workers[0], workers[1]:
        yield main_queue, shipping_queue


# A held local step holds its workflow task, and messages wait for the task's heartbeat (80 % of its timeout):
# tests that hold one keep it short.
TEST_TASK_TIMEOUT = timedelta(seconds=2)


async def start(env, main_queue, data, **kwargs):
    return await env.client.start_workflow(
        OrderWorkflow.run,
        data,
        id=order_workflow_id(data.order_id),
        task_queue=main_queue,
        task_timeout=TEST_TASK_TIMEOUT,
        **kwargs,
    )


async def eventually(check, timeout=10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def state_when(handle, check, timeout=10.0) -> WorkflowState:
    """The workflow's own state (get_status), once `check` holds for it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check(state := await handle.query(OrderWorkflow.get_status)):
        assert asyncio.get_running_loop().time() < deadline, f"the workflow never got there: {state}"
        await asyncio.sleep(0.05)
    return state


async def cancel_requested(handle, timeout=10.0):
    await state_when(handle, lambda s: s.cancel_requested, timeout)


async def save_history(env, workflow_id, name):
    """With RECORD_HISTORIES=1, refresh the current release's committed histories that test_replay replays."""
    if os.environ.get("RECORD_HISTORIES"):
        history = await env.client.get_workflow_handle(workflow_id).fetch_history()
        CURRENT_HISTORIES.mkdir(parents=True, exist_ok=True)
        (CURRENT_HISTORIES / name).write_text(history.to_json())


@contextmanager
def worker_on_its_own_thread(client: Client, **worker_options):
    """A worker on its own thread and event loop (and client), in debug mode: one of its workflow tasks can then be
    held by the test without stalling the other workers, and without the deadlock detector stepping in."""
    config = client.service_client.config
    ready, failed = threading.Event(), []
    state = {}

    async def serve():
        own = await Client.connect(config.target_host, namespace=client.namespace)
        state["loop"], state["stop"] = asyncio.get_running_loop(), asyncio.Event()
        try:
            async with Worker(own, debug_mode=True, **worker_options):
                ready.set()
                await state["stop"].wait()
        except BaseException as exc:  # reported to the test below
            failed.append(exc)
            ready.set()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(30) and not failed, failed
    try:
        yield
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(30)
        assert not failed, failed


async def add_search_attributes(client) -> None:
    """The time-skipping test server knows no custom search attributes until told (it has no list call to ask)."""
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    from workflows.search_attributes import ALL

    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=client.namespace, search_attributes={key.name: int(key.indexed_value_type) for key in ALL})
    )
