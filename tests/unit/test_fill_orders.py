"""`manage.py fill_orders` and `manage.py bench_risk` (docs/performance.md): the fill refuses the database the
project is configured with, a database it did not make and anything but PostgreSQL; it fills a small dedicated
database with the keys the app computes, once; and the benchmark scores real rows there and leaves none behind.
No timing is asserted."""

import json
import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.risk.keys import order_keys
from tests.conftest import ROOT

URL = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not URL.startswith(("postgres://", "postgresql://")), reason="needs PostgreSQL in DATABASE_URL")


def beside(name_suffix: str) -> str:
    """A database next to DATABASE_URL's, on the same server."""
    parts = urlsplit(URL)
    return urlunsplit(parts._replace(path=f"/{parts.path.lstrip('/')}_{name_suffix}"))


def server(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql", path="/postgres"))


def drop(url: str) -> None:
    with psycopg.connect(server(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')


def manage(*args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture
def dedicated():
    url = beside("fill")
    drop(url)
    yield url
    drop(url)


def test_the_fill_refuses_the_configured_database_and_any_it_did_not_make():
    parts = urlsplit(URL)
    same_by_another_name = urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}@localhost:{parts.port or 5432}"))
    for url in (URL, same_by_another_name):
        with pytest.raises(CommandError, match="the database the project is configured with"):
            call_command("fill_orders", database_url=url, orders=10)
    with pytest.raises(CommandError, match="must be a PostgreSQL URL"):
        call_command("fill_orders", database_url="sqlite:///var/orders.sqlite3", orders=10)

    someone_elses = beside("not_ours")
    drop(someone_elses)
    with psycopg.connect(server(someone_elses), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{urlsplit(someone_elses).path.lstrip("/")}"')
    try:
        with pytest.raises(CommandError, match="was not made by fill_orders"):
            call_command("fill_orders", database_url=someone_elses, orders=10, reset=True)
    finally:
        drop(someone_elses)


def test_a_small_history_gets_the_apps_keys_and_the_benchmark_scores_it(dedicated):
    out = manage("fill_orders", "--database-url", dedicated, "--orders", "2000")
    assert "Filled" in out and "2,000 orders" in out

    with psycopg.connect(urlunsplit(urlsplit(dedicated)._replace(scheme="postgresql"))) as conn:
        rows = conn.execute(
            "SELECT customer_name, customer_email, shipping_address, email_key, address_key, name_key, status, "
            "risk_score, decided_by, fraud FROM orders"
        ).fetchall()
        repeat_customers = conn.execute("SELECT count(*) FROM (SELECT 1 FROM orders GROUP BY email_key HAVING count(*) > 2) r").fetchone()[0]
    assert len(rows) == 2000
    # Every key as order_receive computes it, variants of an email (+tag, capitals) and of an address included.
    for name, email, address, *stored in (row[:6] for row in rows):
        assert list(order_keys(customer_name=name, customer_email=email, shipping_address=address).values()) == stored
    statuses = {row[6] for row in rows}
    assert {"completed", "cancelled", "awaiting_review"} <= statuses
    assert all(row[7] is not None and row[8] for row in rows if row[6] == "completed")
    assert any(row[9] in ("suspected", "confirmed") for row in rows) and repeat_customers > 10
    assert len({row[1] for row in rows}) > len({row[3] for row in rows})  # several spellings of one mailbox

    again = manage("fill_orders", "--database-url", dedicated, "--orders", "2000")
    assert "already holds the 2,000 orders" in again

    out = manage("bench_risk", "--database-url", dedicated, "--orders", "30", "--warmup", "2")
    report = json.loads((ROOT / out.rsplit("Figures written to ", 1)[1].strip()).read_text())
    assert report["orders"] == 30 and report["history_orders"] == 2000
    assert report["queries_per_order"] > 0 and report["per_order_ms"]["p99"] > 0
    assert set(report["by_kind"]) == {"new", "repeat", "long", "burst", "fraud"}
    with psycopg.connect(urlunsplit(urlsplit(dedicated)._replace(scheme="postgresql"))) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 2000  # the scored orders are gone
