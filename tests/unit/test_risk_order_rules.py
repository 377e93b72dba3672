"""The rules that read the order itself (destination, email, quantities) and the fraud history of its customer."""

import pytest

from orders import services
from orders.models import Order
from orders.risk.rules import Destination, DisposableEmail, FraudHistory, Quantity
from tests.unit.risk_orders import before, make_order, signals, stranger
from workflows.types import CancelCodes, Roles

pytestmark = pytest.mark.django_db


def to(country: str) -> Order:
    return make_order(address={"country": country})


class TestDestination:
    def test_an_allowed_country_gives_no_signal(self):
        assert signals(Destination(allowed=["GB", "FR"]), to("GB")) == {}

    def test_a_country_outside_the_allowed_list(self):
        found = signals(Destination(allowed=["GB", "FR"]), to("DE"))
        assert found == {"destination_outside": (40, "Ships to Germany, outside the countries the shop ships to")}

    def test_an_empty_allowed_list_allows_every_country(self):
        assert signals(Destination(), to("NZ")) == {}

    def test_a_watched_country(self):
        found = signals(Destination(watch=["NG"]), to("NG"))
        assert found == {"destination_watched": (25, "Ships to Nigeria, on the watch list")}

    def test_outside_and_watched_add_up(self):
        found = signals(Destination(allowed=["GB"], watch=["NG"]), to("NG"))
        assert {name: points for name, (points, _) in found.items()} == {"destination_outside": 40, "destination_watched": 25}

    @pytest.mark.parametrize("country", ["XX", "", "G", "Britain"])
    def test_an_unknown_code_is_its_own_signal(self, country):
        found = signals(Destination(allowed=["GB"], watch=["NG"]), to(country))
        assert found == {"destination_unknown": (30, f"Shipping country {country!r} is not an ISO 3166 country code")}

    def test_alpha_3_and_lower_case_codes_are_the_same_countries(self):
        rule = Destination(allowed=["gbr", " FR "], watch="NGA,GH")
        assert rule.allowed == {"GB", "FR"} and rule.watch == {"NG", "GH"}
        assert signals(rule, to("GBR")) == {}
        assert signals(rule, to("fr")) == {}
        assert set(signals(rule, to("NGA"))) == {"destination_outside", "destination_watched"}

    @pytest.mark.parametrize("options", [{"watch": ["XX"]}, {"allowed": ["GB", "UK"]}, {"watch": "NG,XYZ"}, {"outside_points": 1.5}])
    def test_bad_options_are_refused(self, options):
        with pytest.raises(ValueError):
            Destination(**options)

    def test_the_refusal_names_the_unknown_codes(self):
        with pytest.raises(ValueError, match="watch: not ISO 3166 country codes: 'XX'"):
            Destination(watch=["NG", "XX"])


class TestDisposableEmail:
    @pytest.mark.parametrize("email", ["x@mailinator.com", "X@MAILINATOR.COM", "x@mailinator.com."])
    def test_a_listed_domain(self, email):
        found = signals(DisposableEmail(), make_order(email=email))
        assert found == {"disposable_email": (30, "The email is at a disposable-address provider (mailinator.com)")}

    def test_a_subdomain_of_a_listed_domain(self):
        found = signals(DisposableEmail(points=45), make_order(email="x@eu.mail.mailinator.com"))
        assert found == {"disposable_email": (45, "The email is at a disposable-address provider (eu.mail.mailinator.com)")}

    @pytest.mark.parametrize("email", ["x@example.com", "x@gmail.com", "x@ada-mailinator.org", "x@proton.me", "x@mailinator.com.example.org", "x"])
    def test_a_normal_domain(self, email):
        assert signals(DisposableEmail(), make_order(email=email)) == {}


def with_items(*items) -> Order:
    return make_order(items=[{"sku": sku, "quantity": quantity, "unit_price": "1.00"} for sku, quantity in items])


class TestQuantity:
    def test_at_the_maximum(self):
        assert signals(Quantity(), with_items(("BOOK-1", 10), ("PEN-7", 10))) == {}

    def test_one_above_the_maximum(self):
        found = signals(Quantity(), with_items(("BOOK-1", 11), ("PEN-7", 10)))
        assert found == {"quantity": (15, "Unusual quantity: 11 × BOOK-1 (more than 10 of one item)")}

    def test_every_large_item_is_named_once(self):
        found = signals(Quantity(max_per_sku=2, points=5), with_items(("A", 3), ("B", 1), ("C", 4)))
        assert found == {"quantity": (5, "Unusual quantity: 3 × A, 4 × C (more than 2 of one item)")}

    def test_one_item_on_several_lines_is_counted_together(self):
        found = signals(Quantity(), with_items(("BOOK-1", 6), ("PEN-7", 1), ("BOOK-1", 6)))
        assert found == {"quantity": (15, "Unusual quantity: 12 × BOOK-1 (more than 10 of one item)")}

    @pytest.mark.parametrize("options", [{"max_per_sku": 0}, {"max_per_sku": 2.5}, {"points": "15"}])
    def test_bad_options_are_refused(self, options):
        with pytest.raises(ValueError):
            Quantity(**options)


def marked(fraud: str, **customer) -> Order:
    return make_order(at=before(days=10), status=Order.Status.CANCELLED, fraud=fraud, **customer)


class TestFraudHistory:
    def test_an_email_suspected_by_a_person(self):
        old = marked(Order.Fraud.SUSPECTED, email="ADA+x@example.com", **{k: v for k, v in stranger(1).items() if k != "email"})
        found = signals(FraudHistory(), make_order())
        assert found == {"fraud_history_email": (60, f"This email is linked to order {old.pk}, cancelled as suspected fraud")}

    def test_an_address_with_fraud_confirmed(self):
        old = marked(Order.Fraud.CONFIRMED, **stranger(1, address={"line1": "12 ST JAMES'S SQUARE", "postal_code": "SW1Y4JH"}))
        found = signals(FraudHistory(), make_order())
        assert found == {"fraud_history_address": (50, f"This shipping address is linked to order {old.pk}, fraud confirmed")}

    def test_email_and_address_both_linked(self):
        marked(Order.Fraud.CONFIRMED)
        assert {name: p for name, (p, _) in signals(FraudHistory(), make_order()).items()} == {
            "fraud_history_email": 60,
            "fraud_history_address": 50,
        }

    @pytest.mark.parametrize("fraud", ["", Order.Fraud.CLEARED])
    def test_no_mark_or_a_cleared_one_does_not_count(self, fraud):
        marked(fraud)
        assert signals(FraudHistory(), make_order()) == {}

    def test_another_customer_is_not_linked(self):
        marked(Order.Fraud.CONFIRMED, **stranger(1))
        assert signals(FraudHistory(), make_order()) == {}

    def test_an_order_without_keys_is_not_linked_to_others_without_them(self):
        no_keys = {"email": "", "address": {"line1": "", "postal_code": ""}}
        marked(Order.Fraud.CONFIRMED, **no_keys)
        assert signals(FraudHistory(), make_order(**no_keys)) == {}

    def test_zero_points_give_no_signal(self):
        marked(Order.Fraud.CONFIRMED)
        assert set(signals(FraudHistory(email_points=0), make_order())) == {"fraud_history_address"}


def awaiting_review(**customer) -> Order:
    order = make_order(at=before(days=1), status=Order.Status.AWAITING_REVIEW, **customer)
    return order


class TestFraudMarksFromDecisions:
    def test_a_reviewers_suspected_fraud_cancel_marks_the_order(self):
        old = awaiting_review()
        services.order_cancel(order_id=old.pk, actor="rita", reason="fraud", code=CancelCodes.SUSPECTED_FRAUD, role=Roles.REVIEWER)

        assert Order.objects.get(pk=old.pk).fraud == Order.Fraud.SUSPECTED
        assert set(signals(FraudHistory(), make_order())) == {"fraud_history_email", "fraud_history_address"}

    def test_the_policys_own_cancel_never_marks_the_order(self):
        old = awaiting_review()
        services.order_cancel(
            order_id=old.pk, actor="policy", reason="risk", code=CancelCodes.SUSPECTED_FRAUD, role=Roles.POLICY
        )

        old.refresh_from_db()
        assert (old.status, old.fraud, old.decided_by) == (Order.Status.CANCELLED, "", Order.DecidedBy.POLICY)
        assert signals(FraudHistory(), make_order()) == {}

    def test_not_fraud_clears_a_reviewers_suspicion(self):
        old = awaiting_review()
        services.order_cancel(order_id=old.pk, actor="rita", reason="fraud", code=CancelCodes.SUSPECTED_FRAUD, role=Roles.REVIEWER)
        services.order_mark_fraud(order_id=old.pk, actor="lead", verdict=Order.Fraud.CLEARED)

        assert signals(FraudHistory(), make_order()) == {}

    def test_fraud_confirmed_after_the_fact(self):
        old = make_order(at=before(days=30), status=Order.Status.COMPLETED)
        services.order_mark_fraud(order_id=old.pk, actor="lead", verdict=Order.Fraud.CONFIRMED, note="chargeback")

        found = signals(FraudHistory(), make_order())
        assert found["fraud_history_email"] == (60, f"This email is linked to order {old.pk}, fraud confirmed")
