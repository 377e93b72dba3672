"""What a rule finds: signals, each with its share of the score and a sentence a reviewer understands."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Signal:
    name: str  # stable, for filters and metrics: "velocity_email_10m"
    points: int  # its contribution to the score (negative lowers it)
    text: str  # "3 orders from this email in the last 10 minutes"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Assessment:
    score: int  # 0-100
    band: str
    route: str  # the route the policy gives the order (workflows/risk.py suggested_route)
    signals: tuple[Signal, ...]
