"""A dedicated PostgreSQL database holding a shop's history for the risk benchmark (`manage.py fill_orders`,
`manage.py bench_risk`): its URL checked (PostgreSQL, and never the database the project is configured with),
created and marked as ours, and Django's default connection pointed at it for a block, so that the real services
and rules run against it unchanged."""

import os
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import environ
import psycopg
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connections
from psycopg import sql

# The comment the fill leaves on its database: nothing is written to or reset in a database without it.
MARK = "manage.py fill_orders: a generated order history, safe to drop"
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")
LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    name: str

    @property
    def maintenance_url(self) -> str:
        """The same server's `postgres` database, from which this one is created or dropped."""
        return urlunsplit(urlsplit(self.url)._replace(scheme="postgresql", path="/postgres"))

    @property
    def psycopg_url(self) -> str:
        return urlunsplit(urlsplit(self.url)._replace(scheme="postgresql"))


def _where(config: dict) -> tuple[str, int, str]:
    host = str(config.get("HOST") or "").lower()
    return ("localhost" if host in LOCAL_HOSTS else host, int(config.get("PORT") or 5432), str(config.get("NAME") or ""))


def _configured() -> list[dict]:
    """Every way the process names its own database: DATABASE_URL itself, the settings made from it, and the live
    connection (a test run renames it to its test database)."""
    found = [settings.DATABASES["default"], connections["default"].settings_dict]
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(tuple(f"{scheme}://" for scheme in POSTGRES_SCHEMES)):
        found.append(environ.Env.db_url_config(url))
    return found


def target(url: str) -> Target:
    """The dedicated database at url; CommandError for a URL that is not PostgreSQL or that names the database the
    project is configured with (DATABASE_URL)."""
    scheme = urlsplit(url or "").scheme
    if scheme not in POSTGRES_SCHEMES:
        raise CommandError(f"--database-url must be a PostgreSQL URL (postgres://user@host:port/name), not {url!r}")
    config = environ.Env.db_url_config(url)
    host, port, name = _where(config)
    if not name or name in ("postgres", "template0", "template1"):
        raise CommandError(f"--database-url must name a database of its own, not {name or 'none'!r}")
    for configured in _configured():
        if configured.get("ENGINE") == "django.db.backends.postgresql" and _where(configured) == (host, port, name):
            raise CommandError(
                f"refusing to use {name!r} on {host}:{port}: it is the database the project is configured with "
                "(DATABASE_URL). Give the benchmark a database of its own, e.g. .../orders_million."
            )
    return Target(url=url, host=host, port=port, name=name)


def exists(t: Target) -> bool:
    with psycopg.connect(t.maintenance_url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [t.name]).fetchone() is not None


def is_marked(t: Target) -> bool:
    with psycopg.connect(t.maintenance_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [t.name]
        ).fetchone()
    return bool(row) and row[0] == MARK


def create(t: Target, *, reset: bool) -> None:
    """Create the database and mark it as ours; with reset, drop it first, but only if it carries our mark (a
    database someone else made is never dropped)."""
    there = exists(t)
    if there and not is_marked(t):
        raise CommandError(
            f"database {t.name!r} exists and was not made by fill_orders: refusing to write to it. "
            "Name a new database, or drop this one yourself."
        )
    with psycopg.connect(t.maintenance_url, autocommit=True) as conn:
        if there and reset:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(t.name)))
            there = False
        if not there:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(t.name)))
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(t.name), sql.Literal(MARK)))


def drift() -> list[str]:
    """What the default connection's orders table lacks of the model: columns and indexes (a migration changed
    after the database was filled)."""
    from orders.models import Order

    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'orders'")
        columns = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'orders'")
        indexes = {row[0] for row in cursor.fetchall()}
    missing = [f"column {f.column}" for f in Order._meta.concrete_fields if f.column not in columns]
    return missing + [f"index {i.name}" for i in Order._meta.indexes if i.name not in indexes]


@contextmanager
def as_default(t: Target):
    """Django's default connection on the target for the block (this thread; no pool, so each query is timed as
    it runs on one open connection), the configured one again after."""
    saved = connections.settings["default"]
    _close_default()
    config = {**environ.Env.db_url_config(t.url), "OPTIONS": {"connect_timeout": 5}}
    connections.settings["default"] = connections.configure_settings({"default": config})["default"]
    del connections["default"]
    try:
        yield connections["default"]
    finally:
        connections["default"].close()
        connections.settings["default"] = saved
        del connections["default"]


def _close_default() -> None:
    conn = connections["default"]
    conn.close()
    if hasattr(conn, "close_pool"):
        conn.close_pool()
