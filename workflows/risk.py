"""The risk policy's routes and bands: pure functions of a score, shared by the workflow (which routes by the
thresholds snapshotted for the order) and Django (which shows bands and the route the policy gives). No Django."""

from typing import Optional


class Route:
    APPROVE = "approve"
    REVIEW = "review"
    CANCEL = "cancel"


class Band:
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    ALL = (LOW, MEDIUM, HIGH)


def route(score: int, approve_below: Optional[int], cancel_from: Optional[int]) -> str:
    """Where a score sends an order: a threshold that is None is off, and every order it would route is reviewed."""
    if cancel_from is not None and score >= cancel_from:
        return Route.CANCEL
    if approve_below is not None and score < approve_below:
        return Route.APPROVE
    return Route.REVIEW


def band(score: int, medium_from: int, high_from: int) -> str:
    if score >= high_from:
        return Band.HIGH
    if score >= medium_from:
        return Band.MEDIUM
    return Band.LOW


def suggested_route(
    score: int, approve_below: Optional[int], cancel_from: Optional[int], medium_from: int, high_from: int
) -> str:
    """The route the policy gives an order whether or not routing is on: a threshold that is off is taken as the
    band's edge (low is approved, high is cancelled), moved so that it never contradicts the threshold that is on
    (approving below 80 with cancelling off, a 75 is approved, as the workflow does, not suggested for cancel)."""
    if approve_below is None:
        approve_below = medium_from if cancel_from is None else min(medium_from, cancel_from)
    if cancel_from is None:
        cancel_from = max(high_from, approve_below)
    return route(score, approve_below, cancel_from)
