"""Activities: thin adapters from workflow steps to domain services and providers (Django side, run in worker
threads). Two kinds, with different retry policies chosen by the workflows (_base.py)."""

from orders.temporal.activities import order, payment, shipping
from orders.temporal.activities._base import domain_activity

__all__ = ["ALL", "domain_activity"]

ALL = [
    order.receive_order,
    order.validate_order,
    order.screen_order,
    order.escalate_review,
    order.approve_order,
    order.record_approval,
    order.record_claim,
    order.cancel_order,
    order.update_order_address,
    payment.authorize_payment,
    payment.record_authorization,
    payment.settle_authorization,
    payment.capture_payment,
    payment.charge_payment,
    payment.record_payment,
    payment.record_payment_declined,
    payment.settle_payment,
    payment.record_payment_voided,
    payment.void_hold,
    payment.record_hold_released,
    payment.record_authorization_expired,
    payment.refund_payment,
    shipping.start_shipping,
    shipping.prepare_package,
    shipping.dispatch_carrier,
    shipping.record_shipping_step,
    shipping.settle_shipment,
    order.complete_order,
    order.fail_order,
]
