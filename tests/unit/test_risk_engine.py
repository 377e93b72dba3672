"""The engine and the screening service on the real database: the score, its band and route, the rules turned off,
and an assessment made once."""

import pytest
from django.test import override_settings

from orders import services
from orders.models import Order, OrderEvent
from orders.risk import engine
from orders.risk.rules import Rule
from orders.risk.signals import Signal
from orders.services import risk as risk_services
from orders.services._base import OrderRejected
from tests.unit.risk_orders import make_order

pytestmark = pytest.mark.django_db


class Points(Rule):
    """A rule for the tests: the points it is configured with, as one signal."""

    name = "points"

    def __init__(self, *, points=0, name="points"):
        self.points, self.name = points, name

    def signals(self, order):
        yield Signal(f"{self.name}_signal", self.points, f"{self.points} points")


def points(*values, names=None) -> list:
    names = names or [f"rule{n}" for n in range(len(values))]
    return [{"NAME": "tests.unit.test_risk_engine.Points", "OPTIONS": {"points": v, "name": n}} for v, n in zip(values, names)]


class TestScore:
    @pytest.mark.parametrize(
        "values, score",
        [((), 0), ((10, 15), 25), ((60, 50), 100), ((100, 1), 100), ((-10,), 0), ((30, -40), 0), ((50, -20), 30)],
    )
    def test_the_sum_of_the_signals_from_0_to_100(self, values, score):
        with override_settings(RISK_RULES=points(*values)):
            assessment = engine.assess(make_order())
        assert assessment.score == score
        assert [s.points for s in assessment.signals] == list(values)

    @pytest.mark.parametrize("score, band", [(0, "low"), (29, "low"), (30, "medium"), (69, "medium"), (70, "high"), (100, "high")])
    def test_the_band_edges(self, score, band):
        with override_settings(RISK_RULES=points(score)):
            assert engine.assess(make_order()).band == band
        assert engine.band(score) == band

    def test_the_band_edges_follow_the_settings(self):
        with override_settings(RISK_RULES=points(50), RISK_MEDIUM_FROM=51, RISK_HIGH_FROM=90):
            assert engine.assess(make_order()).band == "low"

    def test_the_route_uses_the_thresholds_given(self):
        with override_settings(RISK_RULES=points(45)):
            order = make_order()
            assert engine.assess(order, approve_below=50, cancel_from=80).route == "approve"
            assert engine.assess(order, approve_below=20, cancel_from=40).route == "cancel"
            assert engine.assess(order, approve_below=20, cancel_from=None).route == "review"
            assert engine.assess(order).route == "review"


class TestRulesOff:
    def test_a_rule_off_by_name(self):
        with override_settings(RISK_RULES=points(10, 20, names=["a", "b"]), RISK_RULES_OFF=["a"]):
            assert [s.name for s in engine.assess(make_order()).signals] == ["b_signal"]

    def test_all_off(self):
        with override_settings(RISK_RULES=points(10, 20), RISK_RULES_OFF=["all"]):
            assessment = engine.assess(make_order())
        assert (assessment.score, assessment.band, assessment.signals) == (0, "low", ())

    def test_names_are_read_without_surrounding_spaces(self):
        """RISK_RULES_OFF="a, b" in the environment is the list ["a", " b"]."""
        with override_settings(RISK_RULES=points(10, 20, 30, names=["a", "b", "c"]), RISK_RULES_OFF=["a", " b"]):
            assert [s.name for s in engine.assess(make_order()).signals] == ["c_signal"]

    def test_the_built_in_rules_off_by_name(self):
        order = make_order(email="x@mailinator.com")
        assert "disposable_email" in {s.name for s in engine.assess(order).signals}
        with override_settings(RISK_RULES_OFF=["disposable_email", "new_customer"]):
            names = {s.name for s in engine.assess(order).signals}
        assert not names & {"disposable_email", "new_customer"}

    def test_one_name_turns_off_every_rule_of_that_class(self):
        """The default settings have two velocity rules (10 minutes and 24 hours): "velocity" is both."""
        with override_settings(RISK_RULES_OFF=["velocity"]):
            assert not [r for r in engine.configured_rules() if r.name == "velocity"]
        assert len([r for r in engine.configured_rules() if r.name == "velocity"]) == 2


def screened(order: Order, **thresholds) -> Order:
    services.order_screen(order_id=order.pk, **thresholds)
    return Order.objects.get(pk=order.pk)


def validated_event(order: Order) -> OrderEvent:
    return OrderEvent.objects.get(order_id=order.pk, type=OrderEvent.Type.VALIDATED)


class TestScreen:
    def test_the_score_band_route_and_signals_are_stored_and_in_the_validated_event(self):
        with override_settings(RISK_RULES=points(25, 10, names=["a", "b"])):
            order = screened(make_order(), approve_below=40, cancel_from=80)

        assert (order.status, order.risk_score, order.risk_band, order.risk_route) == ("awaiting_review", 35, "medium", "approve")
        assert order.risk_signals == [
            {"name": "a_signal", "points": 25, "text": "25 points"},
            {"name": "b_signal", "points": 10, "text": "10 points"},
        ]
        payload = validated_event(order).payload
        assert (payload["risk_score"], payload["risk_band"], payload["risk_route"]) == (35, "medium", "approve")

    def test_screening_twice_keeps_the_first_assessment(self):
        with override_settings(RISK_RULES=points(25)):
            order = screened(make_order())
        with override_settings(RISK_RULES=points(90)):
            again = screened(order, approve_below=10, cancel_from=50)

        assert (again.risk_score, again.risk_route, again.risk_signals) == (25, order.risk_route, order.risk_signals)
        assert OrderEvent.objects.filter(order_id=order.pk, type=OrderEvent.Type.VALIDATED).count() == 1

    def test_assessing_an_order_that_has_a_score_changes_nothing(self):
        with override_settings(RISK_RULES=points(25)):
            order = screened(make_order())
        with override_settings(RISK_RULES=points(90)):
            summary = risk_services._assess(order, 10, 50)

        assert summary == {"risk_score": 25, "risk_band": "low", "risk_route": "approve"}
        assert (order.risk_score, order.risk_signals[0]["points"]) == (25, 25)

    def test_a_rejected_order_gets_no_score(self):
        order = make_order(items=[])
        with pytest.raises(OrderRejected):
            services.order_screen(order_id=order.pk, approve_below=50, cancel_from=80)

        order.refresh_from_db()
        assert (order.status, order.risk_score, order.risk_band, order.risk_route, order.risk_signals) == ("rejected", None, "", "", [])
        rejected = OrderEvent.objects.get(order_id=order.pk, type=OrderEvent.Type.REJECTED)
        assert "risk_score" not in rejected.payload

    def test_the_default_rules_score_a_first_order(self):
        order = screened(make_order(address={"country": "GB"}))
        assert order.risk_signals == [
            {"name": "new_customer", "points": 10, "text": "First order from this email: none completed before"}
        ]
        assert (order.risk_score, order.risk_band, order.risk_route) == (10, "low", "approve")
