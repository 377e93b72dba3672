"""Shipping: the warehouse and the carrier (through the CARRIER_BACKEND), and the shipping steps' records."""

from dataclasses import asdict

from orders import providers, services
from orders.temporal.activities._base import call, domain_activity
from workflows.types import (
    Activities,
    DispatchRequest,
    OrderRef,
    PackageRequest,
    ShipmentTruth,
    ShippingAttempt,
    ShippingStep,
)


@domain_activity(Activities.START_SHIPPING)
def start_shipping(attempt: ShippingAttempt) -> None:
    services.order_start_shipping(order_id=attempt.order_id, attempt=attempt.attempt)


@domain_activity(Activities.PREPARE_PACKAGE)
def prepare_package(request: PackageRequest) -> str:
    return providers.carrier().prepare(
        call(f"{request.order_id}:{request.attempt}", request.faults), order_id=request.order_id, shipping_attempt=request.attempt
    )


@domain_activity(Activities.DISPATCH_CARRIER)
def dispatch_carrier(request: DispatchRequest) -> str:
    return providers.carrier().dispatch(
        call(providers.shipment_key(request.order_id), request.faults),
        order_id=request.order_id,
        package_id=request.package_id,
        address=asdict(request.address),
    )


@domain_activity(Activities.SETTLE_SHIPMENT)
def settle_shipment(ref: OrderRef) -> ShipmentTruth:
    """After a dispatch whose outcome is unknown: ask the carrier by the order's key, and cancel the key if nothing
    shipped, so that a dispatch still in flight never lands, before anything is refunded."""
    carrier, key = providers.carrier(), call(providers.shipment_key(ref.order_id))
    truth = carrier.lookup(key)
    if not truth.dispatched:
        truth = carrier.cancel(key, order_id=ref.order_id)
    return ShipmentTruth(dispatched=truth.dispatched, tracking_number=truth.tracking_number)


@domain_activity(Activities.RECORD_SHIPPING_STEP)
def record_shipping_step(step: ShippingStep) -> None:
    services.order_record_shipping_step(order_id=step.order_id, attempt=step.attempt, step=step.step, detail=step.detail)
