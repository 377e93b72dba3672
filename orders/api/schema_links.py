"""OpenAPI links (a drf-spectacular postprocessing hook): what a client can do with an order once it has started
it, read it, listed it or acted on it. Clients and generators follow them; schemathesis's stateful phase chains
start or list -> status -> claim -> approve/cancel -> events through them. The hook also marks as required the
request bodies whose every alternative needs a property (a cancel needs a reason code or a reason), which
drf-spectacular cannot tell."""

FOLLOW_UPS = {
    "GetOrder": "orders_retrieve",
    "GetStatus": "orders_status_retrieve",
    "GetEvents": "orders_events_list",
    "Approve": "orders_signals_approve_create",
    "Cancel": "orders_signals_cancel_create",
    "ChangeAddress": "orders_signals_update_address_create",
    "Claim": "orders_claim_create",
    "Release": "orders_release_create",
}
ORDER_IN_PATH = "$request.path.id"
# The operations whose successful answers lead on, which of their answers do, and where the order id is.
SOURCES = {
    ("/orders/", "get"): (("200",), "$response.body#/results/0/id"),
    ("/orders/{id}/start", "post"): (("200", "201", "202"), ORDER_IN_PATH),
    ("/orders/{id}/", "get"): (("200",), ORDER_IN_PATH),
    ("/orders/{id}/status", "get"): (("200",), ORDER_IN_PATH),
    ("/orders/{id}/claim", "post"): (("200", "202"), ORDER_IN_PATH),
    ("/orders/{id}/release", "post"): (("200", "202"), ORDER_IN_PATH),
    ("/orders/{id}/signals/approve", "post"): (("200", "202"), ORDER_IN_PATH),
    ("/orders/{id}/signals/cancel", "post"): (("200", "202"), ORDER_IN_PATH),
    ("/orders/{id}/signals/update-address", "post"): (("200", "202"), ORDER_IN_PATH),
}


def add_links(result, generator, request, public):
    for (path, method), (codes, order_id) in SOURCES.items():
        links = {name: {"operationId": operation, "parameters": {"id": order_id}} for name, operation in FOLLOW_UPS.items()}
        responses = result["paths"].get(path, {}).get(method, {}).get("responses", {})
        for code in codes:
            if code in responses:
                responses[code]["links"] = links
    _require_bodies_with_alternatives(result)
    return result


def _require_bodies_with_alternatives(result) -> None:
    components = result.get("components", {}).get("schemas", {})
    for operations in result["paths"].values():
        for operation in operations.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body:
                continue
            for media in body.get("content", {}).values():
                name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
                alternatives = components.get(name, {}).get("anyOf", [])
                if alternatives and all(branch.get("required") for branch in alternatives):
                    body["required"] = True
