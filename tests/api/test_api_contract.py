"""The API's contract on the real database: what the schema says is what the API does. JSON types as declared,
every text bounded by the column it lands in and storable, alternatives and bounds stated in the schema, links that
lead to real orders. The whole contract is also run by schemathesis against the live stack (test_api_e2e.py)."""

import json
import re

import pytest
from rest_framework.test import APIClient

from orders.models import Order
from tests.api.test_api import START_BODY, api_as, assert_error
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


class TestRequests:
    @pytest.mark.parametrize(
        "changes, field",
        [
            ({"payment_id": 0}, "payment_id"),
            ({"customer_name": 7}, "customer_name"),
            ({"items": [{"sku": "X", "quantity": "2", "unit_price": "1.00"}]}, "items"),
            ({"items": [{"sku": "X", "quantity": True, "unit_price": "1.00"}]}, "items"),
            ({"items": [{"sku": "X", "quantity": 1, "unit_price": 12.5}]}, "items"),
            ({"items": [{"sku": "X", "quantity": 0, "unit_price": "1.00"}]}, "items"),
            ({"items": [{"sku": "X", "quantity": 501, "unit_price": "1.00"}]}, "items"),
            ({"items": [{"sku": "X", "quantity": 1, "unit_price": "0.00"}]}, "items"),
            ({"items": [{"sku": "X", "quantity": 1, "unit_price": "100000.00"}]}, "items"),
            ({"items": [{"sku": "X", "quantity": 1, "unit_price": "1e3"}]}, "items"),
            ({"customer_email": "a" * 243 + "@example.com"}, "customer_email"),
            ({"customer_name": "Ada\x00"}, "customer_name"),
            ({"customer_name": "Ada\x07"}, "customer_name"),
            ({"customer_name": "Ada\n"}, "customer_name"),
            ({"customer_name": "Ada\ud800"}, "customer_name"),
            ({"customer_name": "   "}, "customer_name"),
            ({"shipping_address": {**START_BODY["shipping_address"], "country": "00"}}, "shipping_address"),
        ],
    )
    def test_start_refuses_what_the_schema_does_not_allow(self, client_a, changes, field):
        body = json.dumps({**START_BODY, **changes})  # ASCII JSON: a lone surrogate travels as \ud800
        response = api_as(client_a).post("/orders/o-1/start", body, content_type="application/json")
        assert field in assert_error(response, 400, "invalid")["fields"]

    @pytest.mark.parametrize(
        "path, body, field",
        [
            ("bulk/approve", {"ids": ["o-1"], "note": 0}, "note"),
            ("bulk/approve", {"ids": ["o-1"], "note": "n" * 483}, "note"),
            ("bulk/cancel", {"ids": ["o-1"], "reason": 0}, "reason"),
            ("bulk/cancel", {"ids": ["o-1"], "reason_code": "other", "note": "n\x00"}, "note"),
            ("bulk/cancel", {"ids": ["o-1"], "reason_code": "other", "note": "n" * 483}, "note"),
        ],
    )
    def test_decisions_refuse_other_types_and_texts_their_column_cannot_hold(self, reviewer, path, body, field):
        response = api_as(reviewer).post(f"/orders/{path}", body, format="json")
        assert field in assert_error(response, 400, "invalid")["fields"]

    @pytest.mark.parametrize("body", [{"take_over": "true"}, {"take_over": 1}, [], "x"])
    def test_claim_takes_a_json_boolean_in_an_object(self, reviewer, body):
        order = OrderFactory(status=Order.Status.AWAITING_REVIEW)
        assert_error(api_as(reviewer).post(f"/orders/{order.id}/claim", body, format="json"), 400, "invalid")

    @pytest.mark.parametrize(
        "query, field",
        [
            ("escalated=null", "escalated"),
            ("escalated=1", "escalated"),
            ("escalated=", "escalated"),
            ("escalated=true&escalated=true", "escalated"),
            ("status=", "status"),
            ("ordering=0", "ordering"),
            ("ordering=customer_email", "ordering"),
            ("ordering=amount%0A", "ordering"),
            ("search=%00", "search"),
            ("search=" + "x" * 255, "search"),
        ],
    )
    def test_list_refuses_query_values_the_schema_does_not_allow(self, reviewer, query, field):
        response = api_as(reviewer).get(f"/orders/?{query}")
        assert isinstance(assert_error(response, 400, "invalid")["fields"], dict)
        assert field in response.json()["fields"]

    @pytest.mark.parametrize("query", ["page=last", "page=", "page=0"])
    def test_pages_are_numbers_from_one(self, reviewer, query):
        OrderFactory()
        assert_error(api_as(reviewer).get(f"/orders/?{query}"), 404, "not_found")

    def test_the_list_takes_what_its_schema_allows(self, reviewer):
        OrderFactory(id="listed-1", escalated=True, customer_email="x@shop.test")
        api = api_as(reviewer)
        assert [o["id"] for o in api.get("/orders/?escalated=true&ordering=-amount,created_at&search=shop").json()["results"]] == ["listed-1"]

    @pytest.mark.parametrize("query", ["wait=", "wait=-1", "wait=61", "wait=nan", "wait=1&wait=2"])
    def test_status_wait_is_one_number_within_its_bounds(self, reviewer, query):
        order = OrderFactory(status=Order.Status.COMPLETED)
        assert "wait" in assert_error(api_as(reviewer).get(f"/orders/{order.id}/status?{query}"), 400)["fields"]

    def test_a_reason_stands_for_the_note_of_other_and_unknown_properties_are_ignored(self):
        from orders.api.serializers import CancelSerializer

        body = CancelSerializer(data={"reason_code": "other", "reason": "ordered twice", "colour": "red"})
        assert body.is_valid(), body.errors
        assert body.validated_data == {"reason_code": "other", "note": "ordered twice", "reason": "ordered twice"}

    def test_any_order_the_api_accepts_has_a_total_the_amount_column_holds(self):
        from orders import limits
        from orders.api.fields import PRICE
        from orders.rules import MAX_AMOUNT

        assert limits.ITEMS * limits.QUANTITY * limits.UNIT_PRICE <= MAX_AMOUNT
        assert re.search(PRICE, str(limits.UNIT_PRICE)) and not re.search(PRICE, "100000")
        assert all(re.search(PRICE, p) for p in ("0.01", "0.5", "12", "12.50")) and not re.search(PRICE, "012")


def _schema() -> dict:
    return APIClient().get("/api/schema/", {"format": "json"}).json()


def test_schema_states_the_bounds_and_alternatives():
    schema = _schema()
    components = schema["components"]["schemas"]
    wait = next(p for p in schema["paths"]["/orders/{id}/status"]["get"]["parameters"] if p["name"] == "wait")
    listing = {p["name"]: p["schema"] for p in schema["paths"]["/orders/"]["get"]["parameters"]}
    cancel = schema["paths"]["/orders/{id}/signals/cancel"]["post"]["requestBody"]

    assert (wait["schema"]["minimum"], wait["schema"]["maximum"]) == (0, 60)
    assert listing["ordering"]["pattern"] and listing["search"]["maxLength"] == 254 and listing["page"]["minimum"] == 1
    assert cancel["required"] is True and schema["paths"]["/orders/bulk/cancel"]["post"]["requestBody"]["required"]
    assert [branch["required"] for branch in components["CancelRequest"]["anyOf"]] == [["reason_code"], ["reason_code", "note"], ["reason"]]
    assert components["StartOrderRequest"]["properties"]["customer_email"]["maxLength"] == 254
    assert components["ItemRequest"]["properties"]["quantity"] == {"type": "integer", "maximum": 500, "minimum": 1}
    assert components["ApproveRequest"]["properties"]["note"]["maxLength"] == 482
    assert "oneOf" not in components["ApproveRequest"]["properties"]["note"]  # "" is one plain string, allowed once
    for name in ("ApproveRequest", "CancelRequest", "AddressRequest", "StartOrderRequest"):
        assert components[name].get("additionalProperties", True) is True  # unknown properties are ignored
    assert "422" in schema["paths"]["/orders/{id}/signals/approve"]["post"]["responses"]


def test_schema_links_lead_from_every_listed_or_touched_order_to_what_can_be_done_with_it():
    paths = _schema()["paths"]
    listed = paths["/orders/"]["get"]["responses"]["200"]["links"]
    claimed = paths["/orders/{id}/claim"]["post"]["responses"]["200"]["links"]
    operations = {op["operationId"] for methods in paths.values() for op in methods.values()}

    assert listed["Approve"]["parameters"] == {"id": "$response.body#/results/0/id"}
    assert claimed["Release"] == {"operationId": "orders_release_create", "parameters": {"id": "$request.path.id"}}
    assert {link["operationId"] for link in listed.values()} <= operations


@pytest.mark.parametrize("depth", [10, 5000])
def test_a_body_nested_too_deeply_is_a_malformed_request(client_a, depth):
    response = api_as(client_a).generic("POST", "/orders/deep-1/start", "[" * depth + "]" * depth, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] in ("parse_error", "invalid"), response.content[:200]
