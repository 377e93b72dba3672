"""The payment gateway's side of the fake activities: charges (orders started before holds), holds, captures,
voids and refunds, with `captured` and `holds` standing for the gateway's own books."""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Optional

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.types import Activities, ChargeRequest, ErrorTypes, Hold, HoldRecord, PaymentRecord, PaymentTruth


def business_error(message: str, error_type: str) -> ApplicationError:
    return ApplicationError(message, type=error_type, non_retryable=True)


def lost_reply(operation: str) -> ApplicationError:
    """A retryable failure after the side effect: what a timeout or a dropped connection looks like."""
    return ApplicationError(f"{operation} timed out after it was done", type="LostReply")


@dataclass
class FakePayments:
    decline_reason: str = ""
    charge_gate: Optional[asyncio.Event] = None
    charge_unavailable: bool = False  # every charge fails before reaching the gateway
    charge_lost_reply: bool = False  # every charge is captured, then its reply is lost
    record_payment_conflict: bool = False  # our payments table refuses the capture
    captured: bool = False
    # Holds (the gateway's books of authorizations): payment id -> authorized, captured, voided or expired.
    holds: dict = field(default_factory=dict)
    hold_valid_for: float = 7 * 86400.0  # seconds the gateway keeps a hold
    authorize_lost_reply: bool = False  # every authorization holds, then its reply is lost
    release_lost_reply: int = 0  # this many voids are done, then their reply is lost
    capture_expired: int = 0  # this many captures are answered "expired"
    decline_reauthorization: bool = False  # re-authorizations are declined (the first one holds)
    reauthorization_gate: Optional[asyncio.Event] = None

    def _record(self, name, arg):  # FakeActivities records every call
        raise NotImplementedError

    @activity.defn(name=Activities.CHARGE)
    async def charge(self, request: ChargeRequest) -> str:
        self._record(Activities.CHARGE, request)
        if self.charge_gate:
            await self.charge_gate.wait()
        if self.decline_reason:
            raise business_error(self.decline_reason, ErrorTypes.DECLINED)
        if self.charge_unavailable:
            raise ApplicationError("gateway unreachable", type="Unavailable")
        self.captured = True
        if self.charge_lost_reply:
            raise lost_reply("charge")
        return "ch_test"

    @activity.defn(name=Activities.SETTLE_PAYMENT)
    async def settle_payment(self, request: ChargeRequest) -> PaymentTruth:
        self._record(Activities.SETTLE_PAYMENT, request)
        if self.holds.get(request.payment_id) == "authorized":
            self.holds[request.payment_id] = "voided"
        return PaymentTruth("captured", "ch_test") if self.captured else PaymentTruth("voided")

    @activity.defn(name=Activities.AUTHORIZE)
    async def authorize(self, request: ChargeRequest) -> Hold:
        self._record(Activities.AUTHORIZE, request)
        reauthorizing = ":reauth:" in request.payment_id
        if reauthorizing and self.reauthorization_gate:
            await self.reauthorization_gate.wait()
        if self.decline_reason and (reauthorizing or not self.decline_reauthorization):
            raise business_error(self.decline_reason, ErrorTypes.DECLINED)
        if self.holds.get(request.payment_id) == "voided":
            raise business_error(f"payment {request.payment_id} was voided", ErrorTypes.CONFLICT)
        self.holds.setdefault(request.payment_id, "authorized")
        if self.authorize_lost_reply:
            raise lost_reply("authorize")
        return Hold("au_test", self._hold_expiry())

    def _hold_expiry(self) -> str:
        return (datetime.now(timezone.utc) + timedelta(seconds=self.hold_valid_for)).isoformat()

    @activity.defn(name=Activities.SETTLE_AUTHORIZATION)
    async def settle_authorization(self, request: ChargeRequest) -> PaymentTruth:
        self._record(Activities.SETTLE_AUTHORIZATION, request)
        state = self.holds.setdefault(request.payment_id, "voided")
        return PaymentTruth(state, "au_test", self._hold_expiry() if state == "authorized" else "")

    @activity.defn(name=Activities.RECORD_AUTHORIZATION)
    async def record_authorization(self, record: HoldRecord) -> None:
        self._record(Activities.RECORD_AUTHORIZATION, record)

    @activity.defn(name=Activities.CAPTURE)
    async def capture(self, request: ChargeRequest) -> str:
        self._record(Activities.CAPTURE, request)
        if self.charge_gate:
            await self.charge_gate.wait()
        if self.charge_unavailable:
            raise ApplicationError("gateway unreachable", type="Unavailable")
        if self.capture_expired:
            self.capture_expired -= 1
            self.holds[request.payment_id] = "expired"
            raise business_error(f"the authorization of {request.payment_id} expired", ErrorTypes.AUTHORIZATION_EXPIRED)
        if self.holds.get(request.payment_id) != "authorized" and not self.captured:
            raise business_error(f"payment {request.payment_id} holds nothing to capture", ErrorTypes.CONFLICT)
        self.holds[request.payment_id] = "captured"
        self.captured = True
        if self.charge_lost_reply:
            raise lost_reply("capture")
        return "ch_test"

    @activity.defn(name=Activities.VOID_HOLD)
    async def void_hold(self, record: PaymentRecord) -> PaymentTruth:
        self._record(Activities.VOID_HOLD, record)
        if self.holds.get(record.payment_id) == "authorized":
            self.holds[record.payment_id] = "voided"
        if self.release_lost_reply:
            self.release_lost_reply -= 1
            raise lost_reply("void")
        return PaymentTruth(self.holds.get(record.payment_id, "voided"))

    @activity.defn(name=Activities.RECORD_RELEASE)
    async def record_release(self, record: PaymentRecord) -> None:
        self._record(Activities.RECORD_RELEASE, record)

    @activity.defn(name=Activities.RECORD_EXPIRY)
    async def record_expiry(self, record: PaymentRecord) -> None:
        self._record(Activities.RECORD_EXPIRY, record)

    @activity.defn(name=Activities.RECORD_PAYMENT)
    async def record_payment(self, record: PaymentRecord) -> None:
        self._record(Activities.RECORD_PAYMENT, record)
        if self.record_payment_conflict:
            raise business_error(f"payment {record.payment_id} is declined, not captured", ErrorTypes.CONFLICT)

    @activity.defn(name=Activities.RECORD_DECLINE)
    async def record_decline(self, record: PaymentRecord) -> None:
        self._record(Activities.RECORD_DECLINE, record)

    @activity.defn(name=Activities.RECORD_VOID)
    async def record_void(self, record: PaymentRecord) -> None:
        self._record(Activities.RECORD_VOID, record)

    @activity.defn(name=Activities.REFUND)
    async def refund(self, record: PaymentRecord) -> None:
        self._record(Activities.REFUND, record)
        self.captured = False

