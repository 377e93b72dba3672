"""The built-in rules' questions to the database, as SQL: one statement per rule (two for the amount rule), each
answered from an index of Order.Meta.indexes. Every order is scored while its validation waits, and building an
ORM query costs about as much as the database takes to answer it (0.5-0.6 ms against 0.02-0.1 ms at a million
orders): written as SQL, the rules' queries cost what the database needs (docs/performance.md). The same
statements run on PostgreSQL and SQLite; a shop's own rule may use the ORM as usual."""

import functools
from datetime import datetime
from decimal import Decimal
from typing import Optional

from django.db import connection

from orders.models import Order


@functools.cache
def _names(vendor: str) -> dict[str, str]:
    """The table as {orders} and each column by its field's name ({created_at}), quoted for the database."""
    quote = connection.ops.quote_name
    return {"orders": quote(Order._meta.db_table), **{f.name: quote(f.column) for f in Order._meta.concrete_fields}}


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql.format(**_names(connection.vendor)), params)
        return cursor.fetchall()


def _at(moment: datetime):
    return connection.ops.adapt_datetimefield_value(moment)


def _amount(value) -> Optional[Decimal]:
    """An amount as the ORM reads it (SQLite answers a float: its converter makes it the field's Decimal)."""
    column = Order._meta.get_field("amount").cached_col
    for convert in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
        value = convert(value, column, connection)
    return value


def earlier_counts(order: Order, since: datetime, fields: list[str]) -> list[int]:
    """For each of `fields` (key columns the order has a value in), how many other orders share its value, placed
    after `since` and at the latest with the order. One scan of the rows matching any of the keys (PostgreSQL
    combines the keys' indexes)."""
    values = [getattr(order, field) for field in fields]
    counts = ", ".join(f"count(CASE WHEN {{{field}}} = %s THEN 1 END)" for field in fields)
    matching = " OR ".join(f"{{{field}}} = %s" for field in fields)
    sql = (
        f"SELECT {counts} FROM {{orders}} "
        f"WHERE ({matching}) AND {{created_at}} > %s AND {{created_at}} <= %s AND NOT ({{id}} = %s)"
    )
    return list(_rows(sql, [*values, *values, _at(since), _at(order.created_at), order.pk])[0])


def completed_before(order: Order, until: datetime) -> bool:
    """Another order with the order's email key was completed, and placed at the latest at `until`."""
    sql = (
        "SELECT 1 FROM {orders} "
        "WHERE {email_key} = %s AND {status} = %s AND {created_at} <= %s AND NOT ({id} = %s) LIMIT 1"
    )
    return bool(_rows(sql, [order.email_key, Order.Status.COMPLETED, _at(until), order.pk]))


def largest_completed(order: Order, history: int) -> Decimal:
    """The largest amount among the customer's (email key) last `history` completed orders in the order's currency
    placed before it; 0 without one."""
    sql = (
        "SELECT max({amount}) FROM (SELECT {amount} FROM {orders} "
        "WHERE {created_at} <= %s AND NOT ({id} = %s) AND {email_key} = %s AND {status} = %s AND {currency} = %s "
        "ORDER BY {created_at} DESC LIMIT %s) AS history"
    )
    params = [_at(order.created_at), order.pk, order.email_key, Order.Status.COMPLETED, order.currency, history]
    largest = _rows(sql, params)[0][0]
    return Decimal(0) if largest is None else _amount(largest)


def shop_percentile(order: Order, sample: int, percentile: int) -> tuple[int, Optional[Decimal]]:
    """Of the shop's last `sample` orders before this one (any currency), those in the order's currency: how many,
    and the `percentile` of their amounts by nearest rank (at 95 of 100 amounts, the 95th smallest; None when
    there are none). Ranked in the database with whole numbers, (n * p + 99) / 100 being ceil(n * p / 100):
    percentile_disc would take it through a float, which can shift the rank."""
    sql = (
        "WITH recent AS (SELECT {amount}, {currency} FROM {orders} "
        "WHERE {created_at} <= %s AND NOT ({id} = %s) ORDER BY {created_at} DESC LIMIT %s), "
        "ranked AS (SELECT {amount} AS amount, row_number() OVER (ORDER BY {amount}) AS position, count(*) OVER () AS n "
        "FROM recent WHERE {currency} = %s) "
        "SELECT n, amount FROM ranked WHERE position = (n * %s + 99) / 100"
    )
    found = _rows(sql, [_at(order.created_at), order.pk, sample, order.currency, percentile])
    return (found[0][0], _amount(found[0][1])) if found else (0, None)


def fraud_links(order: Order, fields: list[str], marks: list[str]) -> dict[str, tuple[str, str]]:
    """For each of `fields` (key columns the order has a value in), the newest other order sharing its value with
    one of the fraud `marks`: field -> (its id, its mark). One UNION ALL of a LIMIT 1 per key, each from its small
    partial index (FRAUD_MARKS are the index's); each branch a subquery, as SQLite allows ORDER BY and LIMIT only
    at the end of a compound SELECT."""
    listed = ", ".join(["%s"] * len(marks))
    branches, params = [], []
    for position, field in enumerate(fields):
        branches.append(
            f"SELECT * FROM (SELECT {position} AS link, {{id}}, {{fraud}} FROM {{orders}} "
            f"WHERE {{fraud}} IN ({listed}) AND NOT ({{id}} = %s) AND {{{field}}} = %s "
            f"ORDER BY {{created_at}} DESC LIMIT 1) AS link{position}"
        )
        params += [*marks, order.pk, getattr(order, field)]
    if not branches:
        return {}
    return {fields[link]: (pk, fraud) for link, pk, fraud in _rows(" UNION ALL ".join(branches), params)}
