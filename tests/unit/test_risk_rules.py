"""The velocity and new-customer rules on the real database, at and around their thresholds."""

import pytest

from orders.models import Order
from orders.risk.rules import NewCustomer, Velocity
from tests.unit.risk_orders import before, make_order, signals, stranger

pytestmark = pytest.mark.django_db


def earlier_orders(count: int, **fields):
    """`count` earlier orders from Ada, 20 seconds apart: inside any window of 90 seconds or more for up to 4."""
    for n in range(count):
        make_order(at=before(seconds=20 * (n + 1)), **fields)


class TestVelocityCounts:
    def test_the_allowed_number_of_earlier_orders_gives_no_signal(self):
        earlier_orders(1)
        assert signals(Velocity(), make_order()) == {}

    def test_one_past_the_allowed_gives_the_points_and_says_how_many(self):
        earlier_orders(2)

        found = signals(Velocity(), make_order())

        assert found["velocity_email_10m"] == (20, "3 orders from this email in the last 10 minutes")
        assert found["velocity_address_10m"] == (20, "3 orders from this shipping address in the last 10 minutes")
        assert found["velocity_name_10m"] == (20, "3 orders from this name and postal code in the last 10 minutes")

    @pytest.mark.parametrize("earlier, points", [(2, 20), (3, 25), (4, 30), (5, 35), (6, 35), (9, 35)])
    def test_each_extra_order_adds_points_up_to_the_cap(self, earlier, points):
        for n in range(earlier):
            make_order(at=before(seconds=30 * (n + 1)))
        found = signals(Velocity(keys=("email",)), make_order())
        assert found == {"velocity_email_10m": (points, f"{earlier + 1} orders from this email in the last 10 minutes")}

    def test_allowed_zero_flags_the_second_order(self):
        earlier_orders(1)
        found = signals(Velocity(allowed=0, keys=("email",)), make_order())
        assert found == {"velocity_email_10m": (20, "2 orders from this email in the last 10 minutes")}

    @pytest.mark.parametrize("earlier, points", [(4, None), (5, 10), (6, 15), (7, 20), (8, 20)])
    def test_a_larger_allowance_and_its_own_points(self, earlier, points):
        rule = Velocity(window="24h", allowed=4, points=10, points_per_extra=5, max_points=20, keys=("email",))
        for n in range(earlier - 1):
            make_order(at=before(hours=n + 1))
        make_order(at=before(hours=23, minutes=59))

        found = signals(rule, make_order())

        expected = {"velocity_email_24h": (points, f"{earlier + 1} orders from this email in the last 24 hours")}
        assert found == (expected if points else {})


class TestVelocityWindow:
    def test_an_order_exactly_one_window_ago_is_outside_it(self):
        make_order(at=before(minutes=10))
        make_order(at=before(minutes=1))
        assert signals(Velocity(keys=("email",)), make_order()) == {}

    def test_an_order_a_second_inside_the_window_counts(self):
        make_order(at=before(minutes=9, seconds=59))
        make_order(at=before(minutes=1))
        assert "velocity_email_10m" in signals(Velocity(keys=("email",)), make_order())

    def test_later_orders_do_not_count(self):
        """An order is scored as it was when validated: orders after it are not its history."""
        order = make_order(at=before(minutes=5))
        make_order(at=before(minutes=4))
        make_order(at=before(minutes=3))
        assert signals(Velocity(keys=("email",)), order) == {}

    def test_the_window_is_measured_from_the_orders_own_time(self):
        earlier_orders(2)
        old = make_order(at=before(days=3))
        assert signals(Velocity(keys=("email",)), old) == {}


class TestVelocityKeys:
    def test_email_ignores_case_and_plus_tags(self):
        make_order(at=before(minutes=2), **stranger(1, email="Ada+one@Example.COM"))
        make_order(at=before(minutes=1), **stranger(2, email="ADA+two@example.com"))

        found = signals(Velocity(), make_order(**stranger(3, email="ada@example.com")))

        assert set(found) == {"velocity_email_10m"}

    def test_another_mailbox_at_the_same_domain_is_another_customer(self):
        make_order(at=before(minutes=2), **stranger(1, email="adam@example.com"))
        make_order(at=before(minutes=1), **stranger(2, email="ada@example.org"))
        assert signals(Velocity(), make_order(**stranger(3, email="ada@example.com"))) == {}

    def test_address_is_compared_normalised(self):
        same_street = {"line1": "12 ST. JAMES’S  SQUARE", "postal_code": "sw1y4jh"}
        make_order(at=before(minutes=2), **stranger(1, address=same_street))
        make_order(at=before(minutes=1), **stranger(2, address={"line1": "12 st james's square", "city": "LONDRES"}))

        found = signals(Velocity(), make_order(**stranger(3, address={})))

        assert set(found) == {"velocity_address_10m"}

    def test_name_and_postal_code_link_different_emails_and_streets(self):
        at_postal = lambda n, postal: {"line1": f"{n} Other Road", "postal_code": postal}  # noqa: E731
        make_order(at=before(minutes=2), **stranger(1, name="ADA LOVELACE", address=at_postal(1, "SW1Y 4JH")))
        make_order(at=before(minutes=1), **stranger(2, name="Ada  Lovelace", address=at_postal(2, "sw1y-4jh")))

        found = signals(Velocity(), make_order(**stranger(3, name="Ada Lovelace", address=at_postal(3, "SW1Y 4JH"))))

        assert set(found) == {"velocity_name_10m"}

    def test_only_the_configured_keys_are_counted(self):
        earlier_orders(2)
        assert set(signals(Velocity(keys=("address", "name")), make_order())) == {
            "velocity_address_10m",
            "velocity_name_10m",
        }

    def test_a_key_named_twice_counts_once(self):
        earlier_orders(2)
        assert [s.name for s in Velocity(keys=["email", "email"]).signals(make_order())] == ["velocity_email_10m"]

    def test_an_empty_key_links_nothing(self):
        """Orders without an address key (no street) are not one customer because they share the empty key."""
        for n in range(3):
            make_order(at=before(minutes=n + 1), **stranger(n, address={"line1": "", "postal_code": ""}))
        order = make_order(**stranger(9, address={"line1": "", "postal_code": ""}))
        assert order.address_key == "" and order.name_key == ""
        assert signals(Velocity(), order) == {}

    def test_any_status_counts(self):
        for n, status in enumerate([Order.Status.REJECTED, Order.Status.CANCELLED]):
            make_order(at=before(minutes=n + 1), status=status)
        assert "velocity_email_10m" in signals(Velocity(), make_order())


class TestVelocityOptions:
    @pytest.mark.parametrize(
        "options",
        [
            {"window": "0"},
            {"window": "soon"},
            {"window": "500ms"},
            {"window": "1.5s"},
            {"allowed": -1},
            {"allowed": 1.5},
            {"allowed": True},
            {"points": 101},
            {"points_per_extra": "5"},
            {"max_points": -101},
            {"keys": ("email", "phone")},
            {"keys": ()},
            {"keys": "email"},
        ],
    )
    def test_bad_options_are_refused(self, options):
        with pytest.raises(ValueError):
            Velocity(**options)

    @pytest.mark.parametrize(
        "window, label, words",
        [
            ("90", "90s", "90 seconds"),
            ("10m", "10m", "10 minutes"),
            ("1h", "1h", "1 hour"),
            ("24h", "24h", "24 hours"),  # as configured, not "1 day"
            ("2d", "2d", "2 days"),
            ("1.5h", "90m", "90 minutes"),
            (600, "600s", "600 seconds"),
        ],
    )
    def test_names_and_texts_follow_the_window(self, window, label, words):
        earlier_orders(2)
        found = signals(Velocity(window=window, keys=("email",)), make_order())
        assert found == {f"velocity_email_{label}": (20, f"3 orders from this email in the last {words}")}


class TestNewCustomer:
    def test_no_earlier_order_is_a_new_customer(self):
        found = signals(NewCustomer(), make_order())
        assert found == {"new_customer": (10, "First order from this email: none completed before")}

    @pytest.mark.parametrize("status", [Order.Status.CANCELLED, Order.Status.REJECTED, Order.Status.APPROVED])
    def test_earlier_orders_not_completed_still_make_a_new_customer(self, status):
        make_order(at=before(days=3), status=status)
        assert set(signals(NewCustomer(), make_order())) == {"new_customer"}

    def test_a_completed_order_makes_a_returning_customer(self):
        make_order(at=before(days=30), status=Order.Status.COMPLETED, email="ADA+old@example.com")
        found = signals(NewCustomer(), make_order())
        assert found == {"returning_customer": (-10, "Returning customer: an earlier order from this email was completed")}

    def test_a_completed_order_from_another_email_does_not_count(self):
        make_order(at=before(days=30), status=Order.Status.COMPLETED, email="someone@example.com")
        assert set(signals(NewCustomer(), make_order())) == {"new_customer"}

    def test_a_later_completed_order_does_not_count(self):
        order = make_order(at=before(days=30))
        make_order(at=before(days=1), status=Order.Status.COMPLETED)
        assert set(signals(NewCustomer(), order)) == {"new_customer"}

    def test_a_completed_order_younger_than_min_age_does_not_vouch(self):
        make_order(at=before(hours=23), status=Order.Status.COMPLETED)
        assert set(signals(NewCustomer(), make_order())) == {"new_customer"}
        assert set(signals(NewCustomer(min_age="1h"), make_order())) == {"returning_customer"}

    def test_points_of_zero_give_no_signal(self):
        assert signals(NewCustomer(points=0), make_order()) == {}
        make_order(at=before(days=1), status=Order.Status.COMPLETED)
        assert signals(NewCustomer(returning_points=0), make_order()) == {}

    def test_returning_points_are_configurable(self):
        make_order(at=before(days=1), status=Order.Status.COMPLETED)
        assert signals(NewCustomer(returning_points=-25), make_order())["returning_customer"][0] == -25

    @pytest.mark.parametrize("options", [{"points": 1.5}, {"returning_points": -101}, {"points": None}])
    def test_bad_options_are_refused(self, options):
        with pytest.raises(ValueError):
            NewCustomer(**options)
