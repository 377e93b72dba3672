"""The amount rule on the real database: the customer's own completed orders, and the shop's usual range."""

from decimal import Decimal

import pytest

from orders.models import Order
from orders.risk.rules import Amount
from tests.unit.risk_orders import before, make_order, signals, stranger

pytestmark = pytest.mark.django_db

COMPLETED = Order.Status.COMPLETED
CUSTOMER_ONLY = {"shop_points": 0}
SHOP_ONLY = {"customer_points": 0}


def shop_orders(amounts, **fields):
    """Earlier orders from other customers, the first of `amounts` the most recent."""
    for n, amount in enumerate(amounts):
        make_order(at=before(hours=n + 1), amount=amount, **stranger(n), **fields)


class TestCustomerHistory:
    @pytest.mark.parametrize("amount, flagged", [("29.99", False), ("30.00", False), ("30.01", True), ("100.00", True)])
    def test_the_factor_of_the_largest_completed_order(self, amount, flagged):
        make_order(at=before(days=20), status=COMPLETED, amount="10.00")
        make_order(at=before(days=10), status=COMPLETED, amount="8.00")

        found = signals(Amount(**CUSTOMER_ONLY), make_order(amount=amount))

        assert ("amount_customer" in found) is flagged

    def test_the_text_names_the_ratio_and_the_largest_order(self):
        make_order(at=before(days=10), status=COMPLETED, amount="10.00")
        found = signals(Amount(**CUSTOMER_ONLY), make_order(amount="45.00"))
        assert found == {"amount_customer": (20, "Amount 45.00 is 4.5× this customer's largest completed order (10.00)")}

    def test_no_completed_history_gives_no_signal(self):
        make_order(at=before(days=10), status=Order.Status.CANCELLED, amount="1.00")
        make_order(at=before(days=9), status=Order.Status.REJECTED, amount="1.00")
        assert signals(Amount(**CUSTOMER_ONLY), make_order(amount="5000.00")) == {}

    def test_history_is_the_customers_own_by_email_key(self):
        make_order(at=before(days=10), status=COMPLETED, amount="10.00", email="Ada+old@Example.com")
        make_order(at=before(days=9), status=COMPLETED, amount="1000.00", **stranger(1))
        assert "amount_customer" in signals(Amount(**CUSTOMER_ONLY), make_order(amount="50.00"))

    def test_only_the_last_completed_orders_are_the_history(self):
        make_order(at=before(days=30), status=COMPLETED, amount="500.00")
        make_order(at=before(days=2), status=COMPLETED, amount="10.00")
        make_order(at=before(days=1), status=COMPLETED, amount="10.00")
        order = make_order(amount="50.00")

        assert signals(Amount(customer_history=2, **CUSTOMER_ONLY), order) != {}
        assert signals(Amount(customer_history=3, **CUSTOMER_ONLY), order) == {}

    def test_a_fractional_factor(self):
        make_order(at=before(days=1), status=COMPLETED, amount="10.00")
        assert signals(Amount(customer_factor=1.5, **CUSTOMER_ONLY), make_order(amount="15.00")) == {}
        assert signals(Amount(customer_factor=1.5, **CUSTOMER_ONLY), make_order(amount="15.01")) != {}

    def test_another_currency_is_not_compared(self):
        """10 USD before and 5,000 JPY now: the numbers are not the same money."""
        make_order(at=before(days=1), status=COMPLETED, amount="10.00", currency="USD")
        assert signals(Amount(**CUSTOMER_ONLY), make_order(amount="5000.00", currency="JPY")) == {}

    def test_a_completed_order_of_nothing_is_no_yardstick(self):
        make_order(at=before(days=1), status=COMPLETED, amount="0.00")
        assert signals(Amount(**CUSTOMER_ONLY), make_order(amount="5.00")) == {}


class TestShopRange:
    @pytest.mark.parametrize("amount, flagged", [("95.00", False), ("95.01", True), ("96.00", True)])
    def test_above_the_percentile_of_the_last_orders(self, amount, flagged):
        """1 to 100: 95 orders are at most 95.00, so 95.01 is above 95 % of them and 95.00 is not."""
        shop_orders(range(1, 101))

        found = signals(Amount(**SHOP_ONLY), make_order(amount=amount))

        text = f"Amount {amount} is above 95 % of the shop's last 100 orders (up to 95.00)"
        assert found == ({"amount_shop": (15, text)} if flagged else {})

    @pytest.mark.parametrize("earlier, flagged", [(9, False), (10, True), (11, True)])
    def test_the_minimum_sample(self, earlier, flagged):
        shop_orders(["10.00"] * earlier)
        found = signals(Amount(shop_min_sample=10, **SHOP_ONLY), make_order(amount="10.01"))
        assert ("amount_shop" in found) is flagged

    @pytest.mark.parametrize("earlier, flagged", [(49, False), (50, True)])
    def test_the_default_minimum_sample_is_50(self, earlier, flagged):
        shop_orders(["10.00"] * earlier)
        assert ("amount_shop" in signals(Amount(**SHOP_ONLY), make_order(amount="20.00"))) is flagged

    def test_the_sample_is_the_most_recent_orders(self):
        shop_orders(["10.00"] * 10 + ["900.00"] * 10)  # the large ones are the oldest
        order = make_order(amount="100.00")

        assert signals(Amount(shop_sample=10, shop_min_sample=10, **SHOP_ONLY), order) != {}
        assert signals(Amount(shop_sample=20, shop_min_sample=10, shop_percentile=60, **SHOP_ONLY), order) == {}

    def test_later_orders_are_not_in_the_sample(self):
        order = make_order(at=before(days=2), amount="10.00")
        shop_orders(["1.00"] * 10)
        assert signals(Amount(shop_min_sample=10, **SHOP_ONLY), order) == {}

    def test_only_orders_in_the_same_currency_are_the_range(self):
        shop_orders(["10.00"] * 10, currency="USD")
        shop_orders(["5000.00"] * 10, currency="JPY")
        assert signals(Amount(shop_min_sample=10, **SHOP_ONLY), make_order(amount="10.01", currency="USD")) != {}

    def test_the_first_orders_in_a_currency_have_no_range_yet(self):
        shop_orders(["10.00"] * 10, currency="USD")
        assert signals(Amount(shop_min_sample=10, **SHOP_ONLY), make_order(amount="2000.00", currency="JPY")) == {}

    def test_both_signals_add_up(self):
        shop_orders(["10.00"] * 10)
        make_order(at=before(days=1), status=COMPLETED, amount="10.00")
        found = signals(Amount(shop_min_sample=10), make_order(amount="31.00"))
        assert {name: points for name, (points, _) in found.items()} == {"amount_customer": 20, "amount_shop": 15}


@pytest.mark.parametrize(
    "options",
    [
        {"customer_factor": 0},
        {"customer_factor": "3"},
        {"customer_history": 0},
        {"customer_history": 2.5},
        {"shop_percentile": 100},
        {"shop_percentile": 0},
        {"shop_percentile": 95.5},
        {"shop_percentile": True},
        {"shop_sample": -1},
        {"shop_min_sample": 0},
        {"shop_points": 150},
    ],
)
def test_bad_options_are_refused(options):
    with pytest.raises(ValueError):
        Amount(**options)


def test_the_factor_keeps_its_decimal_value():
    assert Amount(customer_factor=2.5).customer_factor == Decimal("2.5")
