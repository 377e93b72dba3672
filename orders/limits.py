"""The one source of every limit an entry point enforces (API, admin, CLI). Each length is the column the value
lands in, so a value that passes an entry point can always be stored; texts built from several parts are cut to
fit with `fit`. PostgreSQL stores no NUL character in text or jsonb, and no lone surrogate in UTF-8: `unstorable`
finds them."""

import re
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from orders.models import Order, OrderEvent, Payment
from orders.rules import MAX_AMOUNT
from workflows.types import ELLIPSIS as ELLIPSIS  # re-exported: what `fit` ends a cut text with
from workflows.types import CancelCodes, fit_text


def _column(model, name: str) -> int:
    return model._meta.get_field(name).max_length


ORDER_ID = _column(Order, "id")
CUSTOMER_NAME = _column(Order, "customer_name")
CUSTOMER_EMAIL = _column(Order, "customer_email")
PAYMENT_ID = _column(Order, "payment_id")
CURRENCY = _column(Order, "currency")
STATUS_REASON = _column(Order, "status_reason")
FAILURE_REASON = _column(Payment, "failure_reason")
PROVIDER_REFERENCE = _column(Payment, "provider_reference")
TRACKING_NUMBER = _column(Order, "tracking_number")
EVENT_KEY = _column(OrderEvent, "key")
# Who acts (a username, or "system"): it lands in the reviewer, claim and event actor columns.
ACTOR = min(
    _column(Order, "reviewer"),
    _column(Order, "claimed_by"),
    _column(OrderEvent, "actor"),
    get_user_model()._meta.get_field("username").max_length,
)
# A reviewer's note, or a client's reason: it lands in status_reason after the longest reason code's label
# ("Customer request: <note>"), so it is the column less the longest text a one-character note gets.
NOTE = STATUS_REASON - max(len(CancelCodes.text(code, "x")) - 1 for code in CancelCodes.LABELS)
REASON = STATUS_REASON  # the free-text reason of a cancel without a reason code lands in status_reason alone

# Items and addresses are stored as JSON; these bound what an order may hold.
ITEMS = 200
SKU = 64
UNIT_PRICE = Decimal("99999.99")  # the largest unit price
# A line holds 1 to QUANTITY units: then any order's total (ITEMS x QUANTITY x UNIT_PRICE) fits the amount column.
QUANTITY = int(MAX_AMOUNT // (ITEMS * UNIT_PRICE))
ADDRESS = {"name": 200, "line1": 200, "line2": 200, "city": 100, "postal_code": 20, "country": 2}


def fit(text: str, limit: int) -> str:
    """The text, cut to `limit` characters with an ellipsis when it is longer."""
    return fit_text(text, limit)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value) -> str:
    """What in a value (a string, or lists and dicts of them) PostgreSQL cannot store; "" when it all fits."""
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        if not found:
            return ""
        return "contains a NUL character" if found.group() == "\x00" else "contains an unpaired surrogate (not valid Unicode)"
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple)):
        return next((problem for item in value if (problem := unstorable(item))), "")
    return ""


def storable(value):
    """The value (a string, or lists and dicts of them) with what PostgreSQL cannot store replaced by U+FFFD."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(item) for item in value]
    return value


def reject_unstorable(value) -> None:
    """A validator for Django forms and DRF fields."""
    problem = unstorable(value)
    if problem:
        raise ValidationError(f"This value {problem}.", code="unstorable")
