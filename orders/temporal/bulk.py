"""The same decision for many orders at once (the review desk's bulk approve and cancel)."""

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from temporalio.service import RPCError

from orders.models import Order
from orders.temporal.errors import MessageRejected, TemporalUnavailable
from orders.temporal.messages import NoRunningWorkflow, closed_refusal, send, update_id
from orders.temporal.runner import _runner


@dataclass(frozen=True)
class BulkOutcome:
    DONE, PROCESSING, REFUSED, UNKNOWN = "done", "processing", "refused", "unknown"

    order_id: str
    outcome: str
    detail: str = ""


def decide_many(order_ids: list[str], update: str, request: Any) -> list[BulkOutcome]:
    """Send the same decision (update `update` with argument `request`) to many orders at once, at most
    BULK_REVIEW_CONCURRENCY at a time on the client's loop, within BULK_REVIEW_BUDGET seconds in all. Each order's
    validator answers for it: done (its outcome is known), processing (accepted, outcome still running), refused
    (with the reason) or unknown (not taken in time: nothing is known, try again). When there are more orders than
    are sent at once, the decisions come first: what they set going (payments, shipments) starts when the budget is
    over (workflows/order/review.py, Review.answer_first), instead of slowing down the acceptance of the rest."""
    budget = settings.BULK_REVIEW_BUDGET
    request = replace(request, bulk=True)
    hold = len(order_ids) > settings.BULK_REVIEW_CONCURRENCY
    # One id per order for the same reviewer's bulk decision: repeating the action on an order whose decision was
    # accepted after the answer went out gets that decision's outcome again, not a refusal of a second one.
    bulk_id = update_id(update, request.actor, "bulk")

    async def decide() -> list[BulkOutcome]:
        loop = asyncio.get_running_loop()
        deadline, gate = loop.time() + budget, asyncio.Semaphore(settings.BULK_REVIEW_CONCURRENCY)

        async def one(order_id: str) -> BulkOutcome:
            remaining = deadline - loop.time()
            try:
                # Bounded while it is sent (until its validator answers); its outcome is then awaited apart.
                result = await send(order_id, update, request, bulk_id, wait=remaining, sending=gate, hold=hold)
            except MessageRejected as exc:
                return BulkOutcome(order_id, BulkOutcome.REFUSED, str(exc))
            except NoRunningWorkflow:
                return BulkOutcome(order_id, BulkOutcome.REFUSED, "")  # closed: the database says how
            except (TemporalUnavailable, RPCError) as exc:
                return BulkOutcome(order_id, BulkOutcome.UNKNOWN, str(exc))
            if result.still_processing:
                return BulkOutcome(order_id, BulkOutcome.PROCESSING, result.detail)
            return BulkOutcome(order_id, BulkOutcome.DONE, result.detail)

        return await asyncio.gather(*(one(order_id) for order_id in order_ids))

    outcomes = _runner.run(decide(), timeout=budget + 5)
    closed = [o.order_id for o in outcomes if o.outcome == BulkOutcome.REFUSED and not o.detail]
    statuses = dict(Order.objects.filter(pk__in=closed).values_list("pk", "status"))
    return [
        BulkOutcome(o.order_id, o.outcome, closed_refusal(statuses[o.order_id]) if o.order_id in statuses else "order not found")
        if o.order_id in closed
        else o
        for o in outcomes
    ]
