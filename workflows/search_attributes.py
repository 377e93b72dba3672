"""The search attributes of an order's workflow: find orders by state in the Temporal UI and CLI, e.g.
`temporal workflow list --query "OrderStatus='awaiting_review'"`. Never customer data: search attributes are
not encrypted."""

from temporalio.common import SearchAttributeKey

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
ORDER_AMOUNT = SearchAttributeKey.for_float("OrderAmount")
REVIEW_ESCALATED = SearchAttributeKey.for_bool("ReviewEscalated")
REVIEWER = SearchAttributeKey.for_keyword("Reviewer")
# Progress, for finding stuck orders: the step the order is in, when it last moved on, and whether it is in a wait
# that is expected (review, shipping backoff, a bulk decision's hold). Running, not waiting, and no progress for
# longer than ORDER_STUCK_AFTER: stuck.
ORDER_STEP = SearchAttributeKey.for_keyword("OrderStep")
ORDER_PROGRESS_AT = SearchAttributeKey.for_datetime("OrderProgressAt")
ORDER_WAITING = SearchAttributeKey.for_bool("OrderWaiting")

ALL = (ORDER_STATUS, ORDER_AMOUNT, REVIEW_ESCALATED, REVIEWER, ORDER_STEP, ORDER_PROGRESS_AT, ORDER_WAITING)
# As the dev server's --search-attribute flag spells the types.
CLI_TYPES = {"KEYWORD": "Keyword", "DOUBLE": "Double", "BOOL": "Bool", "DATETIME": "Datetime"}


def dev_server_flags() -> list[str]:
    flags = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={CLI_TYPES[key.indexed_value_type.name.removeprefix('INDEXED_VALUE_TYPE_')]}"]
    return flags


async def register(client, namespace: str) -> list[str]:
    """Add those of the attributes that the namespace lacks (idempotent); returns the names added."""
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest

    known = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    existing = {**known.custom_attributes, **known.system_attributes}
    missing = {key.name: int(key.indexed_value_type) for key in ALL if key.name not in existing}
    if missing:
        await client.operator_service.add_search_attributes(AddSearchAttributesRequest(namespace=namespace, search_attributes=missing))
    return list(missing)
