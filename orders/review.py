"""Reviewer decisions on many orders at once, with a truthful outcome per order (used by the admin)."""

from dataclasses import dataclass, field
from typing import Callable

from workflows import client


@dataclass
class ReviewOutcome:
    verb: str
    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # Temporal did not take the decision in time: retry

    def messages(self) -> list[tuple[str, str]]:
        """(level, text) pairs, e.g. ("success", "Approved: A, B.") and ("error", "Not approved: C (order already cancelled).")"""
        out = []
        if self.done:
            out.append(("success", f"{self.verb.capitalize()}: {', '.join(self.done)}."))
        if self.pending:
            out.append(("warning", f"Accepted, still processing: {', '.join(self.pending)}."))
        if self.unknown:
            out.append(("warning", f"Outcome unknown (not taken in time; try again): {', '.join(self.unknown)}."))
        if self.refused:
            reasons = ", ".join(f"{order_id} ({reason})" for order_id, reason in self.refused)
            out.append(("error", f"Not {self.verb}: {reasons}."))
        return out


def _each(order_ids: list[str], verb: str, send: Callable[[str], client.MessageResult]) -> ReviewOutcome:
    outcome = ReviewOutcome(verb=verb)
    for order_id in order_ids:
        try:
            result = send(order_id)
        except client.TemporalUnavailable:
            outcome.unknown.append(order_id)
            continue
        except client.OrderClientError as exc:
            outcome.refused.append((order_id, str(exc)))
            continue
        (outcome.pending if result.still_processing else outcome.done).append(order_id)
    return outcome


def approve_orders(order_ids: list[str], *, actor: str) -> ReviewOutcome:
    return _each(order_ids, "approved", lambda order_id: client.approve(order_id, actor=actor))


def cancel_orders(order_ids: list[str], *, actor: str, reason: str) -> ReviewOutcome:
    return _each(order_ids, "cancelled", lambda order_id: client.cancel(order_id, actor=actor, reason=reason))


def update_address(order_id: str, *, actor: str, address: dict) -> ReviewOutcome:
    return _each([order_id], "re-addressed", lambda oid: client.update_address(oid, actor=actor, address=address))
