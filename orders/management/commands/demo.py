"""`manage.py demo`: the 15-second demo, against the running stack (`make run`).

Creates N orders, approves each as a reviewer would once it waits for review, and follows them to the end, with a
progress bar and a closing table. Faults off: fails unless every order completes in under 15 s. With --flaky, the
orders run with fault injection (retries, and sometimes compensation); it then fails only if an order does not
reach a final state or its payments break the rules (one charge at most, refunded unless completed).
"""

import statistics
import time
import uuid

from django.core.management.base import CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from orders.management.commands._exit import TemporalCommand
from orders.models import Order, Payment
from workflows import client
from workflows.types import FaultSettings

LIMIT_SECONDS = 15.0
DEMO_FAULTS = FaultSettings(failure_rate=0.3, max_delay_seconds=0.3)
REVIEWER = "demo-reviewer"


class Command(TemporalCommand):
    help = "Run N orders end to end against the running stack and report each one's time and final status."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=5)
        parser.add_argument("--flaky", action="store_true", help="inject faults into the gateway, warehouse and carrier")
        parser.add_argument("--timeout", type=float, default=120.0, help="give up on the run after this many seconds")

    def handle(self, *args, orders, flaky, timeout, **options):
        if orders < 1:
            raise CommandError("--orders must be at least 1")
        console = Console()
        try:
            client.ping()
        except client.TemporalUnavailable as exc:
            raise CommandError(f"{exc}. Is the stack running (make run)?")

        run = uuid.uuid4().hex[:6]
        started: dict[str, float] = {}
        finished: dict[str, float] = {}
        approved: set[str] = set()
        faults = DEMO_FAULTS if flaky else None
        for n in range(1, orders + 1):
            order_id = f"demo-{run}-{n}"
            client.start_order(order_id=order_id, faults=faults, **sample_order(n))
            started[order_id] = time.monotonic()

        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        deadline = time.monotonic() + timeout
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("Orders finished", total=orders)
            while len(finished) < orders and time.monotonic() < deadline:
                statuses = dict(Order.objects.filter(pk__in=started).values_list("pk", "status"))
                for order_id, status in statuses.items():
                    if status == Order.Status.AWAITING_REVIEW and order_id not in approved:
                        try:
                            client.approve(order_id, actor=REVIEWER)
                        except client.MessageRejected:
                            pass  # decided meanwhile; the final status tells
                        approved.add(order_id)
                    if status in Order.terminal_statuses() and order_id not in finished:
                        finished[order_id] = time.monotonic()
                        progress.advance(task)
                time.sleep(0.05)

        problems = self._report(console, started, finished, flaky)
        if finished:
            times = sorted(finished[o] - started[o] for o in finished)
            wall = max(finished.values()) - min(started.values())
            self.stdout.write(
                f"{len(finished)} of {orders} orders finished in {wall:.1f}s "
                f"({len(finished) / wall:.1f} orders/s); per order: median {statistics.median(times):.2f}s, "
                f"max {times[-1]:.2f}s"
            )
        if problems:
            raise CommandError("; ".join(problems))
        self.stdout.write(self.style.SUCCESS(f"All {orders} orders finished as expected."))

    def _report(self, console, started, finished, flaky) -> list[str]:
        table = Table(title="Demo orders")
        for column in ("order", "status", "seconds", "shipping attempts", "payments", "reason"):
            table.add_column(column, justify="right" if column in ("seconds", "shipping attempts") else "left")
        orders = {o.pk: o for o in Order.objects.filter(pk__in=started)}
        problems = []
        for order_id, began in started.items():
            order = orders.get(order_id)
            status = order.status if order else "missing"
            seconds = finished[order_id] - began if order_id in finished else None
            payments = list(Payment.objects.filter(order_id=order_id).values_list("status", flat=True))
            table.add_row(
                order_id,
                status,
                f"{seconds:.2f}" if seconds is not None else "-",
                str(order.shipping_attempts if order else 0),
                ", ".join(payments) or "-",
                order.status_reason if order else "",
            )
            problems += check_order(order_id, status, seconds, payments, flaky)
        console.print(table)
        return problems


def check_order(order_id: str, status: str, seconds, payments: list[str], flaky: bool) -> list[str]:
    if seconds is None:
        return [f"{order_id} did not finish (it is {status})"]
    problems = []
    captured_or_refunded = [p for p in payments if p in (Payment.Status.CAPTURED, Payment.Status.REFUNDED)]
    if len(captured_or_refunded) > 1:
        problems.append(f"{order_id} was charged {len(captured_or_refunded)} times")
    if status != Order.Status.COMPLETED and Payment.Status.CAPTURED in payments:
        problems.append(f"{order_id} is {status} but its payment was not refunded")
    if not flaky:
        if status != Order.Status.COMPLETED:
            problems.append(f"{order_id} ended {status}, not completed")
        elif seconds >= LIMIT_SECONDS:
            problems.append(f"{order_id} took {seconds:.1f}s (limit {LIMIT_SECONDS:.0f}s)")
    return problems


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
