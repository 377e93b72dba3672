"""The REST API on the real database. Routes that talk to Temporal are exercised against the real dev server and
worker processes in test_api_e2e.py; here Temporal is either not needed or unreachable (503)."""

import json

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders import services
from orders.models import Order
from tests.factories import ADDRESS, ITEMS, OrderFactory

pytestmark = pytest.mark.django_db

START_BODY = {
    "customer_name": "Ada Lovelace",
    "customer_email": "ada@example.com",
    "items": ITEMS,
    "currency": "USD",
    "shipping_address": ADDRESS,
}


def user_in(group: str, username: str) -> User:
    user = User.objects.create_user(username, password="pw-12345678")
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def api_as(user) -> APIClient:
    api = APIClient()
    if user:
        api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


@pytest.fixture
def client_b():
    return user_in("Order clients", "shop-b")


@pytest.fixture
def temporal_down(settings):
    """Point the workflow client at a port where nothing listens."""
    from orders.temporal import client

    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"
    client._runner._client = None
    yield
    client._runner._client = None


def assert_error(response, status, error=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"error", "detail"}
    if error:
        assert body["error"] == error
    return body


class TestAuthentication:
    @pytest.mark.parametrize(
        "method, path",
        [
            ("get", "/orders/"),
            ("get", "/orders/x/"),
            ("get", "/orders/x/status"),
            ("get", "/orders/x/events"),
            ("post", "/orders/x/start"),
            ("post", "/orders/x/signals/approve"),
            ("post", "/orders/x/signals/cancel"),
            ("post", "/orders/x/signals/update-address"),
        ],
    )
    def test_anonymous_is_refused(self, method, path):
        response = getattr(APIClient(), method)(path, {}, format="json")
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Token"

    def test_user_without_a_role_is_forbidden(self):
        nobody = api_as(user_in("", "nobody"))
        assert_error(nobody.get("/orders/"), 403, "permission_denied")
        assert_error(nobody.post("/orders/x/start", START_BODY, format="json"), 403)

    def test_session_authentication_works(self, reviewer):
        api = APIClient()
        api.force_login(reviewer)
        assert api.get("/orders/").status_code == 200


class TestReads:
    def test_clients_see_only_their_orders(self, client_a, client_b, reviewer):
        mine = OrderFactory(created_by=client_a)
        theirs = OrderFactory(created_by=client_b)

        listed = api_as(client_a).get("/orders/").json()

        assert [o["id"] for o in listed["results"]] == [mine.id]
        assert_error(api_as(client_a).get(f"/orders/{theirs.id}/"), 404, "not_found")
        assert_error(api_as(client_a).get(f"/orders/{theirs.id}/events"), 404)
        assert {o["id"] for o in api_as(reviewer).get("/orders/").json()["results"]} == {mine.id, theirs.id}

    def test_filters_search_and_pagination(self, reviewer, settings):
        OrderFactory(id="filter-1", status=Order.Status.AWAITING_REVIEW, escalated=True, customer_email="x@shop.test")
        OrderFactory(id="filter-2", status=Order.Status.AWAITING_REVIEW)
        OrderFactory(id="filter-3", status=Order.Status.COMPLETED)
        api = api_as(reviewer)

        def ids(query):
            body = api.get(f"/orders/?{query}").json()
            return sorted(o["id"] for o in body["results"])

        assert ids("status=awaiting_review") == ["filter-1", "filter-2"]
        assert ids("escalated=true") == ["filter-1"]
        assert ids("search=shop.test") == ["filter-1"]
        assert ids("search=filter-3") == ["filter-3"]
        page = api.get("/orders/?page=1").json()
        assert page["count"] == 3 and {"next", "previous", "results"} <= set(page)
        assert_error(api.get("/orders/?status=nonsense"), 400, "invalid")

    def test_detail_has_items_money_payments_and_timeline(self, reviewer):
        order = OrderFactory(status=Order.Status.AWAITING_REVIEW)
        services.order_approve(order_id=order.id, actor="rita")
        services.payment_capture(order_id=order.id, payment_id=order.payment_id, amount=order.amount, currency="USD", provider_reference="ch")

        body = api_as(reviewer).get(f"/orders/{order.id}/").json()

        assert body["amount"] == "28.99" and body["currency"] == "USD" and body["status"] == "paid"
        assert body["items"][0] == {"sku": "BOOK-1", "quantity": 2, "unit_price": "12.50"}
        assert body["shipping_address"]["city"] == "London"
        assert [p["status"] for p in body["payments"]] == ["captured"]
        assert [(e["type"], e["actor"]) for e in body["events"]] == [("approved", "rita"), ("payment_captured", "system")]

    def test_events_in_order_with_actors(self, client_a):
        order = OrderFactory(created_by=client_a, status=Order.Status.AWAITING_REVIEW)
        services.order_update_address(order_id=order.id, address=ADDRESS, actor="shop-a", sequence=1)
        services.order_cancel(order_id=order.id, actor="rita", reason="no stock")

        events = api_as(client_a).get(f"/orders/{order.id}/events").json()["results"]

        assert [(e["type"], e["actor"]) for e in events] == [("address_updated", "shop-a"), ("cancelled", "rita")]
        assert events[1]["payload"]["reason"] == "no stock"

    @pytest.mark.parametrize("order_id", ["nope", "bad!id", "x" * 65, "%20"])
    def test_unknown_or_malformed_ids_are_404(self, reviewer, order_id):
        assert_error(api_as(reviewer).get(f"/orders/{order_id}/"), 404, "not_found")
        assert_error(api_as(reviewer).get(f"/orders/{order_id}/status"), 404)


class TestStartValidation:
    def test_malformed_json(self, client_a):
        response = api_as(client_a).post("/orders/o-1/start", "{not json", content_type="application/json")
        assert_error(response, 400, "parse_error")

    @pytest.mark.parametrize(
        "changes, field",
        [
            ({"items": "three books"}, "items"),
            ({"items": [{"sku": "X", "quantity": "many", "unit_price": "1.00"}]}, "items"),
            ({"items": [{"sku": "X", "quantity": 1, "unit_price": "1.001"}]}, "items"),
            ({"customer_email": "not-an-email"}, "customer_email"),
            ({"currency": "dollars"}, "currency"),
            ({"shipping_address": {"name": "A"}}, "shipping_address"),
            ({"payment_id": "has spaces"}, "payment_id"),
            ({"items": [{"sku": "X", "quantity": 900000, "unit_price": "99999999.99"}]}, "items"),
        ],
    )
    def test_wrong_types_name_the_field(self, client_a, changes, field):
        response = api_as(client_a).post("/orders/o-1/start", {**START_BODY, **changes}, format="json")
        body = assert_error(response, 400, "invalid")
        assert field in body["fields"]

    def test_invalid_order_id(self, client_a):
        response = api_as(client_a).post("/orders/bad.id/start", START_BODY, format="json")
        assert "id" in assert_error(response, 400, "invalid")["fields"]

    def test_oversized_body(self, client_a):
        huge = {**START_BODY, "customer_name": "x" * 100_000}
        response = api_as(client_a).post("/orders/o-1/start", json.dumps(huge), content_type="application/json")
        assert_error(response, 413, "payload_too_large")

    def test_wrong_content_type(self, client_a):
        response = api_as(client_a).post("/orders/o-1/start", "a=b", content_type="application/x-www-form-urlencoded")
        assert_error(response, 415)

    def test_reviewers_do_not_start_orders(self, reviewer):
        assert_error(api_as(reviewer).post("/orders/o-1/start", START_BODY, format="json"), 403)


class TestSignalValidation:
    def test_only_reviewers_approve(self, client_a):
        order = OrderFactory(created_by=client_a, status=Order.Status.AWAITING_REVIEW)
        assert_error(api_as(client_a).post(f"/orders/{order.id}/signals/approve"), 403)

    def test_client_cannot_touch_another_clients_order(self, client_a, client_b):
        order = OrderFactory(created_by=client_b, status=Order.Status.AWAITING_REVIEW)
        api = api_as(client_a)
        assert_error(api.post(f"/orders/{order.id}/signals/cancel", {"reason": "mine now"}, format="json"), 404)
        assert_error(api.post(f"/orders/{order.id}/signals/update-address", ADDRESS, format="json"), 404)
        assert_error(api.get(f"/orders/{order.id}/status"), 404)

    @pytest.mark.parametrize(
        "body, field, message",
        [
            ({}, "reason_code", "This field is required."),
            ({"reason_code": "bored"}, "reason_code", '"bored" is not a valid choice.'),
            ({"reason_code": "other"}, "note", "the reason code other needs a note"),
            ({"reason_code": "other", "note": "  "}, "note", "the reason code other needs a note"),
        ],
    )
    def test_cancel_needs_a_reason_code_and_other_a_note(self, reviewer, body, field, message):
        order = OrderFactory(status=Order.Status.AWAITING_REVIEW)
        errors = assert_error(api_as(reviewer).post(f"/orders/{order.id}/signals/cancel", body, format="json"), 400)
        assert errors["fields"] == {field: [message]}

    def test_bulk_is_for_reviewers_and_capped(self, reviewer, client_a, settings):
        settings.BULK_REVIEW_CAP = 3
        ids = [f"b-{n}" for n in range(4)]
        refused = api_as(client_a).post("/orders/bulk/approve", {"ids": ids[:1]}, format="json")
        too_many = api_as(reviewer).post("/orders/bulk/cancel", {"ids": ids, "reason_code": "out_of_stock"}, format="json")

        assert assert_error(refused, 403)["detail"] == "Only reviewers may approve, claim or decide on many orders."
        assert assert_error(too_many, 400)["fields"] == {"ids": ["At most 3 orders at once; nothing was sent."]}

    def test_take_over_needs_its_permission(self, reviewer):
        order = OrderFactory(status=Order.Status.AWAITING_REVIEW)
        response = api_as(reviewer).post(f"/orders/{order.id}/claim", {"take_over": True}, format="json")
        assert "orders.take_over_review" in assert_error(response, 403)["detail"]

    def test_update_address_validates_fields(self, client_a):
        order = OrderFactory(created_by=client_a)
        response = api_as(client_a).post(f"/orders/{order.id}/signals/update-address", {"city": 3}, format="json")
        assert {"name", "line1", "postal_code", "country"} <= set(assert_error(response, 400)["fields"])

    def test_unknown_order_is_404(self, reviewer):
        assert_error(api_as(reviewer).post("/orders/ghost/signals/approve"), 404)


class TestTemporalUnavailable:
    def test_start(self, client_a, temporal_down):
        response = api_as(client_a).post("/orders/o-503/start", START_BODY, format="json")
        assert_error(response, 503, "unavailable")
        assert response["Retry-After"] == "5"
        assert not Order.objects.filter(pk="o-503").exists()

    @pytest.mark.parametrize(
        "path, body",
        [("signals/approve", {}), ("signals/cancel", {"reason": "x"}), ("signals/update-address", ADDRESS)],
    )
    def test_signals(self, reviewer, temporal_down, path, body):
        order = OrderFactory(status=Order.Status.AWAITING_REVIEW)
        response = api_as(reviewer).post(f"/orders/{order.id}/{path}", body, format="json")
        assert_error(response, 503, "unavailable")
        assert response["Retry-After"]

    def test_status(self, reviewer, temporal_down):
        order = OrderFactory()
        assert_error(api_as(reviewer).get(f"/orders/{order.id}/status"), 503, "unavailable")

    def test_readyz(self, temporal_down):
        response = APIClient().get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["database"]["ok"] is True
        assert response.json()["checks"]["temporal"]["ok"] is False


def test_healthz():
    assert APIClient().get("/healthz").json() == {"status": "ok"}


def test_throttling_is_per_user(client_a, settings):
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import UserRateThrottle

    cache.clear()  # throttle history is keyed by user id, which another test's user may have had
    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/minute"}
    try:
        api = api_as(client_a)
        codes = [api.get("/orders/").status_code for _ in range(4)]
        other = api_as(user_in("Order clients", "shop-c")).get("/orders/").status_code
    finally:
        UserRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert codes == [200, 200, 200, 429]
    assert other == 200


def test_openapi_schema_is_valid(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    schema = (tmp_path / "schema.yml").read_text()
    for path in ("/orders/{id}/start:", "/orders/{id}/signals/update-address:", "/orders/{id}/events:"):
        assert path in schema


def test_swagger_ui_serves_its_assets_locally(client):
    page = client.get("/docs").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page


def test_api_log_lines_carry_the_order(client_a, caplog):
    OrderFactory(id="logged-1", created_by=client_a)
    with caplog.at_level("INFO", logger="orders.api"):
        api_as(client_a).get("/orders/logged-1/events")
    record = next(r for r in caplog.records if r.name == "orders.api")
    assert (record.order_id, record.workflow_id, record.user) == ("logged-1", "order-logged-1", "shop-a")
