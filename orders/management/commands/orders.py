"""`manage.py orders`: the API's operations from the command line, with the same validation and outcomes.

Decisions, claims and address changes name their actor (--actor): an active user who may review orders, and who
may take reviews over for --take-over. Notes and reasons are bounded by the columns they land in (orders.limits).

Exit codes: 0 done; 1 invalid input; 3 unknown order; 4 refused (a conflict, not allowed now, or not allowed to the
actor); 5 Temporal or the database unavailable.
"""

import json
import uuid
from dataclasses import fields
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError

from orders import limits, review, selectors
from orders.api.serializers import AddressSerializer, OrderListSerializer, StartOrderSerializer
from orders.management.commands._exit import TemporalCommand
from orders.models import ORDER_ID_RULE, Order, is_valid_order_id
from orders.temporal import client
from workflows.types import Address, CancelCodes

EXIT_INVALID, EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_UNAVAILABLE = 1, 3, 4, 5

SAMPLE = {
    "customer_name": "Ada Lovelace",
    "customer_email": "ada@example.com",
    "items": [{"sku": "BOOK-1", "quantity": 2, "unit_price": "12.50"}, {"sku": "PEN-7", "quantity": 1, "unit_price": "3.99"}],
    "currency": "USD",
    "shipping_address": {
        "name": "Ada Lovelace",
        "line1": "12 St James's Square",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
    },
}
ADDRESS_FIELDS = [f.name for f in fields(Address)]


def _text(name: str, value: str, limit: int) -> str:
    """Text of at most `limit` characters that the database can store, or invalid input."""
    problem = limits.unstorable(value) or (f"is longer than {limit} characters" if len(value) > limit else "")
    if problem:
        raise CommandError(f"--{name} {problem}: give at most {limit} characters of text", returncode=EXIT_INVALID)
    return value


def _item(text: str) -> dict:
    try:
        sku, quantity, price = text.split(":")
        quantity = int(quantity)  # the API's JSON integer
    except ValueError:
        raise CommandError(f"--item takes SKU:QUANTITY:UNIT_PRICE, not {text!r}", returncode=EXIT_INVALID)
    return {"sku": sku, "quantity": quantity, "unit_price": price}


class Command(TemporalCommand):
    help = "Start, approve, cancel, re-address, inspect and list orders (same semantics as the REST API)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        def action(name, help_text):
            sub = actions.add_parser(name, help=help_text)
            sub.add_argument("--json", action="store_true", help="machine-readable output")
            return sub

        start = action("start", "create an order and start its workflow")
        start.add_argument("order_id", nargs="?", help="defaults to a new random id with --sample")
        start.add_argument("--sample", action="store_true", help="fill every field with demo data")
        start.add_argument("--file", type=Path, help="a JSON file with the API's start body")
        start.add_argument("--customer-name")
        start.add_argument("--customer-email")
        start.add_argument("--item", action="append", type=_item, help="SKU:QUANTITY:UNIT_PRICE, repeatable")
        start.add_argument("--currency")
        start.add_argument("--payment-id")
        for field in ADDRESS_FIELDS:
            start.add_argument(f"--{field.replace('_', '-')}", dest=f"address_{field}")

        approve = action("approve", "approve orders under review (several ids: all at once)")
        approve.add_argument("order_ids", nargs="+", metavar="ORDER_ID")
        approve.add_argument("--note", default="")
        approve.add_argument("--actor", required=True, help="who is acting: a user who may review orders")

        cancel = action("cancel", "cancel orders, with a reason code (several ids: all at once)")
        cancel.add_argument("order_ids", nargs="+", metavar="ORDER_ID")
        why = cancel.add_mutually_exclusive_group(required=True)
        why.add_argument("--reason-code", choices=list(CancelCodes.LABELS), help="why; other needs --note")
        why.add_argument("--reason", help="free text, as before reason codes (taken as --reason-code other)")
        cancel.add_argument("--note", default="")
        cancel.add_argument("--actor", required=True)

        for name, text in (("claim", "claim an order for review"), ("release", "release your claim on an order")):
            claim = action(name, text)
            claim.add_argument("order_id")
            claim.add_argument("--take-over", action="store_true", help="take it from the reviewer who holds it")
            claim.add_argument("--actor", required=True)

        readdress = action("update-address", "change an order's shipping address")
        readdress.add_argument("order_id")
        for field in ADDRESS_FIELDS:
            readdress.add_argument(
                f"--{field.replace('_', '-')}", dest=f"address_{field}", required=field in Address.REQUIRED
            )
        readdress.add_argument("--actor", required=True)

        status = action("status", "the live status of an order")
        status.add_argument("order_id")

        listing = action("list", "list orders, newest first")
        listing.add_argument("--status", choices=Order.Status.values)
        listing.add_argument("--limit", type=int, default=50)

    def handle(self, *args, action, **options):
        self.as_json = options["json"]
        try:
            getattr(self, action.replace("-", "_"))(**options)
        except client.OrderNotFound as exc:
            raise CommandError(str(exc), returncode=EXIT_NOT_FOUND)
        except (client.MessageRejected, client.OrderConflict, client.OrderRefused) as exc:
            raise CommandError(f"refused: {exc}", returncode=EXIT_REFUSED)
        except client.TemporalUnavailable as exc:
            raise CommandError(str(exc), returncode=EXIT_UNAVAILABLE)
        except review.TooManyOrders as exc:
            raise CommandError(str(exc), returncode=EXIT_INVALID)
        except DatabaseError as exc:
            raise CommandError(f"database unavailable: {exc}", returncode=EXIT_UNAVAILABLE)

    # --- actions -------------------------------------------------------------------------------

    def start(self, order_id, sample, file, **options):
        body = dict(SAMPLE) if sample else {}
        if file:
            body.update(json.loads(file.read_text()))
        given = {
            "customer_name": options["customer_name"],
            "customer_email": options["customer_email"],
            "items": options["item"],
            "currency": options["currency"],
            "payment_id": options["payment_id"],
        }
        body.update({k: v for k, v in given.items() if v is not None})
        address = {f: options[f"address_{f}"] for f in ADDRESS_FIELDS if options[f"address_{f}"] is not None}
        if address:
            body["shipping_address"] = {**body.get("shipping_address", {}), **address}
        order_id = order_id or (f"demo-{uuid.uuid4().hex[:8]}" if sample else None)
        if not order_id:
            raise CommandError("an order id is needed (or --sample for a random one)", returncode=EXIT_INVALID)
        if not is_valid_order_id(order_id):
            raise CommandError(ORDER_ID_RULE, returncode=EXIT_INVALID)
        serializer = StartOrderSerializer(data=body)
        self._require_valid(serializer)
        result = client.start_order(order_id=order_id, **serializer.validated_request())
        verb = "Started, not yet written (is a worker running?)" if result.pending else "Started" if result.created else "Already started"
        self._emit(
            {"id": order_id, "workflow_id": result.workflow_id, "created": result.created, "pending": result.pending},
            f"{verb}: {order_id} (workflow {result.workflow_id})",
        )

    def approve(self, order_ids, note, actor, **_):
        note = _text("note", note, limits.NOTE)
        actor = self._actor(actor)
        if len(order_ids) > 1:
            return self._many(review.approve_orders(order_ids, actor=actor, note=note), order_ids)
        self._message(order_ids[0], client.approve(order_ids[0], actor=actor, note=note), "Approved")

    def cancel(self, order_ids, reason_code, note, reason, actor, **_):
        note, reason = _text("note", note, limits.NOTE), _text("reason", reason or "", limits.NOTE)
        code, note = (reason_code, note) if reason_code else ("other", note or reason)
        problem = CancelCodes.problem(code, note)
        if problem:
            raise CommandError(problem, returncode=EXIT_INVALID)
        actor = self._actor(actor)
        if len(order_ids) > 1:
            return self._many(review.cancel_orders(order_ids, actor=actor, code=code, note=note), order_ids)
        self._message(order_ids[0], client.cancel(order_ids[0], actor=actor, code=code, note=note), "Cancelled")

    def claim(self, order_id, take_over, actor, **_):
        actor = self._actor(actor, take_over=take_over)
        self._message(order_id, client.claim(order_id, actor=actor, take_over=take_over), "Claimed")

    def release(self, order_id, take_over, actor, **_):
        actor = self._actor(actor, take_over=take_over)
        self._message(order_id, client.release(order_id, actor=actor, take_over=take_over), "Released")

    def _many(self, outcome, order_ids):
        """Many orders at once: each one's outcome; exit 4 if any was refused, 5 if any outcome is unknown."""
        self._emit({"counts": outcome.counts(), "messages": [text for _, text in outcome.messages()]}, "\n".join(text for _, text in outcome.messages()))
        if outcome.unknown:
            raise CommandError(f"{len(outcome.unknown)} of {len(order_ids)} outcomes unknown; try them again", returncode=EXIT_UNAVAILABLE)
        if outcome.refused:
            raise CommandError(f"{len(outcome.refused)} of {len(order_ids)} refused", returncode=EXIT_REFUSED)

    def update_address(self, order_id, actor, **options):
        serializer = AddressSerializer(data={f: options[f"address_{f}"] or "" for f in ADDRESS_FIELDS})
        self._require_valid(serializer)
        address = dict(serializer.validated_data)
        self._message(order_id, client.update_address(order_id, actor=self._actor(actor), address=address), "Address updated")

    def status(self, order_id, **_):
        order = Order.objects.filter(pk=order_id).first()
        if order is None:
            raise client.OrderNotFound(f"order {order_id} not found")
        view = selectors.order_status(order, client.status(order_id))
        lines = [f"{order_id}: {view['status']}" + (f" ({view['step']})" if view["step"] else "")]
        for label, key in [
            ("reason", "reason"),
            ("payment", "payment_status"),
            ("shipping attempts", "shipping_attempts"),
            ("last failure", "last_failure"),
            ("tracking", "tracking_number"),
        ]:
            if view[key]:
                lines.append(f"  {label}: {view[key]}")
        lines.append(f"  escalated: {'yes' if view['escalated'] else 'no'}; live: {'yes' if view['live'] else 'no'}")
        self._emit(view, "\n".join(lines))

    def list(self, status, limit, **_):
        orders = Order.objects.order_by("-created_at")
        if status:
            orders = orders.filter(status=status)
        rows = OrderListSerializer(orders[:limit], many=True).data
        text = "\n".join(
            f"{r['id']:<24} {r['status']:<16} {r['amount']:>10} {r['currency']}  {r['customer_email']}" for r in rows
        )
        self._emit(rows, text or "No orders.")

    # --- helpers -------------------------------------------------------------------------------

    def _actor(self, actor: str, take_over: bool = False) -> str:
        """The acting user's name, once it is known to be an active user allowed to act."""
        user = get_user_model().objects.filter(username=actor).first()
        if user is None:
            raise CommandError(f"{actor} is not a user", returncode=EXIT_INVALID)
        if not user.is_active:
            raise CommandError(f"{actor} is not an active user", returncode=EXIT_INVALID)
        if not selectors.can_review(user):
            raise CommandError(f"{actor} may not review orders (orders.review_order)", returncode=EXIT_REFUSED)
        if take_over and not selectors.can_take_over(user):
            raise CommandError(f"{actor} may not take reviews over (orders.take_over_review)", returncode=EXIT_REFUSED)
        return user.get_username()

    def _require_valid(self, serializer):
        if not serializer.is_valid():
            raise CommandError(f"invalid input: {json.dumps(serializer.errors)}", returncode=EXIT_INVALID)

    def _message(self, order_id, result, done):
        text = f"Accepted: {order_id} ({result.detail})" if result.still_processing else f"{done}: {order_id} (now {result.status})"
        self._emit({"id": order_id, "accepted": result.accepted, "status": result.status, "detail": result.detail}, text)

    def _emit(self, data, text):
        self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, indent=2) if self.as_json else text)
