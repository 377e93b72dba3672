"""Stand-ins for the outside world: the payment gateway, the warehouse and the carrier.

Each call goes through flaky_call(), which injects the faults real integrations have (errors and latency) at
FLAKY_FAILURE_RATE and up to FLAKY_MAX_DELAY seconds. With FLAKY_SEED set, whether a call fails depends only on
the seed, the operation, its key and the attempt number, so a run can be reproduced.
"""

import hashlib
import random
import time
from typing import Optional

from django.conf import settings

from workflows.types import FaultSettings

DECLINE_PREFIX = "decline"


class TransientFault(Exception):
    """A simulated network or provider failure: worth retrying."""


class PaymentDeclined(Exception):
    """The gateway refused the charge: retrying won't help."""


def configured_faults() -> FaultSettings:
    return FaultSettings(
        failure_rate=settings.FLAKY_FAILURE_RATE, max_delay_seconds=settings.FLAKY_MAX_DELAY, seed=settings.FLAKY_SEED
    )


def flaky_call(operation: str, key: str, attempt: int = 1, faults: Optional[FaultSettings] = None) -> None:
    """Fail or stall like a real integration would. An order's own fault settings win over the workers'."""
    faults = faults or configured_faults()
    rng = random.Random(f"{faults.seed}:{operation}:{key}:{attempt}") if faults.seed else random.Random()
    if faults.max_delay_seconds > 0:
        time.sleep(rng.uniform(0, faults.max_delay_seconds))
    if faults.failure_rate > 0 and rng.random() < faults.failure_rate:
        raise TransientFault(f"simulated fault in {operation} for {key} (attempt {attempt})")


def _reference(prefix: str, *parts) -> str:
    return f"{prefix}_{hashlib.sha256(':'.join(map(str, parts)).encode()).hexdigest()[:16]}"


def gateway_charge(*, payment_id: str, amount: str, currency: str, attempt: int = 1, faults=None) -> str:
    """Charge with payment_id as the idempotency key, as real gateways do: the same key always gives the same
    charge reference. Payment ids that start with "decline" are declined, like a gateway's test cards."""
    flaky_call("gateway.charge", payment_id, attempt, faults)
    if payment_id.lower().startswith(DECLINE_PREFIX):
        raise PaymentDeclined(f"card declined for payment {payment_id}")
    return _reference("ch", payment_id, amount, currency)


def gateway_refund(*, payment_id: str, attempt: int = 1, faults=None) -> str:
    flaky_call("gateway.refund", payment_id, attempt, faults)
    return _reference("re", payment_id)


def warehouse_prepare(*, order_id: str, shipping_attempt: int, attempt: int = 1, faults=None) -> str:
    flaky_call("warehouse.prepare", f"{order_id}:{shipping_attempt}", attempt, faults)
    return f"PKG-{order_id}-{shipping_attempt}"


def carrier_dispatch(*, order_id: str, package_id: str, address: dict, attempt: int = 1, faults=None) -> str:
    flaky_call("carrier.dispatch", package_id, attempt, faults)
    return _reference("TRK", order_id, package_id, address.get("postal_code", "")).upper()
