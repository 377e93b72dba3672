"""`manage.py bench_waits` (what `make bench-waits` runs): long polls beside everything else (bench/waits.py).

On a freshly booted stack (`manage.py run_stack`: the default 2 web processes), --orders orders are left waiting for
review, spread over --clients order clients; then every one of them is waited on at once with
GET /orders/{id}/status?wait=--wait, while probes read /healthz, the admin's order page and GET /orders/{id}/ (each
every --every seconds); the same probes alone, for --alone seconds before, are the baseline.
Figures go to var/bench/waits-*.json. It fails when a wait was cut short or anything answered 5xx; it never
asserts a timing.
"""

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from rich.console import Console
from rich.table import Table

from bench import waits
from bench.stack import boot, fresh_database
from orders.management.commands._exit import TemporalCommand


class Command(TemporalCommand):
    help = "Many concurrent ?wait long polls beside /healthz, the admin and the API; writes var/bench/waits-*.json."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=500, help="unfinished orders, each waited on at once")
        parser.add_argument("--clients", type=int, default=10, help="order clients (API tokens) the orders are spread over")
        parser.add_argument("--wait", type=float, default=60.0, help="the ?wait of every long poll, in seconds")
        parser.add_argument("--alone", type=float, default=20.0, help="seconds of probes alone first, the baseline")
        parser.add_argument("--every", type=float, default=0.1, help="seconds between two requests of one probe")

    def handle(self, *args, **options):
        console = Console()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        work_dir = Path(settings.BASE_DIR) / "var" / "bench" / f"waits-{stamp}"
        with console.status("Booting a stack (2 web processes)"):
            stack = boot(work_dir, worker_processes=1, database_url=fresh_database(work_dir))
        try:
            tokens = waits.client_tokens(stack, options["clients"])
            with console.status(f"{options['orders']} orders left waiting for review, from {len(tokens)} clients"):
                owners = waits.place_orders(stack, tokens, options["orders"], uuid.uuid4().hex[:6])
            with console.status(f"{len(owners)} waits of {options['wait']:g}s at once, probes meanwhile"):
                report = waits.run(
                    stack, owners, wait=options["wait"], admin=("reviewer", "reviewer"), alone=options["alone"], every=options["every"]
                )
        finally:
            stack.stop()
        report = {"started_at": stamp, "clients": len(tokens), **report}
        path = work_dir.parent / f"waits-{stamp}.json"
        path.write_text(json.dumps(report, indent=2))
        self._print(console, report)
        self.stdout.write(f"Figures written to {path.relative_to(settings.BASE_DIR)}")
        if report["waits_cut_short"] or report["server_errors"] or report["no_answer"]:
            raise CommandError(
                f"{report['waits_cut_short']} waits cut short, {report['server_errors']} answers 5xx, "
                f"{report['no_answer']} requests unanswered: {report['cut_short_examples']}"
            )

    def _print(self, console: Console, report: dict) -> None:
        table = Table(title=f"{report['waits']} waits of {report['wait_seconds']:g}s at once from {report['clients']} clients")
        table.add_column("figure")
        table.add_column("value", justify="right")
        rows = [
            ("waits answered (by status)", ", ".join(f"{code}: {n}" for code, n in report["wait_statuses"].items())),
            ("waits cut short", str(report["waits_cut_short"])),
            ("5xx answers / unanswered requests", f"{report['server_errors']} / {report['no_answer']}"),
            ("waits answered after, p50 / p99 s", f"{report['wait_answered_after']['p50']} / {report['wait_answered_after']['p99']}"),
        ]
        for name, probe in report["probes"].items():
            alone = report["probes_alone"][name]
            rows.append((f"{name} with the waits open: p50 / p95 / p99 s", f"{probe['p50']} / {probe['p95']} / {probe['p99']}"))
            rows.append((f"{name} alone: p50 / p95 / p99 s", f"{alone['p50']} / {alone['p95']} / {alone['p99']}"))
        rows.append(("OS threads of the web processes", ", ".join(map(str, report["web_process_threads"].values()))))
        for name, value in rows:
            table.add_row(name, value)
        console.print(table)
