"""`manage.py check` refuses a risk policy it cannot use, and names what is wrong."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from orders.risk.checks import check_risk_policy

ROOT = Path(__file__).resolve().parents[2]
VELOCITY = "orders.risk.rules.Velocity"


def errors(**overrides) -> dict[str, list[str]]:
    """The check's errors under these settings: messages by id."""
    with override_settings(**overrides):
        found = {}
        for error in check_risk_policy():
            found.setdefault(error.id, []).append(error.msg)
        return found


def with_rule(config: dict) -> list:
    return [*settings.RISK_RULES, config]


def test_the_default_settings_pass():
    assert errors() == {}


class TestRules:
    def test_an_unknown_dotted_path(self):
        found = errors(RISK_RULES=with_rule({"NAME": "orders.risk.rules.Nope"}))
        assert list(found) == ["orders.E102"]
        assert found["orders.E102"][0].startswith("RISK_RULES[8]: cannot import 'orders.risk.rules.Nope'")

    def test_a_path_that_is_not_a_module_path(self):
        assert errors(RISK_RULES=[{"NAME": "Velocity"}])["orders.E102"][0].startswith("RISK_RULES[0]: cannot import 'Velocity'")

    def test_not_a_rule_subclass(self):
        found = errors(RISK_RULES=[{"NAME": "orders.models.Order"}, {"NAME": "orders.risk.rules.FRAUD_MARKS"}])
        assert found == {
            "orders.E102": [
                "RISK_RULES[0]: 'orders.models.Order' is not a subclass of orders.risk.rules.Rule",
                "RISK_RULES[1]: 'orders.risk.rules.FRAUD_MARKS' is not a subclass of orders.risk.rules.Rule",
            ]
        }

    @pytest.mark.parametrize("config", ["orders.risk.rules.Velocity", {"OPTIONS": {}}, {"NAME": None}, {"NAME": VELOCITY, "OPTIONS": []}])
    def test_a_malformed_entry(self, config):
        assert list(errors(RISK_RULES=[config])) == ["orders.E102"]

    def test_rules_not_a_list(self):
        assert errors(RISK_RULES={"NAME": VELOCITY}) == {"orders.E102": ["RISK_RULES must be a list of rules, not dict"]}

    def test_an_unknown_option(self):
        found = errors(RISK_RULES=[{"NAME": VELOCITY, "OPTIONS": {"windw": "5m"}}])
        assert found["orders.E102"][0].startswith(f"RISK_RULES[0] ({VELOCITY}): ")
        assert "windw" in found["orders.E102"][0]

    @pytest.mark.parametrize(
        "config, message",
        [
            ({"NAME": "orders.risk.rules.Destination", "OPTIONS": {"watch": ["NG", "XX"]}}, "watch: not ISO 3166 country codes: 'XX'"),
            ({"NAME": VELOCITY, "OPTIONS": {"window": "soon"}}, "not a duration: 'soon'"),
            ({"NAME": "orders.risk.rules.Quantity", "OPTIONS": {"max_per_sku": 0}}, "max_per_sku must be a positive whole number, not 0"),
            ({"NAME": "orders.risk.rules.Amount", "OPTIONS": {"shop_percentile": 100}}, "shop_percentile must be a whole number from 1 to 99"),
            ({"NAME": "orders.risk.rules.FraudHistory", "OPTIONS": {"email_points": 500}}, "email_points must be a whole number of points"),
        ],
    )
    def test_a_bad_option_value(self, config, message):
        found = errors(RISK_RULES=[config])
        assert list(found) == ["orders.E102"]
        assert message in found["orders.E102"][0]

    def test_every_broken_entry_is_reported(self):
        found = errors(RISK_RULES=[{"NAME": "nope.Rule"}, {"NAME": VELOCITY}, {"NAME": VELOCITY, "OPTIONS": {"allowed": -1}}])
        assert [m.split(":")[0] for m in found["orders.E102"]] == ["RISK_RULES[0]", f"RISK_RULES[2] ({VELOCITY})"]


class TestRulesOff:
    def test_an_unknown_name(self):
        with override_settings(RISK_RULES_OFF=["velocity", "foo"]):
            (error,) = check_risk_policy()
        assert (error.id, error.msg) == ("orders.E103", "RISK_RULES_OFF names rules that are not configured: foo")
        assert error.hint == (
            "Use some of: amount, destination, disposable_email, fraud_history, new_customer, quantity, velocity, or all."
        )

    def test_names_are_exact(self):
        assert errors(RISK_RULES_OFF=["Velocity"]) == {"orders.E103": ["RISK_RULES_OFF names rules that are not configured: Velocity"]}

    @pytest.mark.parametrize("off", [["all"], ["velocity", " amount "], [], ["quantity", "all"]])
    def test_known_names_all_and_spaces_pass(self, off):
        assert errors(RISK_RULES_OFF=off) == {}

    def test_an_unknown_name_is_reported_beside_a_broken_rule(self):
        found = errors(RISK_RULES=with_rule({"NAME": VELOCITY, "OPTIONS": {"allowed": -1}}), RISK_RULES_OFF=["foo"])
        assert sorted(found) == ["orders.E102", "orders.E103"]
        assert found["orders.E103"] == ["RISK_RULES_OFF names rules that are not configured: foo"]

    def test_the_name_of_a_broken_rule_is_still_known(self):
        rules = [{"NAME": "orders.risk.rules.Destination", "OPTIONS": {"watch": "XX"}}]
        assert list(errors(RISK_RULES=rules, RISK_RULES_OFF=["destination"])) == ["orders.E102"]


class TestThresholds:
    @pytest.mark.parametrize(
        "approve_below, cancel_from", [(None, None), (30, None), (None, 70), (30, 70), (50, 50), (0, 100), (100, 100)]
    )
    def test_thresholds_that_can_be_used(self, approve_below, cancel_from):
        assert errors(RISK_AUTO_APPROVE_BELOW=approve_below, RISK_AUTO_CANCEL_FROM=cancel_from) == {}

    def test_the_wrong_way_round(self):
        assert errors(RISK_AUTO_APPROVE_BELOW=80, RISK_AUTO_CANCEL_FROM=40) == {
            "orders.E104": ["RISK_AUTO_APPROVE_BELOW (80) is above RISK_AUTO_CANCEL_FROM (40)"]
        }

    @pytest.mark.parametrize("value", [-1, 101, "abc", "12.5", 12.5, True])
    @pytest.mark.parametrize("name", ["RISK_AUTO_APPROVE_BELOW", "RISK_AUTO_CANCEL_FROM"])
    def test_out_of_range_or_not_a_whole_number(self, name, value):
        assert errors(**{name: value}) == {
            "orders.E101": [f"{name} must be a whole number from 0 to 100 or empty (off), not {value!r}"]
        }

    @pytest.mark.parametrize("medium, high", [(0, 70), (70, 70), (71, 70), (50, 30)])
    def test_band_edges_out_of_order(self, medium, high):
        assert errors(RISK_MEDIUM_FROM=medium, RISK_HIGH_FROM=high) == {
            "orders.E105": [f"RISK_MEDIUM_FROM ({medium}) must be above 0 and below RISK_HIGH_FROM ({high})"]
        }

    @pytest.mark.parametrize("medium, high", [(None, 70), (30, 101), (30, "high")])
    def test_band_edges_out_of_range(self, medium, high):
        assert list(errors(RISK_MEDIUM_FROM=medium, RISK_HIGH_FROM=high)) == ["orders.E101"]

    @pytest.mark.parametrize("medium, high", [(1, 2), (30, 70), (99, 100)])
    def test_band_edges_that_can_be_used(self, medium, high):
        assert errors(RISK_MEDIUM_FROM=medium, RISK_HIGH_FROM=high) == {}


def manage_check(**env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "SECRET_KEY": "check-secret", **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


class TestManageCheck:
    def test_thresholds_the_wrong_way_round_fail_the_command(self):
        result = manage_check(RISK_AUTO_APPROVE_BELOW="80", RISK_AUTO_CANCEL_FROM="40", RISK_RULES_OFF="velocity,foo")

        assert result.returncode != 0
        assert "orders.E104" in result.stderr
        assert "RISK_AUTO_APPROVE_BELOW (80) is above RISK_AUTO_CANCEL_FROM (40)" in result.stderr
        assert "RISK_RULES_OFF names rules that are not configured: foo" in result.stderr

    def test_a_threshold_that_is_not_a_number_fails_the_command(self):
        result = manage_check(RISK_AUTO_APPROVE_BELOW="low")
        assert result.returncode != 0
        assert "RISK_AUTO_APPROVE_BELOW must be a whole number from 0 to 100 or empty (off), not 'low'" in result.stderr

    def test_the_defaults_pass_the_command(self):
        result = manage_check(RISK_AUTO_APPROVE_BELOW="", RISK_AUTO_CANCEL_FROM="", RISK_RULES_OFF="")
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("entry_point", ["ordersite.asgi", "ordersite.wsgi"])
def test_the_web_tier_refuses_to_start_with_a_policy_it_cannot_use(entry_point):
    """gunicorn runs no checks of its own: the application module does, so a bad policy stops the start."""
    environment = {**os.environ, "SECRET_KEY": "check-secret", "RISK_AUTO_APPROVE_BELOW": "80", "RISK_AUTO_CANCEL_FROM": "40"}
    result = subprocess.run(
        [sys.executable, "-c", f"import {entry_point}"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "The risk policy cannot be used" in result.stderr and "orders.E104" in result.stderr
