"""Where an order stands: its step, the attempt of that step and its last error, when it last moved on, and
whether it is in a wait that is expected. Local activities retry inside the worker, so the server's description of
a workflow never shows them: the workflow keeps this itself, answers it in its query and publishes the step, the
time and the waiting flag as search attributes, so that a stuck order can be found (workflows/search_attributes.py).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Optional

from temporalio import workflow

# Between two tries of a write that failed for a reason that goes away (the database is down): 1, 2, 4 ... 30 s.
FIRST_RETRY = 1.0
LONGEST_RETRY = 30.0


@dataclass
class Progress:
    step: str = "receive"
    attempt: int = 1
    error: str = ""
    since: Optional[datetime] = None
    waiting: bool = False
    # Called after every change, to publish it (the workflow's search attributes).
    changed: Optional[Callable[[], None]] = None

    def move(self, step: str) -> None:
        self.step, self.attempt, self.error, self.since = step, 1, "", workflow.now()
        self._changed()

    def failed(self, error: str) -> timedelta:
        """A try failed and the step will be tried again: returns how long to wait first."""
        self.error = error
        wait = min(LONGEST_RETRY, FIRST_RETRY * 2 ** (self.attempt - 1))
        self.attempt += 1
        return timedelta(seconds=wait)

    def succeeded(self) -> None:
        self.error = ""

    def wait(self, waiting: bool) -> None:
        if waiting != self.waiting:
            self.waiting = waiting
            if not waiting:
                self.since = workflow.now()  # the expected wait is over: the clock for being stuck starts again
            self._changed()

    def _changed(self) -> None:
        if self.changed:
            self.changed()
