"""The contract's verdict on the generated cases of tests/api/pipeline_cases.py: the answers the API may give each.

The verdicts are written from the contract (docs/api.md and the schema), not read from the serializers:
a value within every declared limit is taken, a value beyond one is refused with 400, and a value the contract does
not settle (an unknown property, an order with no items) may get either answer, never a 5xx."""

import re
from decimal import Decimal
from typing import Any, Optional

from orders import limits
from tests.api.pipeline_cases import (
    ADDRESS_FIELDS,
    ADDRESS_LIMITS,
    C0,
    EMAIL_VERDICTS,
    LINE_BREAKS,
    MAX_BODY,
    ORDER_IDS,
    PAYMENT_IDS,
    REASON_CODES,
    REQUIRED_ADDRESS,
    Case,
)
from workflows.types import CancelCodes


def _surrogate(c: str) -> bool:
    return 0xD800 <= ord(c) <= 0xDFFF


def line_ok(value: Any, limit: int, blank: bool = False) -> bool:
    """One line of text as the API takes it: a string of at most `limit` characters, no control character, and
    (unless `blank`) something that is not white space."""
    return _text_ok(value, limit, blank, C0)


def text_ok(value: Any, limit: int, blank: bool = False) -> bool:
    """Multi-line text (notes, reasons): tabs and line breaks allowed."""
    return _text_ok(value, limit, blank, C0 - LINE_BREAKS)


def _text_ok(value, limit, blank, refused) -> bool:
    if not isinstance(value, str) or len(value) > limit:
        return False
    if any(c in refused or _surrogate(c) for c in value):
        return False
    return blank or any(not c.isspace() for c in value)


def form_ok(value: str, limit: int, required: bool = False) -> Optional[bool]:
    """A Django form's CharField: stripped, no NUL, at most `limit`. None for a lone surrogate (not sendable as
    UTF-8: the form gets replacement characters)."""
    if any(_surrogate(c) for c in value):
        return None
    stripped = value.strip()
    return "\x00" not in value and len(stripped) <= limit and (bool(stripped) or not required)


def email_ok(value) -> Optional[bool]:
    if value in EMAIL_VERDICTS:
        return EMAIL_VERDICTS[value]
    return len(value) <= limits.CUSTOMER_EMAIL


def quantity_ok(value) -> bool:
    return type(value) is int and 1 <= value <= limits.QUANTITY


def price_ok(value) -> bool:
    """A decimal string from 0.01 to the largest unit price, at most 2 decimals, written plainly."""
    if not isinstance(value, str) or not re.fullmatch(r"(?:0|[1-9][0-9]*)(?:\.[0-9]{1,2})?", value):
        return False
    return Decimal("0.01") <= Decimal(value) <= limits.UNIT_PRICE


def code_ok(value, letters: int) -> bool:
    return isinstance(value, str) and re.fullmatch(f"[A-Za-z]{{{letters}}}", value) is not None


def _payment_kind(case: Case) -> str:
    """The payment id the body holds: the last one put in ("" for the default, pay-{order id})."""
    return next((value for where, value in reversed(case.changes) if where == "payment_id"), "")


def start_verdict(case: Case, body: Any) -> Optional[bool]:
    """True: within every limit (201); False: beyond one (400); None: either."""
    verdicts = [ORDER_IDS[case.id_kind], PAYMENT_IDS.get(_payment_kind(case), True)]
    if case.whole:
        return False
    if any(where == "extra" for where, _ in case.changes):
        verdicts.append(None)
    verdicts.append(_body_verdict(body))
    if False in verdicts:
        return False
    return None if None in verdicts else True


def expected_start(case: Case, body: Any, size: int) -> Optional[set]:
    """The answers the contract gives a first start of `body` (`size`: its bytes)."""
    verdict = start_verdict(case, body)
    if verdict is False:
        return {400, 413, 415} if case.whole == "form" else {400, 413}
    if size > MAX_BODY:
        return {413}
    if verdict and _payment_kind(case) == "in_use":
        return {409}
    return {201, 202} if verdict else None


def _body_verdict(body: dict) -> Optional[bool]:
    required = ["customer_name", "customer_email", "items", "currency", "shipping_address"]
    if any(name not in body for name in required):
        return False
    address = body["shipping_address"]
    verdicts = [
        line_ok(body["customer_name"], limits.CUSTOMER_NAME),
        email_ok(body["customer_email"]),
        code_ok(body["currency"], 3),
        address_verdict(address),
        # No items: refused at once, or taken and rejected by the validate step (a business rule, not a limit).
        None if not body["items"] else len(body["items"]) <= limits.ITEMS,
    ]
    for item in body["items"][:1]:  # the items of a case are one item repeated
        verdicts += [line_ok(item["sku"], limits.SKU), quantity_ok(item["quantity"]), price_ok(item["unit_price"])]
    if False in verdicts:
        return False
    return None if None in verdicts else True


def address_verdict(address: Any) -> Optional[bool]:
    if not isinstance(address, dict) or any(name not in address for name in REQUIRED_ADDRESS):
        return False
    if set(address) - set(ADDRESS_FIELDS):
        return None
    country = address["country"]
    verdicts = [
        line_ok(address[name], ADDRESS_LIMITS[name], blank=name == "line2")
        for name in ADDRESS_FIELDS if name != "country" and name in address
    ]
    verdicts.append(code_ok(country, 2))
    return all(verdicts)


def amount(body: dict) -> Decimal:
    return sum((Decimal(i["unit_price"]) * i["quantity"] for i in body["items"]), Decimal("0"))


def approve_body_ok(body: dict) -> Optional[bool]:
    if set(body) - {"note"}:
        return None
    return "note" not in body or text_ok(body["note"], limits.NOTE, blank=True)


def cancel_body_ok(body: dict) -> Optional[bool]:
    if set(body) - {"reason_code", "note", "reason"}:
        return None
    code, note, reason = body.get("reason_code"), body.get("note", ""), body.get("reason")
    if "note" in body and not text_ok(note, limits.NOTE, blank=True):
        return False
    if "reason" in body and not text_ok(reason, limits.NOTE):
        return False
    if code is None and "reason_code" not in body:
        return reason is not None
    if code not in REASON_CODES:
        return False
    return code != CancelCodes.OTHER or any(not c.isspace() for c in note)


def id_ok(order_id: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9_-]{1,64}", order_id) is not None


def key_ok(key: str) -> bool:
    return not key or re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", key) is not None


def wait_ok(wait: Optional[str]) -> bool:
    if wait is None:
        return True
    try:
        return 0 <= float(wait) <= 60
    except ValueError:
        return False
