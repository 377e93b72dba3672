"""The orders API: a thin entry point. Views validate input, check who may do what, call the workflow client
and map outcomes to responses (errors through orders.api.errors)."""

import contextlib
import logging
import re

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from orders import review, selectors
from orders.api import filters
from orders.api import serializers as s
from orders.api.errors import Conflict, Unprocessable
from orders.models import ORDER_ID_PATTERN, ORDER_ID_RULE, Order, is_valid_order_id
from orders.temporal import client
from workflows.types import MessageResult, Roles, order_workflow_id

log = logging.getLogger("orders.api")

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid input, with field errors."),
    401: OpenApiResponse(s.ErrorSerializer, description="Not authenticated."),
    403: OpenApiResponse(s.ErrorSerializer, description="Not allowed for this user."),
    404: OpenApiResponse(s.ErrorSerializer, description="No such order (or not yours)."),
    409: OpenApiResponse(s.ErrorSerializer, description="Not allowed in the order's current state; the reason is given."),
    422: OpenApiResponse(s.ErrorSerializer, description="The order could not be created; the reason is given."),
    413: OpenApiResponse(s.ErrorSerializer, description="The request body is too large."),
    429: OpenApiResponse(s.ErrorSerializer, description="Too many requests."),
    503: OpenApiResponse(s.ErrorSerializer, description="Temporal or the database is unreachable; see Retry-After."),
}
READ_ERRORS = {code: ERRORS[code] for code in (401, 403, 404, 429, 503)}
WRITE_ERRORS = {code: ERRORS[code] for code in (400, 401, 403, 404, 409, 413, 429, 503)}
KEYED_WRITE_ERRORS = {
    **WRITE_ERRORS,
    422: OpenApiResponse(s.ErrorSerializer, description="The Idempotency-Key was sent before with a different request."),
}
ORDER_ID = OpenApiParameter(
    "id",
    str,
    OpenApiParameter.PATH,
    description="The order id: 1-64 of A-Z a-z 0-9 _ -",
    pattern=ORDER_ID_PATTERN,
)
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    pattern=IDEMPOTENCY_KEY_PATTERN,
    description="Repeat a request whose outcome you did not learn (a 503, a lost connection) with the same key: "
    "it is answered with the first one's outcome instead of being judged as a new decision. The same key with a "
    "different request is refused (422). A key is remembered once the order has taken its request.",
)
ADDRESS_EXAMPLE = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}
START_EXAMPLE = OpenApiExample(
    "Two books",
    request_only=True,
    value={
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "items": [{"sku": "BOOK-1", "quantity": 2, "unit_price": "12.50"}],
        "currency": "USD",
        "shipping_address": ADDRESS_EXAMPLE,
    },
)
CANCEL_EXAMPLE = OpenApiExample("Out of stock", request_only=True, value={"reason_code": "out_of_stock", "note": "back in May"})


class OrderAccess(permissions.BasePermission):
    """Reviewers may do anything to any order; order clients may start orders and act on the ones they started."""

    def has_permission(self, request, view):
        return selectors.can_review(request.user) or selectors.can_place(request.user)

    def has_object_permission(self, request, view, obj):
        return selectors.can_review(request.user) or obj.created_by_id == request.user.id


class Reviewers(permissions.BasePermission):
    message = "Only reviewers may approve, claim or decide on many orders."

    def has_permission(self, request, view):
        return selectors.can_review(request.user)


class OrderClients(permissions.BasePermission):
    message = "Only order clients may start orders."

    def has_permission(self, request, view):
        return selectors.can_place(request.user)


@extend_schema_view(
    list=extend_schema(
        summary="List orders",
        description="Filter by status and escalated; search ids and customer emails; paginated.",
        responses={200: s.OrderListSerializer(many=True), 400: ERRORS[400], **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One order, with items, payments and its event timeline",
        parameters=[ORDER_ID],
        responses={200: s.OrderDetailSerializer, **READ_ERRORS},
    ),
)
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated, OrderAccess]
    filter_backends = [filters.StrictFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    filterset_class = filters.OrderFilter
    search_fields = ["id", "customer_email"]
    ordering_fields = filters.ORDERING_FIELDS
    pagination_class = filters.PageNumbers
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        orders = selectors.orders_visible_to(self.request.user)
        return selectors.order_with_history(orders) if self.action == "retrieve" else orders

    def filter_queryset(self, queryset):
        # Filters, search and ordering belong to the list; a single order is found by id alone.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self):
        return s.OrderDetailSerializer if self.action == "retrieve" else s.OrderListSerializer

    def get_object(self):
        if not is_valid_order_id(self.kwargs["pk"]):
            raise exceptions.NotFound("No such order.")
        return super().get_object()

    def _body(self, serializer_class) -> dict:
        return self._body_of(serializer_class, self.request.data)

    def _body_of(self, serializer_class, data) -> dict:
        body = serializer_class(data=data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _actor(self) -> str:
        return self.request.user.get_username()

    def _role(self) -> str:
        return Roles.REVIEWER if selectors.can_review(self.request.user) else Roles.CLIENT

    def _idempotency_key(self) -> str:
        key = self.request.headers.get("Idempotency-Key", "")
        if key and not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key):
            raise exceptions.ValidationError({"Idempotency-Key": ["1-64 characters of A-Z, a-z, 0-9, _ . : and -."]})
        return key

    @contextlib.contextmanager
    def _keyed(self):
        try:
            yield
        except client.IdempotencyKeyReused as exc:
            raise Unprocessable(str(exc), code="idempotency_key_reused") from exc

    def _message_response(self, order_id: str, result: MessageResult) -> Response:
        body = {"id": order_id, "accepted": result.accepted, "status": result.status, "detail": result.detail}
        return Response(body, status=status.HTTP_202_ACCEPTED if result.still_processing else status.HTTP_200_OK)

    @extend_schema(
        summary="Create the order and start its workflow",
        description="Answers once the workflow has written and validated the order and held its payment (201), so "
        "the order's status is already awaiting_review, rejected or payment_failed (its card declined). Idempotent: "
        "the same body again answers 200 with the same order; another body for the same id, or a payment id of "
        "another order, 409; an order its first step refused, 409 or 422 with the reason, on every repeat. 202 when "
        "the workflow runs but has not got that far within TEMPORAL_UPDATE_WAIT (e.g. no worker is up yet, or the "
        "gateway is slow): repeat the request to get it.",
        parameters=[ORDER_ID],
        request=s.StartOrderSerializer,
        examples=[START_EXAMPLE],
        responses={
            201: s.StartResultSerializer,
            200: s.StartResultSerializer,
            202: s.MessageResultSerializer,
            **WRITE_ERRORS,
            422: ERRORS[422],
        },
    )
    def start(self, request: Request, pk: str) -> Response:
        if not is_valid_order_id(pk):
            raise exceptions.ValidationError({"id": [ORDER_ID_RULE]})
        body = s.StartOrderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = client.start_order(order_id=pk, created_by_id=request.user.id, **body.validated_request())
        if result.pending:
            detail = "the order's workflow runs but has not written the order or held its payment yet; repeat the request to get it"
            return self._message_response(pk, MessageResult(accepted=True, status=MessageResult.PROCESSING, detail=detail))
        order = selectors.order_with_history(Order.objects.filter(pk=pk)).get()
        if not result.created and not OrderAccess().has_object_permission(request, self, order):
            raise Conflict("This order id is taken.", code="order_already_exists")
        payload = {"created": result.created, "order": s.OrderDetailSerializer(order).data}
        return Response(payload, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    @extend_schema(
        summary="Approve the order (reviewers only), with an optional note",
        description="Refused (409) while another reviewer holds a claim on it. Four-eyes orders (amount of at least "
        "FOUR_EYES_AMOUNT) need two reviewers: the first approval answers accepted with "
        '"approved 1 of 2; a second reviewer must approve", and the same reviewer again is refused.',
        parameters=[ORDER_ID, IDEMPOTENCY_KEY],
        request=s.ApproveSerializer,
        responses={200: s.MessageResultSerializer, 202: s.MessageResultSerializer, **KEYED_WRITE_ERRORS},
    )
    def approve(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        note = self._body(s.ApproveSerializer)["note"]
        with self._keyed():
            result = client.approve(order.id, actor=self._actor(), note=note, idempotency_key=self._idempotency_key())
        return self._message_response(order.id, result)

    @extend_schema(
        summary="Cancel the order, with a reason code and a note",
        description="Allowed until the carrier is dispatched; a paid order is refunded first. The reason code is "
        "one of customer_request, suspected_fraud, out_of_stock, address_problem, other (which needs a note). A "
        "reviewer's cancel is refused (409) while another reviewer holds a claim on the order.",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY],
        request=s.CancelSerializer,
        examples=[CANCEL_EXAMPLE],
        responses={200: s.MessageResultSerializer, 202: s.MessageResultSerializer, **KEYED_WRITE_ERRORS},
    )
    def cancel(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        body = self._body(s.CancelSerializer)
        with self._keyed():
            result = client.cancel(
                order.id,
                actor=self._actor(),
                code=body.get("reason_code", ""),
                note=body["note"],
                reason=body.get("reason", ""),
                role=self._role(),
                idempotency_key=self._idempotency_key(),
            )
        return self._message_response(order.id, result)

    @extend_schema(
        summary="Claim the order for review (reviewers only)",
        description="Other reviewers' decisions are refused while the claim lasts (REVIEW_CLAIM_TTL). take_over, "
        "for holders of orders.take_over_review, takes it from the reviewer who holds it (recorded as an event).",
        parameters=[ORDER_ID],
        request=s.ClaimSerializer,
        responses={200: s.MessageResultSerializer, 202: s.MessageResultSerializer, **WRITE_ERRORS},
    )
    def claim(self, request: Request, pk: str) -> Response:
        return self._claim_change(client.claim)

    @extend_schema(
        summary="Release a claim (the holder, or with take_over)",
        parameters=[ORDER_ID],
        request=s.ClaimSerializer,
        responses={200: s.MessageResultSerializer, 202: s.MessageResultSerializer, **WRITE_ERRORS},
    )
    def release(self, request: Request, pk: str) -> Response:
        return self._claim_change(client.release)

    def _claim_change(self, send) -> Response:
        order = self.get_object()
        take_over = self._body(s.ClaimSerializer)["take_over"]
        if take_over and not self.request.user.has_perm("orders.take_over_review"):
            raise exceptions.PermissionDenied("Taking over a review needs the orders.take_over_review permission.")
        return self._message_response(order.id, send(order.id, actor=self._actor(), take_over=take_over))

    @extend_schema(
        summary="Approve many orders at once (reviewers only)",
        description="Each order's workflow answers for it: done, processing, refused (with the reason) or unknown "
        "(not taken in time: try again). At most BULK_REVIEW_CAP ids.",
        request=s.BulkApproveSerializer,
        responses={200: s.BulkResultSerializer, **WRITE_ERRORS},
    )
    def bulk_approve(self, request: Request) -> Response:
        body = self._body(s.BulkApproveSerializer)
        return self._bulk_response(review.approve_orders(body["ids"], actor=self._actor(), note=body["note"]), body["ids"])

    @extend_schema(
        summary="Cancel many orders at once (reviewers only), with a reason code and a note",
        request=s.BulkCancelSerializer,
        responses={200: s.BulkResultSerializer, **WRITE_ERRORS},
    )
    def bulk_cancel(self, request: Request) -> Response:
        body = self._body(s.BulkCancelSerializer)
        code = body.get("reason_code") or "other"
        note = body["note"] or body.get("reason", "")
        return self._bulk_response(review.cancel_orders(body["ids"], actor=self._actor(), code=code, note=note), body["ids"])

    def _bulk_response(self, outcome, ids: list[str]) -> Response:
        per_order = {order_id: ("done", outcome.details.get(order_id, "")) for order_id in outcome.done}
        per_order.update({order_id: ("processing", "accepted; still being processed") for order_id in outcome.pending})
        per_order.update({order_id: ("unknown", "not taken in time; try again") for order_id in outcome.unknown})
        per_order.update({order_id: ("refused", reason) for order_id, reason in outcome.refused})
        outcomes = [{"order_id": order_id, "outcome": per_order[order_id][0], "detail": per_order[order_id][1]} for order_id in ids]
        return Response(s.BulkResultSerializer({"counts": outcome.counts(), "outcomes": outcomes}).data)

    @extend_schema(
        summary="Change the shipping address",
        description="Allowed until the carrier is dispatched; shipping uses the latest address.",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY],
        request=s.AddressSerializer,
        examples=[OpenApiExample("A new address", request_only=True, value=ADDRESS_EXAMPLE)],
        responses={200: s.MessageResultSerializer, 202: s.MessageResultSerializer, **KEYED_WRITE_ERRORS},
    )
    def update_address(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        address = dict(self._body(s.AddressSerializer))
        with self._keyed():
            result = client.update_address(order.id, actor=self._actor(), address=address, idempotency_key=self._idempotency_key())
        return self._message_response(order.id, result)

    @extend_schema(
        summary="The live status",
        description="From the workflow's get_status query while it runs, merged with the database; from the "
        "database alone once the order is final. With ?wait=N (seconds, up to 60), an order that is not final yet "
        "is answered as soon as it is, or after N seconds with its live state: wait for the outcome instead of "
        "polling. A wait holds no server thread. A client may have ORDER_WAITS_PER_CLIENT waits open at once (64 by "
        "default): one more is refused with 429 and Retry-After; a wait let in is held to its end.",
        parameters=[ORDER_ID, s.StatusQuerySerializer],
        responses={200: s.StatusSerializer, 400: ERRORS[400], **READ_ERRORS},
    )
    def status(self, request: Request, pk: str) -> Response:
        # Declared here with the other actions; served by orders.api.waits.OrderStatusView on the event loop.
        raise NotImplementedError

    @extend_schema(
        summary="The order's event trail, oldest first (paginated)",
        parameters=[ORDER_ID],
        filters=False,
        responses={200: s.EventSerializer(many=True), 400: ERRORS[400], **READ_ERRORS},
    )
    def events(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        page = self.paginate_queryset(selectors.order_events(order))
        return self.get_paginated_response(s.EventSerializer(page, many=True).data)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        pk = kwargs.get("pk", "")
        # The user authentication found, if it ran and succeeded: never authenticate again just to log (with the
        # database down, that would double the wait for the 503).
        user = request.__dict__.get("_user")
        context = {"order_id": pk, "workflow_id": order_workflow_id(pk) if pk else "", "user": user.get_username() if user else ""}
        log.info("%s %s -> %s", request.method, request.path, response.status_code, extra=context)
        return response

    def get_permissions(self):
        reviewers_only = {"approve", "claim", "release", "bulk_approve", "bulk_cancel"}
        extra = [Reviewers()] if self.action in reviewers_only else [OrderClients()] if self.action == "start" else []
        return [*super().get_permissions(), *extra]

