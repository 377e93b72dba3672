"""The risk figures of the review dashboard, from one GROUP BY over the orders received in the window (their
created_at is indexed): who took the review's decision (the policy, a person, the review timing out, the customer
withdrawing), the approval rate per band, how often people go against the route the policy gives, and confirmed
fraud per band. The review's decision is the order's first (`decided_by`, `decision`): a later cancel, e.g. by the
customer after an approval, does not change it."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from django.db.models import Count, Q

from orders.models import Order
from workflows.risk import Band, Route

WINDOW = timedelta(days=30)
PERSON, POLICY, SYSTEM, CLIENT = Order.DecidedBy.PERSON, Order.DecidedBy.POLICY, Order.DecidedBy.SYSTEM, Order.DecidedBy.CLIENT
APPROVED, CANCELLED = Order.Decision.APPROVED, Order.Decision.CANCELLED


@dataclass(frozen=True)
class Share:
    label: str
    count: int
    of: int

    @property
    def rate(self) -> Optional[float]:
        return self.count / self.of if self.of else None


def risk_figures(now: datetime) -> dict:
    rows = list(
        Order.objects.filter(created_at__gte=now - WINDOW)
        .filter(~Q(decided_by="") | Q(fraud=Order.Fraud.CONFIRMED))
        .values("risk_band", "decided_by")
        .annotate(
            orders=Count("pk"),
            approved=Count("pk", filter=Q(decision=APPROVED)),
            cancelled=Count("pk", filter=Q(decision=CANCELLED)),
            routed=Count("pk", filter=~Q(risk_route="")),
            against=Count(
                "pk", filter=Q(decision=APPROVED, risk_route=Route.CANCEL) | Q(decision=CANCELLED, risk_route=Route.APPROVE)
            ),
            fraud=Count("pk", filter=Q(fraud=Order.Fraud.CONFIRMED)),
        )
    )
    return {
        "since": now - WINDOW,
        "deciders": _deciders(rows),
        "bands": [_band(band, [r for r in rows if r["risk_band"] == band]) for band in Band.ALL],
        "against_policy": _against_policy([r for r in rows if r["decided_by"] == PERSON]),
    }


def _sum(rows: list[dict], column: str, decided_by: Optional[str] = None) -> int:
    return sum(r[column] for r in rows if decided_by is None or r["decided_by"] == decided_by)


def _deciders(rows: list[dict]) -> list[Share]:
    decided = [r for r in rows if r["decided_by"]]
    total = _sum(decided, "orders")
    return [
        Share("Approved by the risk policy", _sum(decided, "approved", POLICY), total),
        Share("Decided by a person", _sum(decided, "orders", PERSON), total),
        Share("Cancelled by the risk policy", _sum(decided, "cancelled", POLICY), total),
        Share("Cancelled as the review timed out", _sum(decided, "orders", SYSTEM), total),
        Share("Withdrawn by the customer before a decision", _sum(decided, "orders", CLIENT), total),
    ]


def _band(band: str, rows: list[dict]) -> dict:
    """The band's decided orders; its approval rate is of the decisions a person or the policy took."""
    decided = [r for r in rows if r["decided_by"]]
    reviewed = [r for r in decided if r["decided_by"] in (PERSON, POLICY)]
    approved, refused = _sum(reviewed, "approved"), _sum(reviewed, "cancelled")
    return {
        "band": band,
        "decided": _sum(decided, "orders"),
        "approval": Share("approved", approved, approved + refused),
        "fraud": _sum(rows, "fraud"),
    }


def _against_policy(rows: list[dict]) -> Share:
    """A person's decision against the route the policy gives: approving what it would cancel, or cancelling what
    it would approve. Only decisions on orders the policy routed count."""
    return Share("against the policy's route", _sum(rows, "against"), _sum(rows, "routed"))
