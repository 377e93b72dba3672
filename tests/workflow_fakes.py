"""Test doubles for the activities, registered under the real activity names, and helpers to run the real
workflows on a real Temporal server (dev server or time-skipping test server from the wheels)."""

import asyncio
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Optional

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from workflows.order import OrderWorkflow
from workflows.shipping import ShippingWorkflow
from workflows.types import (
    Activities,
    Address,
    AddressChange,
    ChargeRequest,
    DispatchRequest,
    ErrorTypes,
    OrderInput,
    OrderItem,
    OrderRef,
    OrderSummary,
    Outcome,
    PackageRequest,
    PaymentRecord,
    ProcessSettings,
    RetrySettings,
    ReviewDecision,
    ShippingAttempt,
    ShippingStep,
)

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


def business_error(message: str, error_type: str) -> ApplicationError:
    return ApplicationError(message, type=error_type, non_retryable=True)


@dataclass
class FakeActivities:
    """Records each call as (activity name, argument). Knobs make steps fail or wait."""

    calls: list = field(default_factory=list)
    reject_reason: str = ""
    decline_reason: str = ""
    failing_dispatch_attempts: int = 0
    charge_gate: Optional[asyncio.Event] = None
    prepare_gate: Optional[asyncio.Event] = None
    slow_early_address_changes: bool = False

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def args(self, name: str) -> list:
        return [arg for n, arg in self.calls if n == name]

    def _record(self, name, arg):
        self.calls.append((name, arg))

    @activity.defn(name=Activities.RECEIVE)
    async def receive(self, data: OrderInput) -> OrderSummary:
        self._record(Activities.RECEIVE, data)
        return OrderSummary(data.order_id, "25.00", data.currency, data.payment_id)

    @activity.defn(name=Activities.VALIDATE)
    async def validate(self, ref: OrderRef) -> str:
        self._record(Activities.VALIDATE, ref)
        if self.reject_reason:
            raise business_error(self.reject_reason, ErrorTypes.REJECTED)
        return "awaiting_review"

    @activity.defn(name=Activities.ESCALATE)
    async def escalate(self, ref: OrderRef) -> None:
        self._record(Activities.ESCALATE, ref)

    @activity.defn(name=Activities.APPROVE)
    async def approve(self, decision: ReviewDecision) -> str:
        self._record(Activities.APPROVE, decision)
        return "approved"

    @activity.defn(name=Activities.CANCEL)
    async def cancel(self, decision: ReviewDecision) -> str:
        self._record(Activities.CANCEL, decision)
        return "cancelled"

    @activity.defn(name=Activities.UPDATE_ADDRESS)
    async def update_address(self, change: AddressChange) -> None:
        if self.slow_early_address_changes:  # left to race, earlier changes would finish last
            await asyncio.sleep(0.05 * (10 - change.sequence))
        self._record(Activities.UPDATE_ADDRESS, change)

    @activity.defn(name=Activities.CHARGE)
    async def charge(self, request: ChargeRequest) -> str:
        self._record(Activities.CHARGE, request)
        if self.charge_gate:
            await self.charge_gate.wait()
        if self.decline_reason:
            raise business_error(self.decline_reason, ErrorTypes.DECLINED)
        return "ch_test"

    @activity.defn(name=Activities.RECORD_PAYMENT)
    async def record_payment(self, record: PaymentRecord) -> None:
        self._record(Activities.RECORD_PAYMENT, record)

    @activity.defn(name=Activities.RECORD_DECLINE)
    async def record_decline(self, record: PaymentRecord) -> None:
        self._record(Activities.RECORD_DECLINE, record)

    @activity.defn(name=Activities.REFUND)
    async def refund(self, record: PaymentRecord) -> None:
        self._record(Activities.REFUND, record)

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
        if request.attempt <= self.failing_dispatch_attempts:
            raise business_error(f"carrier refused attempt {request.attempt}", "CarrierDown")
        return "TRK-1"

    @activity.defn(name=Activities.RECORD_SHIPPING_STEP)
    async def record_step(self, step: ShippingStep) -> None:
        self._record(Activities.RECORD_SHIPPING_STEP, step)

    @activity.defn(name=Activities.COMPLETE)
    async def complete(self, ref: OrderRef) -> None:
        self._record(Activities.COMPLETE, ref)

    @activity.defn(name=Activities.FAIL)
    async def fail(self, outcome: Outcome) -> None:
        self._record(Activities.FAIL, outcome)

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
