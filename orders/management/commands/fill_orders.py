"""`manage.py fill_orders --database-url postgres://.../orders_million --orders 1000000`: a shop's history in a
database of its own, for `manage.py bench_risk` (docs/performance.md). It creates the database (marked as made by
this command), migrates it, and writes the orders with COPY (bench/history.py says what they look like): the
order rows only, with their risk keys computed by orders/risk/keys.py; no events, payments or users, which no
risk rule reads. It refuses the database DATABASE_URL names and any database it did not make itself.

Run again with the same --orders it does nothing; --reset drops the database first and fills it anew."""

import json
import time
from datetime import datetime, timezone

import psycopg
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import orders_db
from bench.history import COLUMNS, ID_PREFIX, History
from orders.models import Order

# The indexes that are not constraints are dropped while COPY writes and built again after, from their own
# definitions (the migrations' indexes, whatever they are): building an index once is much faster than
# keeping twenty of them up to date row by row.
INDEXES = """
    SELECT indexname, indexdef FROM pg_indexes i
    WHERE schemaname = current_schema() AND tablename = 'orders'
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
    ORDER BY indexname
"""


class Command(BaseCommand):
    help = "Fill a dedicated PostgreSQL database with a generated order history (never the DATABASE_URL database)."

    def add_arguments(self, parser):
        parser.add_argument("--database-url", required=True, help="postgres://user@host:port/name of a database of its own")
        parser.add_argument("--orders", type=int, default=1_000_000, help="how many orders the history holds")
        parser.add_argument("--days", type=int, default=730, help="the history's span, ending now")
        parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same history")
        parser.add_argument("--reset", action="store_true", help="drop the database (only one this command made) and fill it anew")

    def handle(self, *args, **options):
        if options["orders"] < 1 or options["days"] < 1:
            raise CommandError("--orders and --days must be at least 1")
        console = Console(soft_wrap=True)
        target = orders_db.target(options["database_url"])
        began = time.monotonic()
        orders_db.create(target, reset=options["reset"])
        drift = self._migrate(target, console)
        if drift:
            console.print(f"{target.name} lacks what the models now have ({', '.join(drift)}): filling it anew")
            orders_db.create(target, reset=True)
            self._migrate(target, console)
        with psycopg.connect(target.psycopg_url) as conn:
            filled, total = conn.execute(
                "SELECT count(*) FILTER (WHERE id LIKE %s), count(*) FROM orders", [f"{ID_PREFIX}%"]
            ).fetchone()
            if filled == total == options["orders"]:
                console.print(f"{target.name} already holds the {filled:,} orders: nothing to do (--reset fills it anew)")
                return
            if total:
                raise CommandError(f"{target.name} holds {total:,} orders, not {options['orders']:,}: run again with --reset")
            figures = self._fill(conn, console, options)
        self._vacuum(target, console)
        figures["total"] = time.monotonic() - began
        self._report(target, console, options["orders"], figures)

    def _migrate(self, target: orders_db.Target, console: Console) -> list[str]:
        """Migrate the database; what its orders table still lacks of the models (an applied migration that has
        changed since) comes back."""
        with console.status(f"Migrating {target.name}"), orders_db.as_default(target):
            call_command("migrate", interactive=False, verbosity=0)
            return orders_db.drift()

    def _fill(self, conn, console: Console, options) -> dict:
        history = History(options["orders"], until=datetime.now(timezone.utc), days=options["days"], seed=options["seed"])
        indexes = conn.execute(INDEXES).fetchall()
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # a deferred foreign-key check would hold CREATE INDEX back
        written, defaulted = _columns(conn)
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        began = time.monotonic()
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("Writing orders with COPY", total=options["orders"])
            statement = sql.SQL("COPY orders ({}) FROM STDIN").format(sql.SQL(", ").join(sql.Identifier(COLUMNS[i]) for i in written))
            with conn.cursor().copy(statement) as copy:
                for number, row in enumerate(history.rows(), start=1):
                    copy.write_row([row[i] for i in written])
                    if number % 10_000 == 0:
                        progress.update(task, completed=number)
        copied = time.monotonic() - began
        began = time.monotonic()
        for column in defaulted:
            conn.execute(sql.SQL("ALTER TABLE orders ALTER COLUMN {} DROP DEFAULT").format(sql.Identifier(column)))
        with console.status(f"Building {len(indexes)} indexes"):
            conn.execute("SET maintenance_work_mem = '512MB'")
            for _, definition in indexes:
                conn.execute(definition)
        conn.commit()
        return {"copy": copied, "indexes": time.monotonic() - began}

    def _vacuum(self, target: orders_db.Target, console: Console) -> None:
        """The visibility map and the statistics the planner needs, as autovacuum would leave them in time."""
        with console.status("VACUUM ANALYZE orders"), psycopg.connect(target.psycopg_url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) orders")

    def _report(self, target: orders_db.Target, console: Console, orders: int, figures: dict) -> None:
        with psycopg.connect(target.psycopg_url) as conn:
            table, indexes = conn.execute(
                "SELECT pg_size_pretty(pg_table_size('orders')), pg_size_pretty(pg_indexes_size('orders'))"
            ).fetchone()
            rows = conn.execute(
                "SELECT status, count(*), count(*) FILTER (WHERE fraud IN ('suspected', 'confirmed')) "
                "FROM orders GROUP BY status ORDER BY count(*) DESC"
            ).fetchall()
            customers = conn.execute("SELECT count(DISTINCT email_key), count(DISTINCT address_key) FROM orders").fetchone()
        console.print(
            f"Filled {target.name} with {orders:,} orders in {figures['total']:.0f} s "
            f"(COPY {figures['copy']:.0f} s, indexes {figures['indexes']:.0f} s); table {table}, indexes {indexes}; "
            f"{customers[0]:,} emails, {customers[1]:,} addresses"
        )
        console.print("By status (with a fraud mark): " + ", ".join(f"{s} {n:,} ({f:,})" for s, n, f in rows))


def _columns(conn) -> tuple[list[int], list[str]]:
    """The positions in COLUMNS of the columns the table has, and the columns the history does not write that take
    no NULL: each given its model field's default for the COPY, to be dropped again after."""
    present = {row[0]: row[1] for row in conn.execute(
        "SELECT column_name, is_nullable = 'YES' OR column_default IS NOT NULL FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'orders'"
    )}  # fmt: skip
    defaulted = []
    for field in Order._meta.concrete_fields:
        if field.column in present and field.column not in COLUMNS and not present[field.column]:
            default = field.get_default()
            value = json.dumps(default) if isinstance(default, (dict, list)) else default
            conn.execute(sql.SQL("ALTER TABLE orders ALTER COLUMN {} SET DEFAULT {}").format(sql.Identifier(field.column), sql.Literal(value)))
            defaulted.append(field.column)
    return [i for i, column in enumerate(COLUMNS) if column in present], defaulted
