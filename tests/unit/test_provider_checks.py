"""Providers that cannot be built stop the start with Django's check framework, not at the first payment."""

import pytest
from django.core import checks
from django.test import override_settings

from orders.providers.checks import check_providers


def ids(errors) -> list[str]:
    return [e.id for e in errors]


def test_the_default_providers_pass():
    assert check_providers() == []
    assert [m for m in checks.run_checks(tags=["providers"]) if m.is_serious()] == []


@pytest.mark.parametrize(
    "override, fragment",
    [
        ({"PAYMENT_GATEWAY_BACKEND": "shop.gateways.Nope"}, "PAYMENT_GATEWAY_BACKEND 'shop.gateways.Nope' cannot be used"),
        ({"PAYMENT_GATEWAY_BACKEND": "orders.providers.simulated.SimulatedCarrier"}, "is not a PaymentGateway"),
        ({"PAYMENT_GATEWAY_OPTIONS": {"no_such_option": 1}}, "unexpected keyword argument 'no_such_option'"),
        ({"CARRIER_BACKEND": "orders.providers.simulated.SimulatedGateway"}, "is not a Carrier"),
    ],
)
def test_a_backend_that_cannot_be_built_is_an_error(override, fragment):
    with override_settings(**override):
        errors = check_providers()
    assert ids(errors) == ["orders.E110"] and fragment in errors[0].msg


@pytest.mark.parametrize("override", [{"PAYMENT_AUTHORIZATION_VALID_FOR": 0}, {"PAYMENT_MAX_REAUTHORIZATIONS": -1}])
def test_hold_settings_out_of_range_are_errors(override):
    with override_settings(**override):
        assert ids(check_providers()) == ["orders.E111"]
