"""OpenAPI links (a drf-spectacular postprocessing hook): what a client can do with an order once it has started
it, or read its status. Clients and generators follow them; schemathesis's stateful phase chains
start -> status -> approve/cancel -> events through them."""

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
# The operations whose successful answers lead on, and which of their answers do.
SOURCES = {
    ("/orders/{id}/start", "post"): ("200", "201", "202"),
    ("/orders/{id}/status", "get"): ("200",),
    ("/orders/{id}/signals/approve", "post"): ("200", "202"),
    ("/orders/{id}/signals/cancel", "post"): ("200", "202"),
}


def add_links(result, generator, request, public):
    links = {name: {"operationId": operation, "parameters": {"id": "$request.path.id"}} for name, operation in FOLLOW_UPS.items()}
    for (path, method), codes in SOURCES.items():
        responses = result["paths"].get(path, {}).get(method, {}).get("responses", {})
        for code in codes:
            if code in responses:
                responses[code]["links"] = links
    return result
