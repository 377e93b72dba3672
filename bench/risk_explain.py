"""What each risk rule asks the database, for `manage.py bench_risk`: its queries counted and timed as they run,
and, with --explain, each query of one order shown with EXPLAIN ANALYZE."""

import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection

from orders.risk import engine


@dataclass
class Queries:
    """Every query run inside `watch()`: how many, and (with keep) their SQL and parameters."""

    keep: bool = False
    count: int = 0
    seconds: float = 0.0
    statements: list = field(default_factory=list)

    def __call__(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - began
            if self.keep:
                self.statements.append((sql, params))


@contextmanager
def watch(keep: bool = False):
    queries = Queries(keep=keep)
    with connection.execute_wrapper(queries):
        yield queries


def per_rule(order) -> dict[str, tuple[float, int]]:
    """Each configured rule alone on the order: its name (with its position, as a rule may be configured twice)
    -> (seconds, queries)."""
    found = {}
    for position, rule in enumerate(engine.configured_rules(), start=1):
        with watch() as queries:
            began = time.perf_counter()
            list(rule.signals(order))
            found[f"{position}. {label(rule)}"] = (time.perf_counter() - began, queries.count)
    return found


def label(rule) -> str:
    window = getattr(rule, "label", "")
    return f"{rule.name} {window}".strip()


def plans(order) -> dict[str, list[tuple[str, str]]]:
    """Each rule's queries on the order with their EXPLAIN (ANALYZE, BUFFERS): rule -> [(sql, plan)]."""
    found = defaultdict(list)
    for position, rule in enumerate(engine.configured_rules(), start=1):
        with watch(keep=True) as queries:
            list(rule.signals(order))
        for sql, params in queries.statements:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            with connection.cursor() as cursor:
                shown = cursor.mogrify(sql, params) if hasattr(cursor, "mogrify") else sql
            found[f"{position}. {label(rule)}"].append((shown, plan))
    return found
