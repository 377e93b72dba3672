"""Users the API tests act as."""

import pytest

from tests.api.test_api import user_in


@pytest.fixture
def reviewer():
    return user_in("Reviewers", "rita")


@pytest.fixture
def client_a():
    return user_in("Order clients", "shop-a")
