"""`manage.py reconcile`: every order row against its workflow, payments and holds (ours and the gateway's ledger)
against the final status, and the stuck orders (no progress for longer than ORDER_STUCK_AFTER). Exits 0 when all is
well, 1 on any drift (each named), 2 when Temporal or the database can't be reached."""

import json

from django.core.management.base import CommandError
from rich.console import Console
from rich.table import Table

from orders import reconcile
from orders.management.commands._exit import TemporalCommand
from orders.temporal import client, stuck


class Command(TemporalCommand):
    help = "Compare the orders table with the workflows, and the payments and holds (ours and the gateway's) with the final statuses."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument("--concurrency", type=int, default=32, help="workflows asked at once")
        parser.add_argument("--settle", type=float, default=2.0, help="seconds before a running order's difference is looked at again")

    def handle(self, *args, **options):
        try:
            report = reconcile.reconcile(
                lambda ids: client.order_workflows(ids, concurrency=options["concurrency"]),
                settle_seconds=options["settle"],
                stuck=stuck.stuck_orders,
            )
        except client.TemporalUnavailable as exc:
            raise CommandError(f"Temporal is unreachable: {exc}", returncode=2) from exc
        reconcile.record(report)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self._table(report)
        if not report.clean:
            raise CommandError(f"drift in {len({d.order_id for d in report.drift})} orders", returncode=1)

    def _table(self, report: reconcile.Report) -> None:
        console = Console(file=self.stdout, width=160)
        if report.drift:
            table = Table("Order", "Drift", "Detail", title="Drift")
            for drift in report.drift:
                table.add_row(drift.order_id, drift.kind, drift.detail)
            console.print(table)
        verdict = "clean" if report.clean else f"{len(report.drift)} differences"
        console.print(f"{report.rows} rows, {report.workflows} workflows, {verdict} ({report.seconds:.1f} s)")
