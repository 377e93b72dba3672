"""`manage.py check` (and every start of the web and the workers) refuses a risk policy it cannot use: an unknown
rule path, a bad option, thresholds out of range or the wrong way round."""

from django.conf import settings
from django.core import checks
from django.core.management.base import SystemCheckError

from orders.risk.engine import ALL_OFF, RuleConfigError, build_rule, off_names

SCORE_RANGE = "a whole number from 0 to 100"


def _score(name: str, errors: list, allow_none: bool = True):
    value = getattr(settings, name)
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        errors.append(checks.Error(f"{name} must be {SCORE_RANGE}{' or empty (off)' if allow_none else ''}, not {value!r}", id="orders.E101"))
        return None
    return value


def _rules(errors: list) -> set[str]:
    """Every entry of RISK_RULES that cannot be used, each its own error; the names of the rules it configures."""
    names = set()
    if not isinstance(settings.RISK_RULES, (list, tuple)):
        errors.append(checks.Error(f"RISK_RULES must be a list of rules, not {type(settings.RISK_RULES).__name__}", id="orders.E102"))
        return names
    for index, config in enumerate(settings.RISK_RULES):
        try:
            names.add(build_rule(index, config).name)
        except RuleConfigError as exc:
            errors.append(checks.Error(str(exc), hint="See docs/configuration.md, Risk.", id="orders.E102"))
            names.add(exc.rule_name)
    return names - {""}


@checks.register("risk")
def check_risk_policy(app_configs=None, **kwargs) -> list:
    errors = []
    names = _rules(errors)
    # Checked even when an entry is broken: a name no entry gives is a mistake of its own.
    unknown = sorted(off_names(settings.RISK_RULES_OFF) - names - {ALL_OFF})
    if unknown:
        errors.append(checks.Error(
            f"RISK_RULES_OFF names rules that are not configured: {', '.join(unknown)}",
            hint=f"Use some of: {', '.join(sorted(names))}, or {ALL_OFF}.", id="orders.E103",
        ))  # fmt: skip
    approve_below, cancel_from = _score("RISK_AUTO_APPROVE_BELOW", errors), _score("RISK_AUTO_CANCEL_FROM", errors)
    if approve_below is not None and cancel_from is not None and approve_below > cancel_from:
        errors.append(checks.Error(
            f"RISK_AUTO_APPROVE_BELOW ({approve_below}) is above RISK_AUTO_CANCEL_FROM ({cancel_from})",
            hint="Orders scoring between them go to review; the approve threshold must not be above the cancel one.",
            id="orders.E104",
        ))  # fmt: skip
    medium, high = _score("RISK_MEDIUM_FROM", errors, False), _score("RISK_HIGH_FROM", errors, False)
    if medium is not None and high is not None and not 0 < medium < high:
        errors.append(checks.Error(f"RISK_MEDIUM_FROM ({medium}) must be above 0 and below RISK_HIGH_FROM ({high})", id="orders.E105"))
    return errors


def refuse_unusable_policy() -> None:
    """For entry points that do not run Django's checks (gunicorn): stop at start, not at the first order."""
    errors = [message for message in checks.run_checks(tags=["risk"]) if message.is_serious()]
    if errors:
        raise SystemCheckError("The risk policy cannot be used:\n" + "\n".join(str(e) for e in errors))
