"""What the order workflow shows to searches: its search attributes (workflows/search_attributes.py), upserted when
one of them changes, and, since EVERY_ORDER_ENDS, its progress (workflows/progress.py)."""

from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.search_attributes import (
        ORDER_AMOUNT,
        ORDER_PROGRESS_AT,
        ORDER_STATUS,
        ORDER_STEP,
        ORDER_WAITING,
        REVIEW_ESCALATED,
        REVIEWER,
    )
    from workflows.types import Roles

if TYPE_CHECKING:
    from tests.legacy.release7_order.state import OrderState


class Publisher:
    def __init__(self, searchable: bool) -> None:
        self._searchable = searchable  # SEARCH_ATTRIBUTES: orders started before have none
        self._running = False
        self._published = {pair.key.name: pair.value for pair in workflow.info().typed_search_attributes}

    def start(self, state: "OrderState") -> None:
        """Messages may arrive before the run starts: nothing is published until it does."""
        self._running = True
        self.publish(state)

    def publish(self, state: "OrderState") -> None:
        """Upsert the search attributes that changed."""
        if not (self._searchable and self._running):
            return
        wanted = {ORDER_STATUS: state.status.value, REVIEW_ESCALATED: state.escalated}
        if state.amount is not None:
            wanted[ORDER_AMOUNT] = state.amount
        reviewer = last_reviewer(state)
        if reviewer:
            wanted[REVIEWER] = reviewer
        if state.ends:
            progress = state.progress
            wanted.update({ORDER_STEP: progress.step, ORDER_PROGRESS_AT: progress.since, ORDER_WAITING: progress.waiting})
        changed = {key: value for key, value in wanted.items() if self._published.get(key.name) != value}
        if changed:
            workflow.upsert_search_attributes([key.value_set(value) for key, value in changed.items()])
            self._published.update({key.name: value for key, value in changed.items()})


def last_reviewer(state: "OrderState") -> str:
    """The last reviewer to decide or claim."""
    if state.cancel and state.cancel.role == Roles.REVIEWER and state.cancel.actor:
        return state.cancel.actor
    if state.approvals or state.approval:
        return (state.approvals or [state.approval])[-1].actor
    return state.claim.reviewer if state.claim else ""
