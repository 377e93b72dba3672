"""An order wedged by a write that can never succeed (retried for ever by a worker that did not classify failures)
ends `failed`, compensated, once the workers that classify them take over: real activities on PostgreSQL."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from temporalio.worker import Worker

from orders.models import Order
from orders.temporal import write_errors
from orders.temporal.worker import MAIN_ACTIVITIES
from tests.workflow_fakes import order_input, start, state_when
from workflows.order import OrderWorkflow
from workflows.types import ApproveRequest

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the wedge is a PostgreSQL constraint")

# The approval's write breaks a constraint: the same write fails the same way on every try.
NO_APPROVAL = "ALTER TABLE orders ADD CONSTRAINT test_no_approval CHECK (status <> 'approved') NOT VALID"


@sync_to_async
def sql(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


def main_worker(client, queue: str) -> Worker:
    return Worker(
        client, task_queue=queue, workflows=[OrderWorkflow], activities=MAIN_ACTIVITIES,
        activity_executor=ThreadPoolExecutor(4), max_cached_workflows=0,
    )


async def test_an_order_wedged_on_a_refused_write_ends_failed_after_the_upgrade(env, transactional_db, monkeypatch):
    main_q = f"main-{uuid.uuid4()}"
    data = order_input(f"shipping-{uuid.uuid4()}")
    await sql(NO_APPROVAL)
    try:
        monkeypatch.setattr(write_errors, "deterministic", lambda exc: False)  # the workers before: retry everything
        async with main_worker(env.client, main_q):
            handle = await start(env, main_q, data)
            await state_when(handle, lambda s: s.step == "manual review", timeout=30)
            approval = await handle.start_update(OrderWorkflow.approve, ApproveRequest("rita"), wait_for_stage=2)
            wedged = await state_when(handle, lambda s: s.step == "approve" and s.step_attempt >= 3, timeout=30)
        monkeypatch.undo()
        async with main_worker(env.client, main_q):
            final = await handle.result()
            answer = await approval.result()
    finally:
        await sql("ALTER TABLE orders DROP CONSTRAINT test_no_approval")
    order = await Order.objects.aget(pk=data.order_id)

    assert "test_no_approval" in wedged.step_error
    assert final.status == order.status == "failed"
    assert not answer.accepted
    assert order.status_reason.startswith("approve failed: the database refused the order's data (")
