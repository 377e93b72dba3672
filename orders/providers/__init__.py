"""The payment gateway and the carrier our activities talk to, chosen by settings (base.py has the interfaces):

    PAYMENT_GATEWAY_BACKEND = "orders.providers.simulated.SimulatedGateway"
    PAYMENT_GATEWAY_OPTIONS = {}  # keyword arguments of the backend's constructor
    CARRIER_BACKEND = "orders.providers.simulated.SimulatedCarrier"
    CARRIER_OPTIONS = {}
"""

import functools
import json
from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from orders.providers.base import Carrier, OutcomeUnknown, PaymentGateway, Refused, TryAgain


class Guarded:
    """A backend as the activities see it: whatever it raises besides its documented answers (Refused, TryAgain)
    is an unknown outcome, retried with the same key and then looked up; never a final answer."""

    def __init__(self, backend):
        self.backend = backend

    def __getattr__(self, name):
        method = getattr(self.backend, name)
        if not callable(method):
            return method

        @functools.wraps(method)
        def guarded(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            except (Refused, TryAgain):
                raise
            except Exception as exc:
                raise OutcomeUnknown(f"{type(self.backend).__name__}.{name} failed: {type(exc).__name__}: {exc}") from exc

        return guarded


@lru_cache(maxsize=None)
def _build(path: str, options: str, interface: type) -> Guarded:
    backend = import_string(path)(**json.loads(options))
    if not isinstance(backend, interface):
        raise TypeError(f"{path} is not a {interface.__name__} (orders.providers.base)")
    return Guarded(backend)


def payment_gateway() -> PaymentGateway:  # a Guarded one
    return _build(settings.PAYMENT_GATEWAY_BACKEND, json.dumps(settings.PAYMENT_GATEWAY_OPTIONS, sort_keys=True), PaymentGateway)


def carrier() -> Carrier:  # a Guarded one
    return _build(settings.CARRIER_BACKEND, json.dumps(settings.CARRIER_OPTIONS, sort_keys=True), Carrier)


@receiver(setting_changed)
def _forget(setting, **kwargs):
    if setting in (
        "PAYMENT_GATEWAY_BACKEND", "PAYMENT_GATEWAY_OPTIONS", "CARRIER_BACKEND", "CARRIER_OPTIONS", "PAYMENT_AUTHORIZATION_VALID_FOR"
    ):
        _build.cache_clear()


def shipment_key(order_id: str) -> str:
    """One key per order, across shipping attempts: the carrier ships an order at most once."""
    return f"SHIP-{order_id}"
