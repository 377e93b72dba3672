"""Release 1 (frozen, for tests/workflows/test_deploy_in_flight.py): How workflows run activities: one place for timeouts and the two retry policies."""

from datetime import timedelta
from typing import Any, Optional, Type

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from workflows.types import ErrorTypes, RetrySettings

NON_RETRYABLE_TYPES = [
    ErrorTypes.REJECTED,
    ErrorTypes.DECLINED,
    ErrorTypes.INVALID_TRANSITION,
    ErrorTypes.CONFLICT,
]

# Bookkeeping writes to our own database: keep retrying (capped at 30 s apart) so an outage only delays.
BOOKKEEPING_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
    non_retryable_error_types=NON_RETRYABLE_TYPES,
)


def business_policy(settings: RetrySettings) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=settings.initial_interval_seconds),
        backoff_coefficient=settings.backoff_coefficient,
        maximum_interval=timedelta(seconds=settings.maximum_interval_seconds),
        maximum_attempts=settings.maximum_attempts,
        non_retryable_error_types=NON_RETRYABLE_TYPES,
    )


async def bookkeeping(activity: str, arg: Any, result_type: Optional[Type] = None) -> Any:
    return await workflow.execute_activity(
        activity,
        arg,
        result_type=result_type,
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=BOOKKEEPING_POLICY,
    )


async def business_call(activity: str, arg: Any, settings: RetrySettings, result_type: Optional[Type] = None) -> Any:
    return await workflow.execute_activity(
        activity,
        arg,
        result_type=result_type,
        start_to_close_timeout=timedelta(seconds=60),
        retry_policy=business_policy(settings),
    )


def failure_type(err: BaseException) -> Optional[str]:
    """The ApplicationError type at the root of an activity or child failure."""
    cause = err.cause if isinstance(err, (ActivityError, ChildWorkflowError)) else err
    return cause.type if isinstance(cause, ApplicationError) else None


def failure_reason(err: BaseException) -> str:
    cause = err.cause if isinstance(err, (ActivityError, ChildWorkflowError)) and err.cause else err
    return getattr(cause, "message", None) or str(cause)
