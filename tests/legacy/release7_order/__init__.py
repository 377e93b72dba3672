"""Release 7's order workflow (frozen, for tests/workflows/test_deploy_in_flight.py): it charges after approval.
Never edit: it stands for the code that started the orders in flight at the upgrade."""

from temporalio import workflow

from tests.legacy.release7_order.order_workflow import OrderWorkflow

with workflow.unsafe.imports_passed_through():
    from tests.legacy.release7_order.review import NEXT_TASK
    from workflows.patches import BULK_ANSWER_FIRST, EVERY_ORDER_ENDS, SEARCH_ATTRIBUTES, SETTLE_UNKNOWN_CHARGE
    from workflows.texts import CARRIER_CALLED, REVIEW_TIMED_OUT

__all__ = [
    "BULK_ANSWER_FIRST",
    "CARRIER_CALLED",
    "EVERY_ORDER_ENDS",
    "NEXT_TASK",
    "REVIEW_TIMED_OUT",
    "SEARCH_ATTRIBUTES",
    "SETTLE_UNKNOWN_CHARGE",
    "OrderWorkflow",
]
