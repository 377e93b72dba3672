"""The workflow client as callers use it (views, the admin, commands, tests): one import for the functions of the
modules beside it, each of one concern. All of them are synchronous and run on the process's one client loop
(runner.py)."""

from orders.temporal.bulk import BulkOutcome, decide_many
from orders.temporal.errors import (
    IdempotencyKeyReused,
    MessageRejected,
    OrderClientError,
    OrderConflict,
    OrderNotFound,
    OrderRefused,
    PaymentIdInUse,
    TemporalUnavailable,
)
from orders.temporal.messages import approve, cancel, claim, release, update_address
from orders.temporal.ops import ping, task_queue_pollers
from orders.temporal.reading import counts_by_status, order_workflows, status, wait_until_closed
from orders.temporal.runner import _runner, connected, run
from orders.temporal.snapshot import process_settings
from orders.temporal.starts import StartResult, start_order

__all__ = [
    "BulkOutcome",
    "IdempotencyKeyReused",
    "MessageRejected",
    "OrderClientError",
    "OrderConflict",
    "OrderNotFound",
    "OrderRefused",
    "PaymentIdInUse",
    "StartResult",
    "TemporalUnavailable",
    "_runner",
    "approve",
    "cancel",
    "claim",
    "connected",
    "counts_by_status",
    "decide_many",
    "order_workflows",
    "ping",
    "process_settings",
    "release",
    "run",
    "start_order",
    "status",
    "task_queue_pollers",
    "update_address",
    "wait_until_closed",
]
