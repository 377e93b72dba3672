"""The order's risk: assessed once, as it is validated, and people's word on fraud afterwards."""

from typing import Optional

from django.db import transaction

from orders.models import Order
from orders.risk import engine
from orders.services._base import Event, InvalidTransition, Status, _locked, _transition
from orders.services.order import order_validate


def order_screen(
    *, order_id: str, approve_below: Optional[int] = None, cancel_from: Optional[int] = None, hold_first: bool = False
) -> Order:
    """Validate the order and, in the same transaction, assess its risk: the order waits for review with its score
    (with `hold_first`, once its payment is authorized), or is rejected (OrderRejected). The thresholds are the
    ones snapshotted for the order (None: off)."""
    assess = lambda order: _assess(order, approve_below, cancel_from)  # noqa: E731
    order = order_validate(order_id=order_id, assess=assess, hold_first=hold_first)
    if order.risk_score is None:
        # Validated before, without a score (by a worker of an earlier release): the assessment is added to the row.
        with transaction.atomic():
            order = _locked(order_id)
            _assess(order, approve_below, cancel_from)
            order.save(update_fields=["risk_score", "risk_band", "risk_route", "risk_signals"])
    return order


def _assess(order: Order, approve_below: Optional[int], cancel_from: Optional[int]) -> dict:
    if order.risk_score is not None:  # an assessment never changes
        return _summary(order)
    assessment = engine.assess(order, approve_below, cancel_from)
    order.risk_score, order.risk_band, order.risk_route = assessment.score, assessment.band, assessment.route
    order.risk_signals = [signal.as_dict() for signal in assessment.signals]
    return _summary(order)


def _summary(order: Order) -> dict:
    return {"risk_score": order.risk_score, "risk_band": order.risk_band, "risk_route": order.risk_route}


FRAUD_VERDICTS = {Order.Fraud.CONFIRMED: Event.FRAUD_CONFIRMED, Order.Fraud.CLEARED: Event.NOT_FRAUD}
DECIDED = (Status.COMPLETED, Status.CANCELLED)


def order_mark_fraud(*, order_id: str, actor: str, verdict: str, note: str = "") -> Order:
    """A person's word after the fact: fraud confirmed (a chargeback) or not fraud. Only a completed or cancelled
    order takes it; the fraud-history rule follows the latest word."""
    if verdict not in FRAUD_VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}; use one of {', '.join(FRAUD_VERDICTS)}")

    def mark(order):
        if order.status not in DECIDED:
            raise InvalidTransition(f"order {order_id} is {order.status}; only completed or cancelled orders are marked")
        order.fraud = verdict

    with transaction.atomic():
        order = _locked(order_id)
        # Keyed by its own count, under the row's lock: an order may be marked again (a chargeback reversed), each
        # time one event.
        marks = order.events.filter(type__in=FRAUD_VERDICTS.values()).count()
        return _transition(
            order_id=order_id,
            to_status=None,
            event_type=FRAUD_VERDICTS[verdict],
            key_parts=(marks + 1,),
            actor=actor,
            change=mark,
            note=note,
            risk_score=order.risk_score,
        )
