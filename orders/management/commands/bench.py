"""`manage.py bench` (what `make bench` runs): throughput and latency through the REST API, beside a bare Temporal
skeleton measured in the same run, with CPU and memory per process role. Figures go to var/bench/*.json.

Passes, one after the other, each on its own freshly booted stack (bench/stack.py):
1. the skeleton (bench/skeleton.py): N workflows of 4 no-op activities and 1 signal, C at a time, on a dev
   server with the project's flags;
2. the order system with 1 worker process: N orders through the API with C clients (start, approve once it
   awaits review, follow to the end); then one order at a time; then GET /orders/{id} and /status alone; then
   the worker's memory with --waiting orders waiting for review; then --bulk of those approved with
   POST /orders/bulk/approve, as many rounds as it takes, and followed until all are final;
3. the order system with 2 worker processes: the same N orders with C clients;
4. the order system with 1 worker process and every risk rule off (RISK_RULES_OFF=all): the same N orders, for the
   CPU per order that scoring costs (workers, web and the database's backends), against pass 2 in the same run.
It fails if any order does not complete with exactly one captured payment. It never asserts a timing.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from django.conf import settings
from django.core.management.base import CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench import procs, skeleton
from bench.load import Api, Recorder, bulk_approve, drive_orders, hammer, wait_until_final
from bench.stack import Stack, boot, fresh_database
from bench.stats import percentiles
from orders.management.commands._exit import TemporalCommand
from workflows.devserver import dev_server_command, free_port, wait_for_port


def rules_cpu(on: dict, off: dict) -> dict:
    """CPU per order of the processes scoring touches, with the rules on and off (two passes of the same run)."""
    per_order = lambda result, role: 1000 * result.get("resources", {}).get(role, {}).get("cpu_seconds", 0.0) / max(result["orders"], 1)  # noqa: E731
    by_role = {role: (per_order(on, role), per_order(off, role)) for role in ("workers", "web", "database")}
    on_ms, off_ms = (sum(pair[side] for pair in by_role.values()) for side in (0, 1))
    return {
        "on_ms": round(on_ms, 2),
        "off_ms": round(off_ms, 2),
        "change": round(on_ms / off_ms - 1, 3) if off_ms else 0.0,
        "by_role_ms": {role: [round(ms, 2) for ms in pair] for role, pair in by_role.items()},
    }


class Command(TemporalCommand):
    help = "Benchmark the order system through its REST API, beside a bare Temporal skeleton, and write var/bench/*.json."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=500, help="orders (and skeleton workflows) per pass")
        parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients")
        parser.add_argument("--single", type=int, default=30, help="orders driven one at a time")
        parser.add_argument("--reads-seconds", type=float, default=10.0, help="how long each read-only pass lasts")
        parser.add_argument("--waiting", type=int, default=1000, help="orders left waiting for review, for the memory check")
        parser.add_argument("--bulk", type=int, default=500, help="of the waiting orders, how many one bulk approval takes")
        parser.add_argument("--no-compare", action="store_true", help="skip the pass with 2 worker processes")
        parser.add_argument("--no-skeleton", action="store_true", help="skip the skeleton pass")
        parser.add_argument("--no-rules-off", action="store_true", help="skip the pass with every risk rule off")
        parser.add_argument(
            "--poll", action="store_true", help="follow orders by polling GET /orders/{id}/ every 100 ms instead of ?wait"
        )
        parser.add_argument("--url", help="use this running stack instead of booting one (no CPU or memory figures)")
        parser.add_argument("--client-token", default="", help="with --url: an order client's API token")
        parser.add_argument("--reviewer-token", default="", help="with --url: a reviewer's API token")

    def handle(self, *args, **options):
        self.console = Console()
        self.options = options
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        self.work_dir = Path(settings.BASE_DIR) / "var" / "bench" / stamp
        self.work_dir.mkdir(parents=True, exist_ok=True)
        report = {
            "started_at": stamp,
            "orders": options["orders"],
            "concurrency": options["concurrency"],
            "clients_follow_orders_by": "polling every 100 ms" if options["poll"] else "GET /orders/{id}/status?wait=30",
            "database": "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite",
            "cpus": os.cpu_count(),
        }
        if not options["no_skeleton"]:
            report["skeleton"] = self._skeleton()
        report["system"] = self._system(worker_processes=1, full=True)
        if not options["no_compare"] and not options["url"]:
            report["system_2_worker_processes"] = self._system(worker_processes=2, full=False)
        if not options["no_rules_off"] and not options["url"]:
            report["system_rules_off"] = self._system(worker_processes=1, full=False, extra_env={"RISK_RULES_OFF": "all"})
            report["risk_rules_cpu"] = rules_cpu(report["system"], report["system_rules_off"])
        if "skeleton" in report:
            report["ratio_to_skeleton"] = round(report["system"]["orders_per_second"] / report["skeleton"]["orders_per_second"], 2)
        path = self.work_dir.parent / f"bench-{stamp}.json"
        path.write_text(json.dumps(report, indent=2))
        self._print(report)
        self.stdout.write(f"Figures written to {path.relative_to(settings.BASE_DIR)}")
        failed = sum(report.get(p, {}).get("failed_orders", 0) for p in ("system", "system_2_worker_processes", "system_rules_off"))
        if failed:
            raise CommandError(f"{failed} orders did not complete with exactly one captured payment: {report['system']['failures'][:5]}")

    # --- passes ----------------------------------------------------------------------------

    def _skeleton(self) -> dict:
        n, c = self.options["orders"], self.options["concurrency"]
        port, task_queue = free_port(), "bench-skeleton"
        server = subprocess.Popen(
            dev_server_command(port=port, db_file=str(self.work_dir / "skeleton-temporal.db")),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        worker = None
        try:
            wait_for_port("127.0.0.1", port, timeout=60)
            address = f"127.0.0.1:{port}"
            worker = subprocess.Popen(
                [sys.executable, "-m", "bench.skeleton", address, task_queue], cwd=settings.BASE_DIR, stdout=subprocess.PIPE, text=True
            )
            worker.stdout.readline()  # "skeleton worker polling"
            with self._status(f"Skeleton: {n} workflows, {c} at a time"):
                before = procs.by_role(os.getpid())
                result = asyncio.run(skeleton.drive(address, task_queue, n, c))
                used = procs.usage(before, procs.by_role(os.getpid()))
        finally:
            for process in (worker, server):
                if process:
                    process.terminate()
                    process.wait(timeout=30)
        times = result.pop("times")
        return {**result, "per_order_seconds": percentiles(times), "resources": {k: used[k] for k in ("temporal", "workers")}}

    def _system(self, worker_processes: int, full: bool, extra_env: Optional[dict] = None) -> dict:
        n, c = self.options["orders"], self.options["concurrency"]
        stack = self._stack(worker_processes, extra_env)
        recorder = Recorder()
        api = Api(stack.url, stack.client_token, stack.reviewer_token, recorder, poll=self.options["poll"])
        run = uuid.uuid4().hex[:6]
        try:
            drive_orders(api, [f"warm-{run}-{i}" for i in range(c)], c)  # connections, caches, workers warm
            recorder.__init__()
            before = procs.by_role(stack.root_pid, stack.database) if stack.root_pid else None
            runs, wall = self._with_progress(
                f"Orders through the API ({worker_processes} worker process{'es' if worker_processes > 1 else ''}"
                f"{', risk rules off' if extra_env else ''})",
                api, [f"bench-{run}-{i}" for i in range(n)], c,
            )
            result = self._orders_result(runs, wall, recorder)
            if before is not None:
                result["resources"] = procs.usage(before, procs.by_role(stack.root_pid, stack.database))
            if full:
                result.update(self._detail_passes(api, stack, runs, run))
        finally:
            stack.stop()
        return result

    def _detail_passes(self, api: Api, stack: Stack, runs, run: str) -> dict:
        c = self.options["concurrency"]
        found = {}
        recorder = Recorder()
        single_api = Api(stack.url, stack.client_token, stack.reviewer_token, recorder, poll=self.options["poll"])
        with self._status(f"One order at a time: {self.options['single']} orders"):
            singles, _ = drive_orders(single_api, [f"single-{run}-{i}" for i in range(self.options["single"])], 1)
        found["one_at_a_time"] = {
            "orders": len(singles),
            "server_seconds": percentiles([r.server_seconds for r in singles if r.server_seconds is not None]),
            "client_seconds": percentiles([r.client_seconds for r in singles if r.client_seconds is not None]),
        }
        waiting_ids = [f"wait-{run}-{i}" for i in range(self.options["waiting"])]
        if waiting_ids:
            self._with_progress(f"{len(waiting_ids)} orders left waiting for review", api, waiting_ids, c, approve=False)
            if stack.root_pid:
                workers = procs.by_role(stack.root_pid)["workers"]
                found["waiting_for_review"] = {
                    "orders": len(waiting_ids),
                    "worker_rss_mib": round(max(s.rss_bytes for s in workers.values()) / 2**20, 1),
                }
        # The detail of finished orders (the database); the status of orders still running (their workflows).
        completed = [f"/orders/{r.order_id}/" for r in runs if r.status == "completed"][:200]
        running = [f"/orders/{order_id}/status" for order_id in waiting_ids[:200]]
        reads = {}
        for route, paths in (("GET /orders/{id}/", completed), ("GET /orders/{id}/status", running)):
            if not paths or self.options["reads_seconds"] <= 0:
                continue
            recorder = Recorder()
            read_api = Api(stack.url, stack.client_token, stack.reviewer_token, recorder)
            with self._status(f"{route} alone, {c} clients, {self.options['reads_seconds']:.0f}s"):
                rate = hammer(read_api, route, paths, self.options["reads_seconds"], c)
            reads[route] = {"requests_per_second": round(rate, 1), **percentiles(recorder.times[route])}
        found["reads_alone"] = reads
        bulk_ids = waiting_ids[: self.options["bulk"]]
        if bulk_ids:
            before = procs.by_role(stack.root_pid) if stack.root_pid else None
            began = time.monotonic()
            with self._status(f"Bulk approval of {len(bulk_ids)} orders"):
                found["bulk_approve"] = {"orders": len(bulk_ids), "rounds": bulk_approve(api, bulk_ids)}
            with self._status(f"Following the {len(bulk_ids)} approved orders to the end"):
                found["bulk_approve"]["final_statuses"] = wait_until_final(api, bulk_ids, c)
            found["bulk_approve"]["all_final_seconds"] = round(time.monotonic() - began, 1)
            if before is not None:
                found["bulk_approve"]["resources"] = procs.usage(before, procs.by_role(stack.root_pid))
        return found

    # --- helpers -----------------------------------------------------------------------------

    def _stack(self, worker_processes: int, extra_env: Optional[dict] = None) -> Stack:
        if self.options["url"]:
            return Stack(url=self.options["url"], client_token=self.options["client_token"], reviewer_token=self.options["reviewer_token"])
        work_dir = self.work_dir / f"stack-{worker_processes}"
        with self._status(f"Booting a stack with {worker_processes} worker process(es)"):
            return boot(work_dir, worker_processes=worker_processes, database_url=fresh_database(work_dir), extra_env=extra_env)

    def _with_progress(self, title, api, order_ids, concurrency, approve=True):
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(title, total=len(order_ids))
            return drive_orders(api, order_ids, concurrency, approve=approve, progress=lambda: progress.advance(task))

    def _status(self, text: str):
        return self.console.status(text)

    def _orders_result(self, runs, wall: float, recorder: Recorder) -> dict:
        bad = [r for r in runs if r.error or r.status != "completed" or r.captured_payments != 1]
        return {
            "orders": len(runs),
            "seconds": round(wall, 2),
            "orders_per_second": round(len(runs) / wall, 2),
            "failed_orders": len(bad),
            "failures": [f"{r.order_id}: {r.error or r.status} ({r.captured_payments} captured)" for r in bad[:20]],
            "per_order_server_seconds": percentiles([r.server_seconds for r in runs if r.server_seconds is not None]),
            "per_order_client_seconds": percentiles([r.client_seconds for r in runs if r.client_seconds is not None]),
            "requests": {
                route: {"count": len(times), **percentiles(times), "statuses": dict(recorder.statuses[route])}
                for route, times in sorted(recorder.times.items())
            },
        }

    def _print(self, report: dict) -> None:
        system = report["system"]
        table = Table(title=f"Orders through the REST API: {report['orders']} orders, {report['concurrency']} clients ({report['database']})")
        table.add_column("figure")
        table.add_column("value", justify="right")
        seconds = lambda p: " / ".join("-" if v is None else f"{v:.3f}" for v in p.values())  # noqa: E731
        rows = [("orders/s", f"{system['orders_per_second']:.1f}"), ("failed orders", str(system["failed_orders"]))]
        if "skeleton" in report:
            rows += [("bare skeleton orders/s", f"{report['skeleton']['orders_per_second']:.1f}"), ("ratio to the skeleton", f"{report['ratio_to_skeleton']:.2f}x")]
        if "system_2_worker_processes" in report:
            rows.append(("orders/s with 2 worker processes", f"{report['system_2_worker_processes']['orders_per_second']:.1f}"))
        if "risk_rules_cpu" in report:
            cpu = report["risk_rules_cpu"]
            rows.append(("orders/s with risk rules off", f"{report['system_rules_off']['orders_per_second']:.1f}"))
            rows.append(("CPU ms per order, rules on / off (workers+web+database)", f"{cpu['on_ms']:.1f} / {cpu['off_ms']:.1f} ({cpu['change']:+.0%})"))
        rows += [
            ("per order, server p50/p95/p99 s", seconds(system["per_order_server_seconds"])),
            ("per order, client p50/p95/p99 s", seconds(system["per_order_client_seconds"])),
        ]
        for route, figures in system["requests"].items():
            rows.append((f"{route} p50/p99 s (under load)", f"{figures['p50']:.3f} / {figures['p99']:.3f}"))
        if "one_at_a_time" in system:
            rows.append(("one at a time: server p50 s", f"{system['one_at_a_time']['server_seconds']['p50']:.3f}"))
            for route, figures in system["reads_alone"].items():
                rows.append((f"{route} alone, req/s (p50 s)", f"{figures['requests_per_second']:.0f} ({figures['p50']:.3f})"))
        for i, bulk in enumerate(system.get("bulk_approve", {}).get("rounds", []), start=1):
            counts = ", ".join(f"{k} {v}" for k, v in bulk["counts"].items() if v) or f"HTTP {bulk['status']}"
            rows.append((f"bulk approve, round {i}: {bulk['orders']} orders", f"{bulk['seconds']:.1f} s ({counts})"))
        if "all_final_seconds" in system.get("bulk_approve", {}):
            bulk = system["bulk_approve"]
            finals = ", ".join(f"{k} {v}" for k, v in sorted(bulk["final_statuses"].items()))
            rows.append(("bulk approve: all final after", f"{bulk['all_final_seconds']:.1f} s ({finals})"))
        if "waiting_for_review" in system:
            waiting = system["waiting_for_review"]
            rows.append((f"worker RSS with {waiting['orders']} orders waiting, MiB", f"{waiting['worker_rss_mib']:.0f}"))
        for role, used in system.get("resources", {}).items():
            rows.append((f"{role}: CPU s / peak RSS MiB ({used['processes']} processes)", f"{used['cpu_seconds']:.1f} / {used['peak_rss_mib']:.0f}"))
        for name, value in rows:
            table.add_row(name, value)
        self.console.print(table)
