"""Durations in settings: plain seconds ("90") or with a unit ("500ms", "30s", "15m", "2h", "1d")."""

import re

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration_seconds(value: str) -> float:
    match = _PATTERN.match(str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r} (use e.g. 90, 30s, 15m, 2h)")
    number, unit = match.groups()
    return float(number) * _UNITS[unit or "s"]
