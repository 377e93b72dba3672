"""`manage.py demo`: the 15-second demo, against the running stack (`make run`).

Creates N orders and drives them concurrently (at most --concurrency at a time, 16 by default), as a shop and a
reviewer would: start, approve once it waits for review, follow it to the end. It shows a progress bar, then a
table and a summary line (orders/s, per-order median and max). Its orders/s measures the system, not the demo.

Faults off: it fails unless every order completes in under 15 s. With --flaky, the orders run with every fault
mode at 30 % (failures before the side effect, and replies lost after it: retries, lookups and sometimes
compensation), one in ten pays with a card that is declined and one in ten is cancelled by the reviewer (its hold
voided); it then fails only if an order does not reach a final state.

Either way every order is audited (orders/audit.py) against the gateway's ledger and the carrier's shipments:
money kept only for completed orders, at most one capture, no authorization left open, at most one shipment and
only for those, a complete event trail, and a workflow that completed with the status the database has.
"""

import statistics
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Optional

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, close_old_connections
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from orders.audit import order_problems
from orders.management.commands._exit import TemporalCommand
from orders.models import Order, Payment
from orders.temporal import client
from workflows.types import CancelCodes, FaultSettings

LIMIT_SECONDS = 15.0
DEMO_FAULTS = FaultSettings(failure_rate=0.3, max_delay_seconds=0.3, lost_reply_rate=0.3)
REVIEWER = "demo-reviewer"
POLL_SECONDS = 0.05
TABLE_ROWS = 20  # longer runs are summarised by status, with every order that has a problem
# A workflow closes just after its order's final write: how long the audit waits for the last ones.
CLOSE_WAIT_SECONDS = 10.0


@dataclass
class Run:
    order_id: str
    started: float
    finished: Optional[float] = None
    status: str = "missing"

    @property
    def seconds(self) -> Optional[float]:
        return None if self.finished is None else self.finished - self.started


class Command(TemporalCommand):
    help = "Run N orders end to end, concurrently, against the running stack; report each one's time and status."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=5)
        parser.add_argument("--concurrency", type=int, default=16, help="orders in flight at once")
        parser.add_argument("--flaky", action="store_true", help="inject faults into the gateway, warehouse and carrier")
        parser.add_argument("--timeout", type=float, default=120.0, help="give up on the run after this many seconds")
        parser.add_argument(
            "--auto-approve-below", type=int, metavar="SCORE",
            help="route the demo's orders by risk: the policy approves those scoring below SCORE (RISK_AUTO_APPROVE_BELOW)",
        )  # fmt: skip

    def handle(self, *args, orders, concurrency, flaky, timeout, auto_approve_below=None, **options):
        if orders < 1 or concurrency < 1:
            raise CommandError("--orders and --concurrency must be at least 1")
        console = Console()
        if auto_approve_below is not None:
            settings.RISK_AUTO_APPROVE_BELOW = auto_approve_below  # snapshotted into each order this process starts
        try:
            client.ping()
        except client.TemporalUnavailable as exc:
            raise CommandError(f"{exc}. Is the stack running (make run)?")

        run_id = uuid.uuid4().hex[:6]
        faults = DEMO_FAULTS if flaky else None
        deadline = time.monotonic() + timeout
        runs = []
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=console) as progress, ThreadPoolExecutor(concurrency) as pool:
            task = progress.add_task("Orders finished", total=orders)
            futures = [pool.submit(drive, f"demo-{run_id}-{n}", n, faults, deadline) for n in range(1, orders + 1)]
            for future in as_completed(futures):
                runs.append(future.result())
                progress.advance(task)
        runs.sort(key=lambda r: r.started)

        problems = self._report(console, runs, flaky)
        done = [r for r in runs if r.finished is not None]
        if done:
            times = sorted(r.seconds for r in done)
            wall = max(r.finished for r in done) - min(r.started for r in runs)
            self.stdout.write(
                f"{len(done)} of {orders} orders finished in {wall:.1f}s ({len(done) / wall:.1f} orders/s, "
                f"{concurrency} at a time); per order: median {statistics.median(times):.2f}s, max {times[-1]:.2f}s"
            )
        if problems:
            shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
            raise CommandError("; ".join(shown))
        self.stdout.write(self.style.SUCCESS(f"All {orders} orders finished as expected."))

    def _report(self, console, runs: list[Run], flaky: bool) -> list[str]:
        ids = [r.order_id for r in runs]
        verdicts = {r.order_id: check_order(r.order_id, r.status, r.seconds, flaky) for r in runs}
        audited = order_problems(ids, closed_workflows(ids))
        for order_id, found in audited.items():
            verdicts[order_id] += [f"{order_id}: {problem}" for problem in found]
        orders = {o.pk: o for o in Order.objects.filter(pk__in=ids)}
        payments = {}
        for order_id, status in Payment.objects.filter(order_id__in=ids).values_list("order_id", "status"):
            payments.setdefault(order_id, []).append(status)

        shown = runs if len(runs) <= TABLE_ROWS else [r for r in runs if verdicts[r.order_id]]
        table = Table(title="Demo orders" if shown is runs else "Demo orders with a problem")
        # "by": who took the review's decision; "attempts": shipping attempts.
        for column in ("order", "status", "seconds", "risk", "by", "attempts", "payments", "reason"):
            # What the run is judged by never wraps; the other columns give way on a narrow terminal.
            table.add_column(
                column, justify="right" if column in ("seconds", "attempts") else "left",
                no_wrap=column in ("order", "status", "seconds", "risk", "by"),
            )  # fmt: skip
        for r in shown:
            order = orders.get(r.order_id)
            table.add_row(
                r.order_id,
                r.status,
                f"{r.seconds:.2f}" if r.seconds is not None else "-",
                f"{order.risk_score} {order.risk_band}" if order and order.risk_score is not None else "-",
                (order.decided_by or "-") if order else "-",
                str(order.shipping_attempts if order else 0),
                ", ".join(payments.get(r.order_id, [])) or "-",
                order.status_reason if order else "",
            )
        if shown:
            console.print(table)
        if shown is not runs:
            console.print(summary_table(runs))
        return [problem for r in runs for problem in verdicts[r.order_id]]


def drive(order_id: str, n: int, faults, deadline: float) -> Run:
    """One order, as a shop and a reviewer would drive it, in a pool thread (with its own database connection)."""
    run = Run(order_id=order_id, started=time.monotonic())
    try:
        # With faults, some orders also take the other paths: a declined card, a reviewer's cancel.
        declined, cancelled = faults is not None and n % 10 == 5, faults is not None and n % 10 == 0
        payment = {"payment_id": f"decline-{order_id}"} if declined else {}
        try:
            client.start_order(order_id=order_id, faults=faults, **sample_order(n), **payment)
        except (client.OrderClientError, DatabaseError) as exc:
            run.status = f"not started ({exc})"
            return run
        approved = False
        while time.monotonic() < deadline:
            status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
            run.status = status or "missing"
            if status in Order.terminal_statuses():
                run.finished = time.monotonic()
                break
            if status == Order.Status.AWAITING_REVIEW and not approved:
                approved = True
                try:
                    if cancelled:
                        client.cancel(order_id, actor=REVIEWER, code=CancelCodes.OUT_OF_STOCK)
                    else:
                        client.approve(order_id, actor=REVIEWER)
                except client.MessageRejected:
                    pass  # decided meanwhile; the final status tells
                continue
            time.sleep(POLL_SECONDS)
        return run
    finally:
        close_old_connections()


def summary_table(runs: list[Run]) -> Table:
    table = Table(title="Demo orders by final status")
    for column in ("status", "orders", "median s", "max s"):
        table.add_column(column, justify="left" if column == "status" else "right")
    for status, count in Counter(r.status for r in runs).most_common():
        times = sorted(r.seconds for r in runs if r.status == status and r.seconds is not None)
        median = f"{statistics.median(times):.2f}" if times else "-"
        table.add_row(status, str(count), median, f"{times[-1]:.2f}" if times else "-")
    return table


def closed_workflows(order_ids: list[str]) -> dict:
    deadline = time.monotonic() + CLOSE_WAIT_SECONDS
    while True:
        outcomes = client.order_workflows(order_ids)
        if time.monotonic() > deadline or not any(o.running for o in outcomes.values()):
            return outcomes
        time.sleep(0.2)


def check_order(order_id: str, status: str, seconds, flaky: bool) -> list[str]:
    """The run's own verdict: every order finished; without faults, completed in time."""
    if seconds is None:
        return [f"{order_id} did not finish (it is {status})"]
    if flaky:
        return []
    if status != Order.Status.COMPLETED:
        return [f"{order_id} ended {status}, not completed"]
    if seconds >= LIMIT_SECONDS:
        return [f"{order_id} took {seconds:.1f}s (limit {LIMIT_SECONDS:.0f}s)"]
    return []


def sample_order(n: int) -> dict:
    return {
        "customer_name": f"Demo Customer {n}",
        "customer_email": f"demo{n}@example.com",
        "items": [{"sku": f"SKU-{n}", "quantity": 1 + n % 3, "unit_price": "19.99"}],
        "currency": "USD",
        "shipping_address": {
            "name": f"Demo Customer {n}",
            "line1": f"{n} Demo Street",
            "line2": "",
            "city": "Springfield",
            "postal_code": "12345",
            "country": "US",
        },
    }
