"""Operators' checks of Temporal: whether the server serves, and which workers poll a task queue."""

from django.conf import settings
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from orders.temporal.errors import TemporalUnavailable
from orders.temporal.runner import _runner


def ping() -> None:
    """Raise TemporalUnavailable unless the server answers a health check."""

    async def check():
        healthy = await (await _runner.client()).service_client.check_health()
        if not healthy:
            raise TemporalUnavailable("Temporal reports it is not serving")

    _runner.run(check())


def task_queue_pollers(task_queue: str) -> list[str]:
    """The identities of the workers polling a task queue (workflow and activity pollers)."""

    async def describe():
        temporal = await _runner.client()
        identities = set()
        for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
            response = await temporal.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=settings.TEMPORAL_NAMESPACE, task_queue=TaskQueue(name=task_queue), task_queue_type=kind
                )
            )
            identities.update(p.identity for p in response.pollers)
        return sorted(identities)

    return _runner.run(describe())
