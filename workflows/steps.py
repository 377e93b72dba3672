"""How workflows run activities: one place for timeouts and the two retry policies."""

from dataclasses import replace
from datetime import timedelta
from typing import Any, Optional, Type

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.exceptions import TimeoutError as StepTimeout

with workflow.unsafe.imports_passed_through():
    from workflows.patches import RELEASE_2
    from workflows.progress import Progress
    from workflows.types import ErrorTypes, RetrySettings

NON_RETRYABLE_TYPES = [
    ErrorTypes.REJECTED,
    ErrorTypes.DECLINED,
    ErrorTypes.INVALID_TRANSITION,
    ErrorTypes.CONFLICT,
    ErrorTypes.PAYMENT_ID_IN_USE,
    ErrorTypes.UNWRITABLE,
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


def release_2() -> bool:
    """RELEASE_2 (workflows/patches.py): an order or shipping run started before keeps its regular activities and
    its message handling. Taken once per run, on its first task, and remembered."""
    return workflow.patched(RELEASE_2)


async def _step(
    activity: str, arg: Any, result_type: Optional[Type], timeout: float, policy: RetryPolicy, local: bool = True
) -> Any:
    """Run one step, as a local activity (since RELEASE_2) or a regular one.

    A local activity runs in the worker that runs the workflow, inside the workflow task, with no round trip
    through the server; once a retry's backoff passes local_retry_threshold, retries wait on server timers instead
    of holding the task. But it runs before the workflow's decision to run it is committed: if that task then fails
    (a message arrived as the workflow was completing, a timeout), the step has happened and the task runs again,
    possibly with other inputs, since the messages that arrived meanwhile are applied first. So only our own
    writes, idempotent by an event key whose inputs cannot change on a second run, are local. A call to the outside
    world is a regular activity: it runs only once the decision, with its inputs (the address a parcel goes to), is
    in the history."""
    if local and release_2():
        return await workflow.execute_local_activity(
            activity,
            arg,
            result_type=result_type,
            start_to_close_timeout=timedelta(seconds=timeout),
            retry_policy=policy,
            local_retry_threshold=timedelta(seconds=1),
        )
    return await workflow.execute_activity(
        activity, arg, result_type=result_type, start_to_close_timeout=timedelta(seconds=timeout * 2), retry_policy=policy
    )


# One try per local activity when the workflow keeps the retries itself (bookkeeping with a Progress).
SINGLE_TRY = RetryPolicy(maximum_attempts=1)


async def bookkeeping(activity: str, arg: Any, result_type: Optional[Type] = None, progress: Optional[Progress] = None) -> Any:
    """A write to our own database: it keeps retrying (capped at 30 s apart), so an outage only delays. A failure
    that would come again the same way is raised at once.

    With a `progress`, the workflow runs the retries itself (one try per local activity, its own timer between),
    so that the attempt and the last error are in its state for the query and the stuck-order checks."""
    if progress is None:
        return await _step(activity, arg, result_type, 15, BOOKKEEPING_POLICY, local=True)
    while True:
        try:
            result = await _step(activity, arg, result_type, 15, SINGLE_TRY, local=True)
        except StepFailed as err:
            if not retryable(err):
                raise
            await workflow.sleep(progress.failed(f"{activity}: {failure_reason(err)}"))
            continue
        progress.succeeded()
        return result


async def business_call(activity: str, arg: Any, settings: RetrySettings, result_type: Optional[Type] = None) -> Any:
    """A call to the gateway, the warehouse or the carrier: a few retries with backoff; a refusal is final."""
    return await _step(activity, arg, result_type, 30, business_policy(settings), local=False)


async def settle_call(activity: str, arg: Any, settings: RetrySettings, result_type: Optional[Type] = None) -> Any:
    """Ask a provider what really happened (a lookup by the same idempotency key). The truth is needed before the
    order can go on, so this keeps asking as long as it takes, at the business calls' pace."""
    return await _step(activity, arg, result_type, 30, replace(business_policy(settings), maximum_attempts=0), local=False)


# What a failed step raises: a regular activity's failure comes wrapped in ActivityError; a local activity's comes
# as the error itself (the ApplicationError the activity raised, or a timeout).
StepFailed = (ActivityError, ApplicationError, StepTimeout)


def retryable(err: BaseException) -> bool:
    """False for a refusal (a business one, or a write that would fail the same way again)."""
    cause = err.cause if isinstance(err, (ActivityError, ChildWorkflowError)) and err.cause else err
    if isinstance(cause, ApplicationError):
        return not cause.non_retryable and cause.type not in NON_RETRYABLE_TYPES
    return True


def failure_type(err: BaseException) -> Optional[str]:
    """The ApplicationError type at the root of an activity or child failure."""
    cause = err.cause if isinstance(err, (ActivityError, ChildWorkflowError)) else err
    return cause.type if isinstance(cause, ApplicationError) else None


def failure_reason(err: BaseException) -> str:
    cause = err.cause if isinstance(err, (ActivityError, ChildWorkflowError)) and err.cause else err
    return getattr(cause, "message", None) or str(cause)
