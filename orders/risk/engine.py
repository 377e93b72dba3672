"""Scoring: the rules of settings.RISK_RULES (less those RISK_RULES_OFF names) applied to one order, their points
summed into a score from 0 to 100, its band, and the route the policy gives it."""

import functools
from typing import Optional

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from orders.models import Order
from orders.risk.rules import Rule
from orders.risk.signals import Assessment
from workflows import risk

ALL_OFF = "all"


class RuleConfigError(Exception):
    def __init__(self, message: str, rule_name: str = ""):
        super().__init__(message)
        self.rule_name = rule_name  # the rule's name when its class was found, "" otherwise


def off_names(off) -> set[str]:
    """The names RISK_RULES_OFF gives, without surrounding spaces ("velocity, amount" in the environment)."""
    if isinstance(off, str):
        off = off.split(",")
    return {str(name).strip() for name in off} - {""}


def build_rule(index: int, config) -> Rule:
    """Instantiate one entry of RISK_RULES; RuleConfigError names the entry and why it cannot be used."""
    where = f"RISK_RULES[{index}]"
    if not isinstance(config, dict) or not isinstance(config.get("NAME"), str):
        raise RuleConfigError(f"{where} must be a dict with a NAME (a dotted path) and optional OPTIONS")
    try:
        cls = import_string(config["NAME"])
    except ImportError as exc:
        raise RuleConfigError(f"{where}: cannot import {config['NAME']!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Rule)):
        raise RuleConfigError(f"{where}: {config['NAME']!r} is not a subclass of orders.risk.rules.Rule")
    options = config.get("OPTIONS", {})
    if not isinstance(options, dict):
        raise RuleConfigError(f"{where}: OPTIONS must be a dict", cls.name)
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:
        raise RuleConfigError(f"{where} ({config['NAME']}): {exc}", cls.name) from exc


def build_rules(configs: list, off) -> list[Rule]:
    """Every configured rule but those `off` names ("all": none); RuleConfigError at the first that cannot be used."""
    if not isinstance(configs, (list, tuple)):
        raise RuleConfigError(f"RISK_RULES must be a list of rules, not {type(configs).__name__}")
    rules, off = [build_rule(index, config) for index, config in enumerate(configs)], off_names(off)
    return [] if ALL_OFF in off else [rule for rule in rules if rule.name not in off]


@functools.lru_cache(maxsize=1)
def configured_rules() -> list[Rule]:
    return build_rules(settings.RISK_RULES, settings.RISK_RULES_OFF)


@receiver(setting_changed)
def _settings_changed(*, setting, **kwargs):
    if setting in ("RISK_RULES", "RISK_RULES_OFF"):
        configured_rules.cache_clear()


def band(score: int) -> str:
    return risk.band(score, settings.RISK_MEDIUM_FROM, settings.RISK_HIGH_FROM)


def assess(order: Order, approve_below: Optional[int] = None, cancel_from: Optional[int] = None) -> Assessment:
    """Score the order with every rule. `approve_below` and `cancel_from` are the thresholds snapshotted for the
    order (None: off): the route is the one its workflow takes, or would take with routing on."""
    signals = tuple(signal for rule in configured_rules() for signal in rule.signals(order))
    score = max(0, min(100, sum(s.points for s in signals)))
    route = risk.suggested_route(score, approve_below, cancel_from, settings.RISK_MEDIUM_FROM, settings.RISK_HIGH_FROM)
    return Assessment(score=score, band=band(score), route=route, signals=signals)
