"""Order validation rules, shared by the API (early feedback) and the validate step (the decision)."""

from dataclasses import asdict
from decimal import Decimal, InvalidOperation

from workflows.types import Address

CENTS = Decimal("0.01")
# The largest amount the money columns hold (12 digits, 2 of them decimals).
MAX_AMOUNT = Decimal("9999999999.99")


def money(value) -> Decimal:
    try:
        return Decimal(str(value)).quantize(CENTS)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not an amount of money: {value!r}") from exc


def order_total(items: list[dict]) -> Decimal:
    return sum((money(i["unit_price"]) * int(i["quantity"]) for i in items), Decimal("0.00")).quantize(CENTS)


def amount_fits(amount: Decimal) -> bool:
    return abs(amount) <= MAX_AMOUNT


def address_problems(address: dict | Address) -> list[str]:
    if isinstance(address, dict):
        address = Address(**{k: v for k, v in address.items() if k in Address.__dataclass_fields__})
    missing = address.missing_fields()
    return [f"shipping address is missing {', '.join(missing)}"] if missing else []


def rejection_reasons(*, items: list[dict], address: dict, amount_limit: Decimal) -> list[str]:
    """Why an order can't be accepted; an empty list means it passes."""
    reasons = []
    if not items:
        reasons.append("the order has no items")
    for item in items:
        try:
            quantity, price = int(item["quantity"]), money(item["unit_price"])
        except (KeyError, TypeError, ValueError):
            reasons.append(f"item {item.get('sku', '?')!r} is malformed")
            continue
        if quantity <= 0:
            reasons.append(f"item {item.get('sku')!r} has a quantity that is not positive")
        if price <= 0:
            reasons.append(f"item {item.get('sku')!r} has a price that is not positive")
    reasons += address_problems(address)
    if not reasons and order_total(items) >= amount_limit:
        reasons.append(f"the amount {order_total(items)} is not under the limit of {amount_limit}")
    return reasons


def address_dict(address: Address) -> dict:
    return asdict(address)
