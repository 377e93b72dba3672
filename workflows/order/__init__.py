"""The order workflow, by concern: the workflow class with its whole interface (order_workflow.py), its state
(state.py), and a module per concern: review.py, claims.py, payment.py, fulfilment.py, address.py, publishing.py."""

from temporalio import workflow

from workflows.order.order_workflow import OrderWorkflow

with workflow.unsafe.imports_passed_through():
    from workflows.order.review import NEXT_TASK
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
