"""Reviewer decisions, one order or many at once, with a truthful outcome per order (used by the admin, the API and
the CLI). The workflow is the judge: each order's validator accepts or refuses, with the reason."""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Optional

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from orders.models import Order, OrderEvent
from orders.temporal import client
from orders.temporal.bulk import BulkOutcome
from workflows.types import ApproveRequest, CancelRequest, Roles

SHOWN_IDS = 20  # longer lists are summarised: "A, B, ... and 180 more"


class TooManyOrders(Exception):
    """More orders than BULK_REVIEW_CAP: nothing was sent."""


@dataclass
class ReviewOutcome:
    """What happened to each order of a decision: done (with the workflow's detail, e.g. "approved 1 of 2"),
    still processing, refused with the reason, or unknown (not taken in time: try again)."""

    verb: str
    done: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)  # the workflow's word on orders that were done

    @classmethod
    def of(cls, verb: str, outcomes: list[BulkOutcome]) -> "ReviewOutcome":
        outcome = cls(verb=verb)
        for o in outcomes:
            if o.outcome == BulkOutcome.DONE:
                outcome.done.append(o.order_id)
                if o.detail:
                    outcome.details[o.order_id] = o.detail
            elif o.outcome == BulkOutcome.PROCESSING:
                outcome.pending.append(o.order_id)
            elif o.outcome == BulkOutcome.UNKNOWN:
                outcome.unknown.append(o.order_id)
            else:
                outcome.refused.append((o.order_id, o.detail))
        return outcome

    def counts(self) -> dict[str, int]:
        return {"done": len(self.done), "processing": len(self.pending), "refused": len(self.refused), "unknown": len(self.unknown)}

    def messages(self) -> list[tuple[str, str]]:
        """(level, text) pairs, e.g. ("success", "Approved: A, B.") and
        ("error", "Not approved (order already cancelled): C.")"""
        out = []
        partial = [order_id for order_id in self.done if "of 2" in self.details.get(order_id, "")]
        complete = [order_id for order_id in self.done if order_id not in partial]
        if complete:
            out.append(("success", f"{self.verb.capitalize()}: {_ids(complete)}."))
        if partial:
            out.append(("success", f"Approved 1 of 2 (a second reviewer must approve): {_ids(partial)}."))
        if self.pending:
            out.append(("warning", f"Accepted, still processing: {_ids(self.pending)}."))
        if self.unknown:
            out.append(("warning", f"Outcome unknown (not taken in time; try again): {_ids(self.unknown)}."))
        by_reason = defaultdict(list)
        for order_id, reason in self.refused:
            by_reason[reason].append(order_id)
        for reason, ids in sorted(by_reason.items(), key=lambda item: -len(item[1])):
            out.append(("error", f"Not {self.verb} ({reason}): {_ids(ids)}."))
        return out


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown if len(ids) <= SHOWN_IDS else f"{shown} and {len(ids) - SHOWN_IDS} more"


def _check_cap(order_ids: list[str]) -> None:
    if len(order_ids) > settings.BULK_REVIEW_CAP:
        raise TooManyOrders(
            f"{len(order_ids)} orders selected; at most {settings.BULK_REVIEW_CAP} can be decided at once. Nothing was sent."
        )


def approve_orders(order_ids: list[str], *, actor: str, note: str = "") -> ReviewOutcome:
    _check_cap(order_ids)
    request = ApproveRequest(actor=actor, note=note, role=Roles.REVIEWER)
    return ReviewOutcome.of("approved", client.decide_many(order_ids, "approve", request))


def cancel_orders(order_ids: list[str], *, actor: str, code: str, note: str = "", role: str = Roles.REVIEWER) -> ReviewOutcome:
    _check_cap(order_ids)
    request = CancelRequest(actor=actor, code=code, note=note, role=role)
    return ReviewOutcome.of("cancelled", client.decide_many(order_ids, "cancel", request))


def single(verb: str, order_id: str, send) -> ReviewOutcome:
    """One decision on one order, told the same way as many."""
    try:
        result = send()
    except client.TemporalUnavailable:
        return ReviewOutcome(verb=verb, unknown=[order_id])
    except client.OrderClientError as exc:
        return ReviewOutcome(verb=verb, refused=[(order_id, str(exc))])
    if result.still_processing:
        return ReviewOutcome(verb=verb, pending=[order_id])
    return ReviewOutcome(verb=verb, done=[order_id], details={order_id: result.detail} if result.detail else {})


def update_address(order_id: str, *, actor: str, address: dict) -> ReviewOutcome:
    return single("re-addressed", order_id, lambda: client.update_address(order_id, actor=actor, address=address))


def next_in_queue(user, after: Optional[Order] = None) -> Optional[Order]:
    """The oldest order waiting for review that nobody else holds a live claim on, that the user has not already
    approved (the second approval of a four-eyes order is someone else's), and not `after`."""
    now, username = timezone.now(), user.get_username()
    waiting: QuerySet[Order] = Order.objects.filter(status=Order.Status.AWAITING_REVIEW)
    approved = OrderEvent.objects.filter(type=OrderEvent.Type.APPROVAL_RECORDED, actor=username).values("order_id")
    free = waiting.exclude(pk__in=approved).filter(
        Q(claimed_by="") | Q(claimed_by=username) | Q(claimed_until__lte=now) | Q(claimed_until=None)
    )
    if after is not None:
        free = free.exclude(pk=after.pk)
    return free.order_by("review_started_at", "created_at", "pk").first()
