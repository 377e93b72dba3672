"""The simulators' faults, as real integrations have them:
- before the side effect (FLAKY_FAILURE_RATE, with up to FLAKY_MAX_DELAY seconds of latency): nothing happened;
- after it (FLAKY_LOST_REPLY_RATE): the work is in the provider's books, then the reply is lost to a timeout or a
  dropped connection. Only the same key, or a lookup, tells what happened.
With FLAKY_SEED set, whether a call fails depends only on the seed, the operation, its key and the attempt
number, so a run can be reproduced. An order's own fault settings (the demo's --flaky) win over the workers'."""

import random
import time

from django.conf import settings

from orders.providers.base import Call, OutcomeUnknown, TryAgain
from workflows.types import FaultSettings


def configured_faults() -> FaultSettings:
    return FaultSettings(
        failure_rate=settings.FLAKY_FAILURE_RATE,
        max_delay_seconds=settings.FLAKY_MAX_DELAY,
        seed=settings.FLAKY_SEED,
        lost_reply_rate=settings.FLAKY_LOST_REPLY_RATE,
    )


class Dice:
    """One attempt of one simulated call, with its fault dice."""

    def __init__(self, operation: str, call: Call):
        self.operation, self.key, self.attempt = operation, call.key, call.attempt
        self.faults = call.faults or configured_faults()
        seed = self.faults.seed
        self._rng = random.Random(f"{seed}:{operation}:{call.key}:{call.attempt}") if seed else random.Random()

    def before(self) -> None:
        """Stall, and maybe fail before anything is done."""
        if self.faults.max_delay_seconds > 0:
            time.sleep(self._rng.uniform(0, self.faults.max_delay_seconds))
        if self.faults.failure_rate > 0 and self._rng.random() < self.faults.failure_rate:
            raise TryAgain(f"simulated fault in {self.operation} for {self.key} (attempt {self.attempt})")

    def after(self) -> None:
        """Maybe lose the reply to what was just done."""
        if self.faults.lost_reply_rate > 0 and self._rng.random() < self.faults.lost_reply_rate:
            kind = self._rng.choice(["timed out", "lost the connection"])
            raise OutcomeUnknown(f"{self.operation} for {self.key} {kind} after it was done (attempt {self.attempt})")
