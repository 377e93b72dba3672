"""`manage.py check` (and every start of the workers) refuses providers it cannot build: an unknown backend path,
a class that is not a gateway or a carrier, options its constructor does not take; and a hold validity that is
not a positive duration."""

from django.conf import settings
from django.core import checks

from orders import providers

HINT = "See docs/configuration.md, Payment gateway and carrier."


@checks.register("providers")
def check_providers(app_configs=None, **kwargs) -> list:
    errors = []
    for setting, build in (("PAYMENT_GATEWAY_BACKEND", providers.payment_gateway), ("CARRIER_BACKEND", providers.carrier)):
        try:
            build()
        except Exception as exc:  # any failure to build is reported, not raised: the check lists them all
            errors.append(checks.Error(f"{setting} {getattr(settings, setting)!r} cannot be used: {exc}", hint=HINT, id="orders.E110"))
    if not settings.PAYMENT_AUTHORIZATION_VALID_FOR > 0:
        errors.append(checks.Error("PAYMENT_AUTHORIZATION_VALID_FOR must be a positive duration", hint=HINT, id="orders.E111"))
    if settings.PAYMENT_MAX_REAUTHORIZATIONS < 0:
        errors.append(checks.Error("PAYMENT_MAX_REAUTHORIZATIONS must be 0 or more", hint=HINT, id="orders.E111"))
    return errors
