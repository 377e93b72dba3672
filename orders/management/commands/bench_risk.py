"""`manage.py bench_risk --database-url postgres://.../orders_million` (`make bench-risk`): what scoring one order
costs against a filled history (`manage.py fill_orders`). Each order is received as the app receives it (a row
with its keys), then assessed as validation assesses it (inside a transaction, the row locked) by the real
`orders.risk.engine.assess` with the configured rules (RISK_RULES, less RISK_RULES_OFF); the time of that call and
its queries are recorded, and each rule is then timed alone on the same order. The orders it made are deleted at
the end. It prints p50/p95/p99/max per order, by kind of customer (bench/risk_mix.py) and by rule, writes the
figures to var/bench/risk-*.json, and with --explain prints each rule's queries with EXPLAIN ANALYZE.

Django's default connection points at that database for the run (never the DATABASE_URL one, which it refuses)."""

import json
import os
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from hashlib import sha256
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from rich.console import Console
from rich.table import Table

from bench import orders_db, risk_explain, stats
from bench.risk_mix import KINDS, Mix, Spec
from orders.models import Order
from orders.risk import engine
from orders.risk.keys import order_keys
from orders.rules import order_total

ID_PREFIX = "riskbench-"


def percentiles(values: list[float]) -> dict:
    """Milliseconds: p50, p95, p99 (nearest rank) and max."""
    return stats.percentiles(values, scale=1000, digits=2, with_max=True)


class Command(BaseCommand):
    help = "Score orders with the risk rules against a filled history (manage.py fill_orders) and print the cost per order."

    def add_arguments(self, parser):
        parser.add_argument("--database-url", required=True, help="the database fill_orders filled")
        parser.add_argument("--orders", type=int, default=500, help="orders scored and measured")
        parser.add_argument("--warmup", type=int, default=20, help="orders scored first and not counted")
        parser.add_argument("--budget-ms", type=float, default=20.0, help="the p99 per order the run is compared with")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each rule's queries for the slowest order of each kind")

    def handle(self, *args, **options):
        self.console = Console(soft_wrap=True)
        if not self.console.is_terminal:
            self.console.width = 160
        target = orders_db.target(options["database_url"])
        if not (orders_db.exists(target) and orders_db.is_marked(target)):
            raise CommandError(f"{target.name} was not filled by fill_orders: run manage.py fill_orders --database-url {target.url} first")
        # Measured as production runs it: with DEBUG on, Django would also keep a log of every query.
        with orders_db.as_default(target), override_settings(DEBUG=False):
            report = self._run(target, options)
        self._print(report, options["budget_ms"])
        path = Path(settings.BASE_DIR) / "var" / "bench" / f"risk-{report['started_at']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2))
        self.console.print(f"Figures written to {path.relative_to(settings.BASE_DIR)}")

    def _run(self, target: orders_db.Target, options) -> dict:
        history = Order.objects.count()
        if not history:
            raise CommandError(f"{target.name} holds no orders: run manage.py fill_orders first")
        drift = orders_db.drift()
        if drift:
            raise CommandError(f"{target.name} lacks what the models have ({', '.join(drift)}): run fill_orders again, it fills it anew")
        _cleanup(ID_PREFIX)  # what an interrupted run left
        with connection.cursor() as cursor:
            # The rows earlier runs deleted are the newest in every index: left there, each run would walk them.
            cursor.execute("VACUUM orders")
        extra = _extra_indexes()
        with self.console.status("Reading the customers to score from the history"):
            specs = Mix(options["seed"]).specs(options["warmup"] + options["orders"])
        run = f"{ID_PREFIX}{uuid.uuid4().hex[:6]}-"
        results, rules, slowest = [], defaultdict(list), {}
        try:
            with self.console.status(f"Scoring {len(specs)} orders ({options['warmup']} to warm up)"):
                for number, spec in enumerate(specs):
                    order = _receive(spec, f"{run}{number:05d}")
                    measured = _assess(order.pk)
                    if number < options["warmup"]:
                        continue
                    results.append({"kind": spec.kind, **measured})
                    seconds = measured["seconds"]
                    for rule, (rule_seconds, rule_queries) in risk_explain.per_rule(order).items():
                        rules[rule].append((rule_seconds, rule_queries))
                    if seconds > slowest.get(spec.kind, (0, None))[0]:
                        slowest[spec.kind] = (seconds, order.pk)
            plans = self._explain(slowest) if options["explain"] else {}
        finally:
            _cleanup(run)
        return _report(target, history, results, rules, plans, options, extra)

    def _explain(self, slowest: dict) -> dict:
        found = {}
        for kind, (seconds, order_id) in sorted(slowest.items()):
            order = Order.objects.get(pk=order_id)
            found[kind] = {"order": order_id, "ms": round(seconds * 1000, 2), "rules": risk_explain.plans(order)}
            self.console.rule(f"EXPLAIN ANALYZE: the slowest {kind} order ({seconds * 1000:.1f} ms)")
            for rule, statements in found[kind]["rules"].items():
                for sql, plan in statements:
                    self.console.print(f"[bold]{rule}[/bold]: {sql}", highlight=False)
                    self.console.print(plan, highlight=False)
        return found

    def _print(self, report: dict, budget: float) -> None:
        overall = report["per_order_ms"]
        table = Table(title=f"Scoring one order: {report['orders']} orders against {report['history_orders']:,} ({report['database']})")
        columns = ("", "orders", "p50 ms", "p95 ms", "p99 ms", "max ms", "CPU p50/p99", "execute p50/p99", "queries", "mean score")
        for name in columns:
            table.add_column(name, justify="left" if not name else "right")
        kinds = [("all", {"orders": report["orders"], **{k: report[f"per_order_{k}"] for k in ("ms", "cpu_ms", "execute_ms")},
                          "queries_per_order": report["queries_per_order"], "mean_score": report["mean_score"]})]
        for name, f in kinds + [(f"  {kind}", f) for kind, f in report["by_kind"].items()]:
            table.add_row(
                name, str(f["orders"]), *(f"{f['ms'][k]:.2f}" for k in ("p50", "p95", "p99", "max")),
                *(f"{f[k]['p50']:.2f} / {f[k]['p99']:.2f}" for k in ("cpu_ms", "execute_ms")),
                f"{f['queries_per_order']:.1f}", f"{f['mean_score']:.0f}",
            )  # fmt: skip
        self.console.print(table)
        by_rule = Table(title="Each rule alone on the same orders")
        for name in ("rule", "p50 ms", "p95 ms", "p99 ms", "max ms", "queries"):
            by_rule.add_column(name, justify="left" if name == "rule" else "right")
        for rule, f in report["by_rule"].items():
            by_rule.add_row(rule, *(f"{f['ms'][k]:.2f}" for k in ("p50", "p95", "p99", "max")), f"{f['queries_per_order']:.1f}")
        self.console.print(by_rule)
        if report["other_risk_indexes"]:
            self.console.print(f"Indexes on the risk columns beside the model's: {', '.join(report['other_risk_indexes'])}")
        verdict = "[green]within" if overall["p99"] <= budget else "[red]over"
        load = ", ".join(f"{x:.1f}" for x in report["load_average"])
        self.console.print(f"p99 {overall['p99']:.2f} ms: {verdict} the budget of {budget:g} ms[/] (load average {load} on {os.cpu_count()} CPUs)")


def _receive(spec: Spec, order_id: str) -> Order:
    """The row order_receive writes for the order (orders/services/order.py), keys included."""
    return Order.objects.create(
        id=order_id,
        customer_name=spec.name,
        customer_email=spec.email,
        items=spec.items,
        amount=order_total(spec.items),
        currency="USD",
        shipping_address=spec.address,
        payment_id=f"pay-{order_id}",
        fingerprint=sha256(order_id.encode()).hexdigest(),
        status=Order.Status.RECEIVED,
        review_escalate_after=timedelta(hours=1),
        review_timeout=timedelta(days=1),
        **order_keys(customer_name=spec.name, customer_email=spec.email, shipping_address=spec.address),
    )


def _assess(order_id: str) -> dict:
    """As validation assesses: in a transaction, on the row it has locked: the seconds it took, this process's
    CPU seconds, the seconds spent in the database driver's execute (the query sent, run and its rows read), the
    number of queries and the score."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        with risk_explain.watch() as queries:
            began, cpu = time.perf_counter(), time.thread_time()
            assessment = engine.assess(order, settings.RISK_AUTO_APPROVE_BELOW, settings.RISK_AUTO_CANCEL_FROM)
            seconds, cpu = time.perf_counter() - began, time.thread_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "execute": queries.seconds, "queries": queries.count, "score": assessment.score}


def _cleanup(prefix: str) -> None:
    Order.objects.filter(id__startswith=prefix).delete()


def _extra_indexes() -> list[str]:
    """Indexes on the risk columns that the model does not declare (made by hand, for a trial)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'orders'")
        present = {row[0] for row in cursor.fetchall()}
    return sorted(name for name in present - {index.name for index in Order._meta.indexes} if "key" in name or "fraud" in name)


def _summary(results: list[dict]) -> dict:
    return {
        "orders": len(results),
        "ms": percentiles([r["seconds"] for r in results]),
        "cpu_ms": percentiles([r["cpu"] for r in results]),
        "execute_ms": percentiles([r["execute"] for r in results]),
        "queries_per_order": round(sum(r["queries"] for r in results) / max(len(results), 1), 2),
        "mean_score": round(sum(r["score"] for r in results) / max(len(results), 1), 1),
    }


def _report(target, history: int, results: list[dict], rules: dict, plans: dict, options, extra: list[str]) -> dict:
    overall = _summary(results)
    return {
        "started_at": datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S"),
        "database": target.name,
        "history_orders": history,
        "orders": overall["orders"],
        "rules": [risk_explain.label(rule) for rule in engine.configured_rules()],
        "rules_off": list(settings.RISK_RULES_OFF),
        "per_order_ms": overall["ms"],  # the assess() call, wall clock
        "per_order_cpu_ms": overall["cpu_ms"],
        "per_order_execute_ms": overall["execute_ms"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "queries_per_order": overall["queries_per_order"],
        "max_queries": max((r["queries"] for r in results), default=0),
        "mean_score": overall["mean_score"],
        "budget_ms": options["budget_ms"],
        "by_kind": {kind: _summary([r for r in results if r["kind"] == kind]) for kind in KINDS if any(r["kind"] == kind for r in results)},
        "by_rule": {
            rule: {"ms": percentiles([s for s, _ in found]), "queries_per_order": round(sum(q for _, q in found) / len(found), 2)}
            for rule, found in rules.items()
        },
        "other_risk_indexes": extra,
        "explain": plans,
    }
