"""A step's own write is retried only when it can succeed later: real PostgreSQL errors, classified by SQLSTATE."""

import pytest
from django.db import connection
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orders.temporal.activities import domain_activity
from tests.factories import OrderFactory
from workflows.types import ErrorTypes

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLSTATE classes are PostgreSQL's")


def run_sql(*statements):
    @domain_activity("test_write")
    def write(_arg: str) -> None:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    return ActivityEnvironment().run(write, "")


@pytest.mark.parametrize(
    "statements, sqlstate",
    [
        (["SELECT 1/0"], "22012"),
        (["CREATE TEMP TABLE s (v varchar(2))", "INSERT INTO s VALUES ('yyy')"], "22001"),
        (["CREATE TEMP TABLE t (v int NOT NULL)", "INSERT INTO t VALUES (NULL)"], "23502"),
    ],
)
def test_a_write_refused_for_its_data_is_not_retried(transactional_db, statements, sqlstate):
    with pytest.raises(ApplicationError) as refusal:
        run_sql(*statements)
    assert refusal.value.type == ErrorTypes.UNWRITABLE and refusal.value.non_retryable
    assert refusal.value.message.startswith("the database refused the order's data (")
    assert refusal.value.__cause__.__cause__.sqlstate == sqlstate


def test_a_write_that_can_succeed_later_is_retried(transactional_db):
    """A connection ended by the server (class 57, as when it restarts) goes away: raised as itself, retryable."""
    with pytest.raises(Exception) as failure:
        run_sql("SELECT pg_terminate_backend(pg_backend_pid())")
    assert not isinstance(failure.value, ApplicationError)
    assert failure.value.__cause__.sqlstate == "57P01"


def test_a_repeat_of_an_event_already_written_is_retried_to_find_it(transactional_db):
    order = OrderFactory()
    insert = f"INSERT INTO events (order_id, type, actor, key, payload, created_at) VALUES ('{order.id}', 'x', 'a', 'k', '{{}}', now())"
    with pytest.raises(Exception) as failure:
        run_sql(insert, insert)
    assert not isinstance(failure.value, ApplicationError)
    assert failure.value.__cause__.diag.constraint_name == "events_key_key"
