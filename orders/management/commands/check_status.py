"""`manage.py check_status`: is the system healthy? Database and migrations, Temporal, pollers on each task queue,
order counts by status and the latest events. Exits 1 when a check fails."""

import json

from django.conf import settings
from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count

from orders.health import database_check, temporal_check
from orders.management.commands._exit import TemporalCommand
from orders.models import Order, OrderEvent, ReconcileRun
from orders.temporal import client


class Command(TemporalCommand):
    help = "Check the database, Temporal and the workers, and summarise the orders."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument("--events", type=int, default=10, help="how many recent events to show")

    def handle(self, *args, **options):
        report = {"database": database_check(), "temporal": temporal_check(), "task_queues": {}}
        if report["temporal"]["ok"]:
            report["temporal_orders_by_status"] = client.counts_by_status()
            for queue in (settings.TEMPORAL_MAIN_TASK_QUEUE, settings.TEMPORAL_SHIPPING_TASK_QUEUE):
                pollers = client.task_queue_pollers(queue)
                report["task_queues"][queue] = {"ok": bool(pollers), "pollers": pollers}
        if report["database"]["ok"]:
            counts = Order.objects.values("status").annotate(n=Count("id")).order_by("status")
            report["orders_by_status"] = {row["status"]: row["n"] for row in counts}
            recent = OrderEvent.objects.order_by("-created_at", "-id")[: options["events"]]
            report["recent_events"] = [
                {"order": e.order_id, "type": e.type, "actor": e.actor, "at": e.created_at} for e in recent
            ]
            last = ReconcileRun.objects.order_by("-finished_at").first()
            report["last_reconcile"] = last and {
                "at": last.finished_at, "clean": last.clean, "rows": last.rows, "drift": last.drift[:20], "differences": len(last.drift)
            }
        healthy = report["database"]["ok"] and report["temporal"]["ok"] and all(
            q["ok"] for q in report["task_queues"].values()
        )
        report["healthy"] = healthy
        self.stdout.write(json.dumps(report, cls=DjangoJSONEncoder, indent=2) if options["json"] else self._text(report))
        if not healthy:
            raise CommandError("unhealthy: see the checks above")

    def _text(self, report) -> str:
        mark = lambda ok: "OK  " if ok else "FAIL"  # noqa: E731
        lines = [
            f"{mark(report['database']['ok'])} database: {report['database']['detail']}",
            f"{mark(report['temporal']['ok'])} temporal {settings.TEMPORAL_ADDRESS}: {report['temporal']['detail']}",
        ]
        for queue, state in report["task_queues"].items():
            pollers = ", ".join(state["pollers"]) or "no pollers: start `manage.py run_workers`"
            lines.append(f"{mark(state['ok'])} task queue {queue}: {pollers}")
        if "temporal_orders_by_status" in report:
            counts = ", ".join(f"{status} {n}" for status, n in report["temporal_orders_by_status"].items()) or "none"
            lines.append(f"Temporal, by OrderStatus: {counts}")
        if "orders_by_status" in report:
            counts = ", ".join(f"{status} {n}" for status, n in report["orders_by_status"].items()) or "none yet"
            lines.append(f"Database, by status:      {counts}")
            lines.append(self._reconcile_line(report["last_reconcile"]))
            lines.append("Recent events:")
            lines += [f"  {e['at']:%Y-%m-%d %H:%M:%S} {e['order']:<24} {e['type']:<24} {e['actor']}" for e in report["recent_events"]]
        return "\n".join(lines)

    def _reconcile_line(self, last) -> str:
        if last is None:
            return "Reconcile: never run (`manage.py reconcile`)"
        if last["clean"]:
            return f"OK   last reconcile {last['at']:%Y-%m-%d %H:%M:%S}: {last['rows']} orders, no drift"
        named = ", ".join(sorted({d["order_id"] for d in last["drift"]}))
        return f"WARN last reconcile {last['at']:%Y-%m-%d %H:%M:%S}: {last['differences']} differences ({named})"
