"""Percentiles of the benchmarks' figures, by nearest rank (the value at rank int(q * n) of the sorted values)."""

from typing import Optional

QUANTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


def percentiles(values: list[float], scale: float = 1.0, digits: int = 4, with_max: bool = False) -> dict[str, Optional[float]]:
    """p50, p95 and p99 (and the max) of `values`, each times `scale` and rounded to `digits`; None when empty."""
    names = [name for name, _ in QUANTILES] + (["max"] if with_max else [])
    if not values:
        return dict.fromkeys(names)
    ordered = sorted(values)
    picked = {name: ordered[min(len(ordered) - 1, int(q * len(ordered)))] for name, q in QUANTILES}
    if with_max:
        picked["max"] = ordered[-1]
    return {name: round(value * scale, digits) for name, value in picked.items()}
