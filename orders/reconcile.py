"""Reconciliation: the `orders` table against the workflows that own the orders, payments and holds (ours and the
gateway's ledger) against the final status, and the running orders that are stuck (orders/temporal/stuck.py).
`manage.py reconcile` runs it; `check_status` shows the last run."""

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from orders.audit import WorkflowView
from orders.models import GatewayLedgerEntry, Order, Payment, ReconcileRun
from orders.temporal.stuck import StuckOrder
from workflows.types import ErrorTypes

log = logging.getLogger(__name__)

# Workflows that end this way never made a row (their first step refused the order): not drift.
NEVER_CREATED = {ErrorTypes.CONFLICT, ErrorTypes.PAYMENT_ID_IN_USE}


class Kinds:
    MISSING_WORKFLOW = "missing_workflow"
    MISSING_ROW = "missing_row"
    STATUS_DIFFERS = "status_differs"
    CLOSED_NOT_FINAL = "closed_not_final"
    WORKFLOW_NOT_COMPLETED = "workflow_not_completed"
    CAPTURED_NOT_COMPLETED = "captured_not_completed"
    AUTHORIZATION_LEFT_OPEN = "authorization_left_open"
    GATEWAY_CAPTURED_NOT_COMPLETED = "gateway_captured_not_completed"
    STUCK = "stuck"


@dataclass(frozen=True)
class Drift:
    order_id: str
    kind: str
    detail: str


@dataclass
class Report:
    rows: int = 0
    workflows: int = 0
    drift: list[Drift] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return not self.drift

    def as_dict(self) -> dict:
        return {"clean": self.clean, "rows": self.rows, "workflows": self.workflows, "seconds": round(self.seconds, 2),
                "drift": [asdict(d) for d in self.drift]}


WorkflowSource = Callable[[Optional[list[str]]], dict[str, WorkflowView]]


def reconcile(
    workflows: WorkflowSource, settle_seconds: float = 2.0, stuck: Optional[Callable[[], list[StuckOrder]]] = None
) -> Report:
    """Compare every row with its workflow. `workflows(None)` lists every order workflow; `workflows(ids)`
    looks again at some. A status that differs while the workflow runs is looked at again after
    `settle_seconds`, since the row follows the workflow a moment later. `stuck()` lists the stuck orders: each
    is drift, and a warning in the log."""
    began = time.monotonic()
    views = workflows(None)
    rows = dict(Order.objects.values_list("id", "status"))
    drift = _compare(rows, views)
    moving = [d.order_id for d in drift if d.kind == Kinds.STATUS_DIFFERS and views[d.order_id].running]
    if moving:
        time.sleep(settle_seconds)
        views.update(workflows(moving))
        rows.update(Order.objects.filter(pk__in=moving).values_list("id", "status"))
        again = _compare({i: rows[i] for i in moving}, {i: views[i] for i in moving})
        drift = [d for d in drift if d.order_id not in moving] + again
    drift += _payments() + _open_holds() + _gateway_captures() + _stuck(stuck() if stuck else [])
    drift.sort(key=lambda d: (d.order_id, d.kind))
    return Report(rows=len(rows), workflows=len(views), drift=drift, seconds=time.monotonic() - began)


def _compare(rows: dict[str, str], views: dict[str, WorkflowView]) -> list[Drift]:
    terminal = set(Order.terminal_statuses())
    found = []
    for order_id, status in rows.items():
        view = views.get(order_id)
        if view is None:
            found.append(Drift(order_id, Kinds.MISSING_WORKFLOW, f"the row says {status}; Temporal has no workflow"))
        elif not view.running and status not in terminal:
            found.append(Drift(order_id, Kinds.CLOSED_NOT_FINAL, f"the workflow is {view.execution_status}; the row says {status}"))
        elif view.execution_status not in ("RUNNING", "COMPLETED"):
            found.append(Drift(order_id, Kinds.WORKFLOW_NOT_COMPLETED, f"the workflow is {view.execution_status}; the row says {status}"))
        elif view.order_status != status:
            found.append(Drift(order_id, Kinds.STATUS_DIFFERS, f"the workflow says {view.order_status}; the row says {status}"))
    for order_id, view in views.items():
        if order_id not in rows and view.failure_type not in NEVER_CREATED:
            found.append(Drift(order_id, Kinds.MISSING_ROW, f"the workflow is {view.execution_status} ({view.order_status or 'no status'}); there is no row"))
    return found


def _payments() -> list[Drift]:
    finished_elsewhere = Q(order__status__in=Order.terminal_statuses()) & ~Q(order__status=Order.Status.COMPLETED)
    kept = Payment.objects.filter(finished_elsewhere, status=Payment.Status.CAPTURED).values_list("order_id", "payment_id", "order__status")
    return [
        Drift(order_id, Kinds.CAPTURED_NOT_COMPLETED, f"payment {payment_id} is captured; the order is {status}")
        for order_id, payment_id, status in kept
    ]


def _open_holds() -> list[Drift]:
    """A hold still open, in our books or the gateway's, on an order that is final: nothing will capture or release it.
    One line per payment id, naming where it is open."""
    final = Order.terminal_statuses()
    ours = Payment.objects.filter(order__status__in=final, status=Payment.Status.AUTHORIZED)
    theirs = _ledger(GatewayLedgerEntry.State.AUTHORIZED, final)
    open_holds: dict[tuple[str, str], dict] = {}
    fields = ("order_id", "payment_id", "expires_at", "order_status")
    for place, entries in (("here", ours.annotate(order_status=F("order__status")).values(*fields)), ("at the gateway", theirs.values(*fields))):
        for entry in entries:
            hold = open_holds.setdefault((entry["order_id"], entry["payment_id"]), {**entry, "places": []})
            hold["places"].append(place)
    return [
        Drift(h["order_id"], Kinds.AUTHORIZATION_LEFT_OPEN,
              f"payment {h['payment_id']} is authorized {' and '.join(h['places'])}{_until(h['expires_at'])}; the order is {h['order_status']}")
        for h in open_holds.values()
    ]


def _gateway_captures() -> list[Drift]:
    """Money the gateway keeps (captured, not refunded) for an order that did not complete."""
    finished_elsewhere = [s for s in Order.terminal_statuses() if s != Order.Status.COMPLETED]
    kept = _ledger(GatewayLedgerEntry.State.CAPTURED, finished_elsewhere).values_list("order_id", "payment_id", "amount", "currency", "order_status")
    return [
        Drift(order_id, Kinds.GATEWAY_CAPTURED_NOT_COMPLETED, f"the gateway keeps capture {payment_id} ({amount} {currency}); the order is {status}")
        for order_id, payment_id, amount, currency, status in kept
    ]


def _ledger(state: str, statuses: list[str]):
    """The gateway's entries in `state` for orders in one of `statuses` (the ledger knows our order ids, not our rows)."""
    orders = Order.objects.filter(status__in=statuses).values("pk")
    status = Order.objects.filter(pk=OuterRef("order_id")).values("status")[:1]
    return GatewayLedgerEntry.objects.filter(state=state, order_id__in=orders).annotate(order_status=Subquery(status))


def _until(expires_at) -> str:
    return f" (held until {expires_at:%Y-%m-%d %H:%M} UTC)" if expires_at else ""


def _stuck(orders: list[StuckOrder]) -> list[Drift]:
    for order in orders:
        log.warning(
            "order %s is stuck in %s", order.order_id, order.step,
            extra={"order_id": order.order_id, "workflow_id": order.workflow_id, "step": order.step,
                   "attempt": order.attempt, "error": order.error, "reason": order.reason},
        )
    return [Drift(order.order_id, Kinds.STUCK, order.detail) for order in orders]


def record(report: Report) -> ReconcileRun:
    return ReconcileRun.objects.create(
        finished_at=timezone.now(), rows=report.rows, workflows=report.workflows, drift=report.as_dict()["drift"], seconds=report.seconds
    )
