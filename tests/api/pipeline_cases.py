"""Generated orders and decisions for tests/api/test_pipeline_properties.py, at and beyond every limit the entry points
declare (orders.limits): hypothesis strategies, and explicit cases at each limit (tests/api/pipeline_verdicts.py says
what the contract answers each)."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from orders import limits
from workflows.types import CancelCodes

FOUR_EYES_AMOUNT = Decimal("1000.00")
AMOUNT_LIMIT = Decimal("10000.00")  # ORDER_AMOUNT_LIMIT: orders of at least this are rejected by the validate step
ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}
ADDRESS_FIELDS = ["name", "line1", "line2", "city", "postal_code", "country"]
REQUIRED_ADDRESS = ["name", "line1", "city", "postal_code", "country"]
REASON_CODES = list(CancelCodes.LABELS)
REVIEWERS = ["rita", "ravi", "long", "lea"]  # long: the longest username there is; lea may take over claims
SENDERS = [*REVIEWERS, "owner", "other_shop"]
ERROR_BODY_KEYS = {"error", "detail"}
MAX_BODY = 65536  # DATA_UPLOAD_MAX_MEMORY_SIZE: a larger body is refused with 413

# --- texts ------------------------------------------------------------------------------------

FILLERS = ["a", "é", "中", "😀", "Zz9", " ", "\u00a0"]
# Characters put into a text: control characters, line breaks, a lone surrogate, invisible and bidi marks.
INSERTS = ["", "\x00", "\x01", "\x1b", "\x1f", "\x7f", "\ud800", "\t", "\n", "\r", "\x85", "\u2028", "\u200b",
           "\u202e", "\ufeff", "<b>'\";--</b>", "%00", "\\u0000"]
C0 = {chr(c) for c in range(32)} | {"\x7f"}
LINE_BREAKS = {"\t", "\n", "\r"}


def _made(filler: str, length: int, insert: str, where: int) -> str:
    text = (filler * length)[:length]
    if not insert:
        return text
    at = where % (length + 1)
    return (text[:at] + insert + text[at + len(insert):])[: max(length, len(insert))]


def text(limit: int) -> st.SearchStrategy[str]:
    """Texts around a column's limit (empty, 1, limit - 1, limit, limit + 1, far past it), of one-byte, accented,
    CJK and astral characters or blanks, with at most one odd character inside; and short random texts."""
    lengths = st.sampled_from([limit, limit + 1]) | st.sampled_from([0, 1, limit - 1, 2 * limit + 3]) | st.integers(0, limit + 2)
    made = st.builds(_made, st.sampled_from(FILLERS), lengths, st.sampled_from(INSERTS), st.integers(0, 10**6))
    return st.one_of(made, made, st.text(max_size=12))


# --- the start's body -------------------------------------------------------------------------

EMAIL_VERDICTS = {
    "": False, "plain": False, "a@b": False, "a@@example.com": False, "a@-example.com": False,
    "ü@example.com": False, "a\x00@example.com": False, "a@example.com\x00": False, 42: False,
    "a@exämple.com": None, " a@example.com": None, "a@example.com\n": None,
}
EMAIL_DOMAIN = "@example.com"
emails = st.builds(lambda n: "a" * n + EMAIL_DOMAIN, st.sampled_from([1, 241, 242, 243, 308, 309]) | st.integers(1, 330))
emails = emails | st.sampled_from(list(EMAIL_VERDICTS))


QUANTITIES = [1, 2, 3, limits.QUANTITY - 1, limits.QUANTITY, 0, -1, limits.QUANTITY + 1, 2**31, 2**63, 10**30, 1.5,
              1.0, "3", True, None]
PRICES = ["0.01", "0.1", "1", "12.50", "999.99", "1000.00", "5000.00", "99999.99", "0", "0.00", "-1.00", "-0.01",
          "100000.00", "1e3", "12.345", "NaN", "Infinity", "01.00", " 1.00", "1,00", "", "٣", 12.5, 12, None]
CURRENCIES = ["USD", "usd", "EUR", "xyz", "US", "USDX", "€UR", "U\x00D", "", 840, None]
COUNTRIES = ["GB", "gb", "Gb", "G", "GBR", "ÄÖ", "G\x01", "", 44]


# Kinds of payment id (made unique per case when it is run); in_use: the payment id of the anchor order, started
# before the cases.
PAYMENT_IDS = {"custom": True, "longest": True, "too_long": False, "bad": False, "empty": False, "accent": False,
               "number": False, "in_use": True}
ANCHOR = "pp-anchor"
ORDER_IDS = {"plain": True, "longest": True, "underscore": True, "too_long": False, "dot": False, "accent": False,
             "space": False}
WHOLE_BODIES = {
    "list": [],
    "string": "x",
    "null": None,
    "bad_json": b'{"customer_name": ',
    "too_large": {"customer_name": "x" * 70_000},  # past DATA_UPLOAD_MAX_MEMORY_SIZE (64 KiB)
    "deep": b"[" * 30_000 + b"]" * 30_000,  # nested deeper than Python's recursion limit, within 64 KiB
    "bad_utf8": b'{"customer_name": "\xff\xfe"}',
    "nan_literal": b'{"customer_name": NaN, "items": [{"quantity": Infinity}]}',
    "form": b"customer_name=Ada&currency=USD",  # sent as a form, not JSON
}
FORM = "application/x-www-form-urlencoded"
ADDRESS_LIMITS = limits.ADDRESS


def _item(sku, quantity, price) -> dict:
    return {"sku": sku, "quantity": quantity, "unit_price": price}


item_sku = st.just("BOOK-1") | text(limits.SKU)
items = st.builds(
    lambda n, sku, q, p: [_item(sku, q, p)] * n,
    st.sampled_from([0, 1, 2, 11, limits.ITEMS, limits.ITEMS + 1]) | st.integers(1, 4),
    item_sku,
    st.sampled_from(QUANTITIES),
    st.sampled_from(PRICES),
)
address_change = st.sampled_from(ADDRESS_FIELDS).flatmap(
    lambda name: st.tuples(
        st.just(f"address.{name}"),
        st.sampled_from(COUNTRIES) if name == "country" else text(ADDRESS_LIMITS[name]),
    )
)
# One change to an otherwise valid body: (where, value).
change = st.one_of(
    st.tuples(st.just("customer_name"), text(limits.CUSTOMER_NAME)),
    st.tuples(st.just("customer_email"), emails),
    st.tuples(st.just("currency"), st.sampled_from(CURRENCIES)),
    st.tuples(st.just("items"), items),
    address_change,
    st.tuples(st.just("drop"), st.sampled_from(["customer_name", "customer_email", "items", "currency",
                                                "shipping_address", *[f"address.{f}" for f in ADDRESS_FIELDS]])),
    st.tuples(st.just("payment_id"), st.sampled_from(list(PAYMENT_IDS))),
    st.tuples(st.just("extra"), st.sampled_from([{"status": "completed"}, {"amount": "0.01"}, {"zzz": [1]}])),
)
base_line = st.tuples(st.sampled_from([1, 1, 2, 3]), st.sampled_from(["12.50", "999.99", "1000.00", "4999.99", "10000.00"]))


@dataclass
class Step:
    kind: str
    who: str = "rita"
    data: dict = field(default_factory=dict)


@dataclass
class Case:
    id_kind: str
    line: tuple  # quantity and price of the base body's one item
    changes: list  # [(where, value)]
    whole: str  # "" or a key of WHOLE_BODIES: the body replaced whole
    ascii_json: bool
    twin: bool  # the start sent twice at once
    steps: list[Step]
    closing: str
    order_id: str = ""  # given when the case is run

    def body(self, n: int) -> Any:
        """The start's body, for the case's order number n."""
        if self.whole:
            return WHOLE_BODIES[self.whole]
        quantity, price = self.line
        body = {"customer_name": "Ada Lovelace", "customer_email": "ada@example.com",
                "items": [_item("BOOK-1", quantity, price)], "currency": "USD", "shipping_address": dict(ADDRESS)}
        for where, value in self.changes:
            address = body.get("shipping_address", {})  # a change to a dropped address changes nothing
            if where == "drop":
                target, _, name = value.rpartition(".")
                (address if target else body).pop(name, None)
            elif where.startswith("address."):
                address[where.removeprefix("address.")] = value
            elif where == "extra":
                body.update(value)
            elif where == "payment_id":
                body["payment_id"] = payment_id_for(value, n)
            else:
                body[where] = value
        return body


# --- decisions ----------------------------------------------------------------------------------

notes = text(limits.NOTE)
codes = st.sampled_from([*REASON_CODES, "", "bogus", "OTHER"])
keys = st.sampled_from(["", "k1", "k." + "x" * 62, "k" * 65, "bad key", "k:é"])
approve_bodies = st.fixed_dictionaries({"note": notes}) | st.just({}) | st.sampled_from([{"note": 0}, {"note": None}, {"note": ["x"]}, {"note": "ok", "zzz": 1}])
cancel_bodies = st.one_of(
    st.fixed_dictionaries({"reason_code": codes, "note": notes}),
    st.fixed_dictionaries({"reason_code": codes}),
    st.fixed_dictionaries({"reason": text(limits.REASON)}),
    st.sampled_from([{}, {"reason_code": 0}, {"reason": 0}, {"reason_code": None, "note": "x"}]),
)
address_bodies = st.builds(lambda change: {**ADDRESS, change[0].removeprefix("address."): change[1]}, address_change)
address_bodies = address_bodies | st.just(dict(ADDRESS)) | st.sampled_from([{}, {"city": "Bath"}, []])
claim_bodies = st.sampled_from([{}, {"take_over": False}, {"take_over": True}, {"take_over": "yes"}, {"take_over": 1}])
waits = st.sampled_from([None, "0", "0.5", "60", "61", "-1", "x", "nan", "1e9"])


def _step(kind, who, **data) -> st.SearchStrategy[Step]:
    return st.builds(Step, st.just(kind), who, st.fixed_dictionaries(data))


reviewer = st.sampled_from(REVIEWERS)
anyone = st.sampled_from(SENDERS)
# Bodies that are not a JSON object, or not JSON, for the decision routes (reviewers only: True).
RAW_ROUTES = ["/signals/approve", "/signals/cancel", "/signals/update-address", "/claim"]
RAW_BODIES = [b"[" * 1000 + b"]" * 1000, b'{"note": ' + b"[" * 1000 + b"]" * 1000 + b"}", b"{", b"\xff", b"NaN",
              b"[]", b"null", b'"x"', b"", b'{"note": "a\\ud800"}']
RACE_MOVES = ["approve:rita", "approve:ravi", "approve:long", "admin_approve:lea", "cancel:owner", "cancel:lea",
              "claim:ravi", "release:rita"]
steps = st.one_of(
    _step("api_approve", anyone, body=approve_bodies, key=keys),
    _step("api_cancel", anyone, body=cancel_bodies, key=keys),
    _step("api_claim", anyone, body=claim_bodies),
    _step("api_release", anyone, body=claim_bodies),
    _step("api_address", anyone, body=address_bodies, key=keys),
    _step("api_key_reuse", reviewer, first=notes, second=notes),
    _step("api_status", anyone, wait=waits),
    _step("api_bulk_approve", anyone, note=notes, extra=st.sampled_from([[], ["nope-1"], ["bad id"]])),
    _step("api_bulk_cancel", reviewer, body=cancel_bodies),
    _step("repeat_start", st.just("owner")),
    _step("conflict_start", anyone),
    _step("admin_approve", reviewer, note=notes, next=st.booleans()),
    _step("admin_cancel", reviewer, code=codes, note=notes),
    _step("admin_claim", reviewer, take_over=st.booleans()),
    _step("admin_release", reviewer, take_over=st.booleans()),
    _step("admin_address", reviewer, body=address_bodies),
    _step("admin_bulk_approve", reviewer),
    _step("admin_bulk_cancel", reviewer, code=codes, note=notes),
    _step("api_raw", anyone, route=st.sampled_from(RAW_ROUTES), raw=st.sampled_from(RAW_BODIES)),
    _step("race", reviewer, moves=st.lists(st.sampled_from(RACE_MOVES), min_size=2, max_size=4)),
)
STEP_KINDS = ["api_approve", "api_cancel", "api_claim", "api_release", "api_address", "api_key_reuse", "api_status",
              "api_bulk_approve", "api_bulk_cancel", "repeat_start", "conflict_start", "admin_approve", "admin_cancel",
              "admin_claim", "admin_release", "admin_address", "admin_bulk_approve", "admin_bulk_cancel", "api_raw", "race"]
CLOSINGS = ["approve", "approve", "admin_approve", "cancel", "admin_cancel", "bulk_cancel", "timeout"]

cases = st.builds(
    Case,
    id_kind=st.sampled_from(["plain"] * 12 + list(ORDER_IDS)),
    line=base_line,
    changes=st.just([]) | st.lists(change, min_size=1, max_size=2),
    whole=st.sampled_from([""] * 40 + list(WHOLE_BODIES)),
    ascii_json=st.booleans(),
    twin=st.sampled_from([False] * 5 + [True]),
    steps=st.lists(steps, max_size=4),
    closing=st.sampled_from(CLOSINGS),
)


# --- ids ---------------------------------------------------------------------------------------


def order_id_for(kind: str, n: int) -> str:
    return {
        "plain": f"pp-{n}",
        "longest": f"pp-{n}-".ljust(limits.ORDER_ID, "x"),
        "underscore": f"pp_41_{n}",  # the admin quotes ids with _XX escapes
        "too_long": f"pp-{n}-".ljust(limits.ORDER_ID + 1, "x"),
        "dot": f"pp.{n}",
        "accent": f"pp-ü{n}",
        "space": f"pp {n}",
    }[kind]


def payment_id_for(kind: str, n: int):
    return {
        "custom": f"pay-x-{n}",
        "longest": f"pay-{n}-".ljust(limits.PAYMENT_ID, "p"),
        "too_long": f"pay-{n}-".ljust(limits.PAYMENT_ID + 1, "p"),
        "bad": f"pay {n}!",
        "empty": "",
        "accent": f"pay-ü{n}",
        "number": n,
        "in_use": f"pay-{ANCHOR}",
    }[kind]


# --- explicit cases: every limit met and passed by one, whatever the draw ---------------------------------------


def _case(changes=(), steps=(), *, id_kind="plain", line=(1, "12.50"), whole="", closing="cancel") -> Case:
    return Case(id_kind, line, list(changes), whole, True, False, list(steps), closing)


def explicit_cases() -> list[Case]:
    """Each text at its column's limit (in 2-byte characters) and one past it, each odd character, the most items,
    quantity and price and one past them, each kind of id, payment id and body; and on an order waiting for review,
    notes at and past their limit and each reason code through the API and the admin, bodies that are not JSON
    objects, an Idempotency-Key sent again with another body, and decisions racing."""
    texts = {"customer_name": limits.CUSTOMER_NAME, **{f"address.{k}": n for k, n in ADDRESS_LIMITS.items() if k != "country"}}
    starts = [_case([(where, text)]) for where, n in texts.items() for text in ("é" * n, "a" * (n + 1))]
    starts += [_case([("customer_name", f"Ada{c}")]) for c in ("\x00", "\x01", "\x7f", "\ud800", "\n", "\u202e", "😀")]
    starts += [_case([("customer_email", "a" * n + EMAIL_DOMAIN)]) for n in (242, 243)]
    lines = [(200, "S", 1, "1.00"), (201, "S", 1, "1.00"), (1, "s" * 64, 1, "1.00"), (1, "s" * 65, 1, "1.00"),
             (1, "S", limits.QUANTITY, "1.00"), (1, "S", limits.QUANTITY + 1, "1.00"), (1, "S", 0, "1.00"),
             (1, "S", 1, "99999.99"), (1, "S", 1, "100000.00"), (1, "S", 1, "0.00"), (0, "S", 1, "1.00")]
    starts += [_case([("items", [_item(sku, q, p)] * n)]) for n, sku, q, p in lines]
    starts += [_case([(where, value)]) for where, value in [("address.country", "gb"), ("address.country", "GBR"),
                                                            ("currency", "usd"), ("currency", "USDX")]]
    starts += [_case([("payment_id", kind)]) for kind in PAYMENT_IDS]
    starts += [_case(id_kind=kind) for kind in ORDER_IDS] + [_case(whole=whole) for whole in WHOLE_BODIES]

    n = limits.NOTE
    decisions = [Step("api_approve", "rita", {"body": {"note": note}, "key": ""}) for note in ("é" * n, "a" * (n + 1), "a\x00")]
    decisions += [Step("api_cancel", "rita", {"body": {"reason_code": code, "note": "é" * n}, "key": ""}) for code in REASON_CODES]
    decisions += [Step("api_cancel", "owner", {"body": body, "key": ""}) for body in (
        {"reason_code": "other", "note": "a" * (n + 1)}, {"reason_code": "other", "note": " "}, {"reason": "é" * n},
        {"reason": "a" * (n + 1)}, {"reason_code": "customer_request", "note": "a\x00"})]
    decisions += [Step("admin_approve", "ravi", {"note": note}) for note in ("é" * n, "a" * (n + 1), "a\x00b", "a\x01b")]
    decisions += [Step("admin_cancel", "long", {"code": code, "note": "é" * n}) for code in REASON_CODES]
    decisions += [Step("admin_cancel", "lea", {"code": code, "note": note}) for code, note in (
        ("other", ""), ("other", "a" * (n + 1)), ("out_of_stock", "a\x00"), ("bogus", "x"))]
    decisions += [Step("api_raw", "rita", {"route": "/signals/cancel", "raw": raw}) for raw in RAW_BODIES]
    decisions += [Step("api_raw", "lea", {"route": route, "raw": RAW_BODIES[0]}) for route in RAW_ROUTES]
    decisions += [Step("api_address", "owner", {"body": {**ADDRESS, "name": name}, "key": "k1"}) for name in ("é" * 200, "a" * 201)]
    decisions += [Step("admin_address", "rita", {"body": {**ADDRESS, "city": city}}) for city in ("é" * 100, "a" * 101)]
    decisions += [Step("api_key_reuse", "ravi", {"first": "a", "second": "b"}),
                  Step("race", "rita", {"moves": ["approve:rita", "cancel:owner", "approve:ravi", "admin_approve:lea"]}),
                  Step("race", "rita", {"moves": ["claim:ravi", "approve:rita", "release:rita", "cancel:lea"]})]
    reviews = [_case(steps=[step], closing="approve") for step in decisions]
    four_eyes = [_case(line=(1, "1000.00"), closing=closing) for closing in ("approve", "admin_approve", "timeout")]
    return starts + reviews + four_eyes
