"""Sends the generated cases of tests/pipeline_cases.py through the API and the admin of a live server, and records
every answer that breaks a property (tests/test_pipeline_properties.py)."""

import re
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Optional

from orders.models import Order
from orders.temporal import client as order_client
from tests import pipeline_cases as pc
from tests import pipeline_verdicts as pv
from tests.pipeline_admin import AdminSteps
from tests.pipeline_http import AdminSession, Answer, Api, encode, order_path

PASSWORD = "pipeline-password"
SHOPS = ["shop0", "shop1", "shop2"]
DECIDED = {200, 202, 409}  # taken, taken and still processing, refused in the order's state


@dataclass(frozen=True)
class Finding:
    kind: str
    endpoint: str
    order_id: str
    status: int
    detail: str
    input: str = ""


@dataclass(frozen=True)
class Taken:
    case: pc.Case
    verdict: Optional[bool]


@dataclass
class Context:
    n: int
    order_id: str
    owner: str
    case: pc.Case
    data: bytes  # the body of the start that made the order (or of the first start)
    start: int  # the status of the start that made the order (or of the first start)

    @property
    def exists(self) -> Optional[bool]:
        return None if self.start == 202 else self.start in (200, 201)


def short(value: Any) -> str:
    """A value as the report shows it: long texts as their start and length, control characters escaped."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 24 else f"{value[:10]!r}…{value[-6:]!r}(len {len(value)})"
    if isinstance(value, bytes):
        return short(value.decode("utf-8", errors="backslashreplace"))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        if len(value) > 2 and all(item == value[0] for item in value):
            return f"[{short(value[0])}] × {len(value)}"
        return "[" + ", ".join(short(v) for v in value) + "]"
    return repr(value)


def describe(findings: list[Finding]) -> str:
    """Each kind of violation once (by kind, endpoint, status and error code), with how often it was seen and the
    shortest input that showed it."""
    groups = defaultdict(list)
    for f in findings:
        groups[(f.kind, f.endpoint, f.status, f.detail.split(":")[0][:60])].append(f)
    lines = []
    for (kind, endpoint, status, _), found in sorted(groups.items(), key=lambda item: -len(item[1])):
        f = min(found, key=lambda f: (len(f.input), len(f.detail)))
        lines.append(f"- {kind}: {endpoint} -> {status} ({len(found)}×), e.g. order {f.order_id!r}\n    input: {f.input}\n    {f.detail}")
    return "\n".join(lines)


class Pipeline(AdminSteps):
    def __init__(self, base_url: str, users: dict[str, dict]):
        self.base_url, self.users = base_url, users
        self.api = {key: Api(base_url, user["token"]) for key, user in users.items()}
        self.local = threading.local()
        self.lock = threading.Lock()
        self.findings: list[Finding] = []
        self.requests = 0
        self.tally: Counter = Counter()  # (endpoint, status) -> answers
        self._taken: dict[str, Taken] = {}
        self._refused: dict[str, int] = {}
        # Who was told that an approve or cancel of an order was taken (or may have been: still processing).
        self.accepted: dict[str, dict[str, set]] = defaultdict(lambda: {"approve": set(), "cancel": set()})

    def taken(self) -> dict[str, Taken]:
        return dict(self._taken)

    def refused_starts(self) -> dict[str, int]:
        return dict(self._refused)

    def finding(self, kind, endpoint, order_id, status, detail, shown: Any = "") -> None:
        with self.lock:
            self.findings.append(Finding(kind, endpoint, order_id, status, detail, short(shown) if shown != "" else ""))

    def not_final(self, order_id: str) -> None:
        order = Order.objects.filter(pk=order_id).first()
        try:
            live = order_client.status(order_id)
            said = f"step {live['step']!r}, attempt {live['step_attempt']}, error {live['step_error'][:300]!r}" if live else "no workflow"
        except Exception as exc:  # reported, not hidden: the finding says what the workflow answered
            said = f"status query failed: {exc!r}"[:300]
        status = order.status if order else "no row"
        self.finding("order not final in time", "workflow", order_id, 0, f"{status}; {said}", self._taken[order_id].case.changes)

    # --- sending -------------------------------------------------------------------------------

    def call(self, endpoint, who, method, path, c: Context, data=None, expected=None, shown="", headers=None, decision="") -> Answer:
        answer = self.api[who](method, path, data, headers)
        if decision and answer.status in (200, 202) and isinstance(answer.json, dict):
            outcomes = answer.json.get("outcomes") or [{"id": c.order_id, "outcome": "done" if answer.json.get("accepted") else ""}]
            for outcome in outcomes:
                if outcome["outcome"] in ("done", "processing"):
                    self._accepted(outcome["id"], decision, who)
        with self.lock:
            self.requests += 1
            self.tally[(endpoint, answer.status)] += 1
        body = answer.json if answer.is_json else answer.text[:200]
        if isinstance(body, dict):
            detail = f"{body.get('error', '')}: {str(body.get('detail', ''))[:200]}"
        else:
            detail = " ".join(re.sub(r"<[^>]+>", " ", str(body)).split())[:200]
        if answer.status == 0 or answer.status >= 500:
            self.finding("server error or no answer", endpoint, c.order_id, answer.status, detail, shown)
        elif answer.status >= 400 and not (answer.is_json and isinstance(answer.json, dict) and pc.ERROR_BODY_KEYS <= set(answer.json)):
            self.finding("refusal without a JSON error body", endpoint, c.order_id, answer.status, detail, shown)
        elif answer.status < 300 and not answer.is_json:
            self.finding("success without a JSON body", endpoint, c.order_id, answer.status, detail, shown)
        elif expected is not None and answer.status not in expected:
            self.finding(f"answer not in {sorted(expected)}", endpoint, c.order_id, answer.status, detail, shown)
        return answer

    def _accepted(self, order_id: str, decision: str, who: str) -> None:
        with self.lock:
            self.accepted[order_id][decision].add(self.users[who]["username"])

    def admin(self, endpoint, who, path, c: Context, fields: dict, valid: Optional[bool], expected: set, decision="") -> Answer:
        sessions = self.local.__dict__.setdefault("sessions", {})
        if who not in sessions:
            sessions[who] = AdminSession(self.base_url, self.users[who]["username"], PASSWORD)
        answer = sessions[who].post(path, fields)
        messages = answer.messages()
        with self.lock:
            self.requests += 1
            self.tally[(endpoint, answer.status, *sorted({level for level, _ in messages}))] += 1
        if decision and any(level in ("success", "warning") for level, _ in messages):
            self._accepted(c.order_id, decision, who)
        if answer.status == 0 or answer.status >= 500:
            self.finding("server error or no answer", endpoint, c.order_id, answer.status, answer.text[:200], fields)
        elif answer.status not in expected:
            self.finding(f"admin answer not in {sorted(expected)}", endpoint, c.order_id, answer.status, str(messages)[:200], fields)
        elif valid is False and any(level == "success" for level, _ in messages):
            self.finding("admin took an invalid input", endpoint, c.order_id, answer.status, str(messages)[:200], fields)
        return answer

    def _record_start(self, order_id: str, status: int, case: pc.Case, verdict: Optional[bool]) -> None:
        with self.lock:
            if status in (200, 201, 202):
                self._taken.setdefault(order_id, Taken(case, verdict))
                self._refused.pop(order_id, None)
            elif status in (400, 413, 415) and order_id not in self._taken:
                self._refused.setdefault(order_id, status)
            else:  # it reached the workflow
                self._refused.pop(order_id, None)

    def start_anchor(self) -> None:
        """The order whose payment id the in_use cases send."""
        case = pc.Case("plain", (1, "12.50"), [], "", True, False, [], "timeout")
        c = Context(-1, pc.ANCHOR, SHOPS[0], case, encode(case.body(0), True), 0)
        answer = self.call("POST start", c.owner, "POST", order_path(pc.ANCHOR) + "/start", c, c.data, {201})
        self._record_start(pc.ANCHOR, answer.status, case, True)

    def run_case(self, n: int, case: pc.Case) -> None:
        order_id = pc.order_id_for(case.id_kind, n)
        body = case.body(n)
        data = encode(body, case.ascii_json)
        verdict = pv.start_verdict(case, body)
        expected = pv.expected_start(case, body, len(data))
        c = Context(n, order_id, SHOPS[n % len(SHOPS)], case, data, 0)
        headers = {"Content-Type": pc.FORM} if case.whole == "form" else None
        path = order_path(order_id) + "/start"
        if case.twin:  # the same start twice at once: one creates the order, the other repeats it
            twin = expected | {200} if expected and expected & {201, 202} else expected
            with ThreadPoolExecutor(2) as pool:
                sent = [pool.submit(self.call, "POST start (twins)", c.owner, "POST", path, c, data, twin, body, headers) for _ in range(2)]
                answers = sorted((future.result() for future in sent), key=lambda a: a.status != 201)
            if [a.status for a in answers].count(201) > 1:
                self.finding("both twin starts created the order", "POST start (twins)", order_id, 201, "", body)
            answer = answers[0]
        else:
            answer = self.call("POST start", c.owner, "POST", path, c, data, expected, body, headers)
        c.start = answer.status
        self._record_start(order_id, answer.status, case, verdict)
        if answer.status == 201 and verdict and isinstance(answer.json, dict) and "order" in answer.json:
            self._check_created(c, body, answer.json["order"])
        for step in case.steps:
            getattr(self, step.kind)(c, step)
        if c.start in (200, 201, 202):
            getattr(self, f"close_{case.closing}")(c)

    def _check_created(self, c: Context, body: dict, order: dict) -> None:
        total = pv.amount(body)
        status = "rejected" if total >= pc.AMOUNT_LIMIT else "awaiting_review"
        approvals = 2 if total >= pc.FOUR_EYES_AMOUNT else 1
        seen = (order["status"], order["customer_name"], order["customer_email"], len(order["items"]))
        wanted = (status, body["customer_name"], body["customer_email"], len(body["items"]))
        if seen != wanted or (status == "awaiting_review" and order["approvals_required"] != approvals):
            detail = f"stored {short(seen)}, {order['approvals_required']} approvals; wanted {short(wanted)}, {approvals}"
            self.finding("order not stored as sent", "POST start", c.order_id, 201, detail, body)

    # --- the steps: expectations -------------------------------------------------------------------

    def _who(self, c: Context, sender: str) -> str:
        if sender == "owner":
            return c.owner
        if sender == "other_shop":
            return SHOPS[(c.n + 1) % len(SHOPS)]
        return sender

    def _expect(self, c: Context, sender: str, verdict: Optional[bool], reviewers_only=False, allowed=DECIDED):
        shop = sender in ("owner", "other_shop")
        if reviewers_only and shop:
            return {403}
        if sender == "other_shop" or c.exists is False:
            return {404}
        if c.exists is None:
            return None
        if verdict is False:
            return {400}
        return None if verdict is None else allowed

    def _decide(self, c, step, endpoint, route, verdict, body, reviewers_only=False, key="", decision=""):
        expected = self._expect(c, step.who, verdict if pv.key_ok(key) else False, reviewers_only)
        headers = {"Idempotency-Key": key} if key else None
        path = order_path(c.order_id) + route
        data = encode(body, c.case.ascii_json)
        return self.call(endpoint, self._who(c, step.who), "POST", path, c, data, expected, body, headers, decision)

    def api_approve(self, c, step):
        body = step.data["body"]
        self._decide(c, step, "POST approve", "/signals/approve", pv.approve_body_ok(body), body, True, step.data["key"], "approve")

    def api_cancel(self, c, step):
        body = step.data["body"]
        self._decide(c, step, "POST cancel", "/signals/cancel", pv.cancel_body_ok(body), body, False, step.data["key"], "cancel")

    def api_claim(self, c, step, route="/claim"):
        body = step.data["body"]
        take_over = body.get("take_over")  # 1 == True: tell them apart by type
        verdict = not body or type(take_over) is bool
        if take_over is True and step.who != "lea":
            expected = self._expect(c, step.who, True, True, allowed={403})
            self.call(f"POST {route[1:]}", self._who(c, step.who), "POST", order_path(c.order_id) + route, c, encode(body, True), expected, body)
            return
        self._decide(c, step, f"POST {route[1:]}", route, verdict, body, True)

    def api_release(self, c, step):
        self.api_claim(c, step, "/release")

    def api_address(self, c, step):
        body = step.data["body"]
        self._decide(c, step, "POST update-address", "/signals/update-address", pv.address_verdict(body), body, False, step.data["key"])

    def api_key_reuse(self, c, step):
        first, second = ({"note": step.data[name]} for name in ("first", "second"))
        key = f"reuse-{c.n}"
        answer = self._decide(c, step, "POST approve (key)", "/signals/approve", pv.approve_body_ok(first), first, True, key, "approve")
        verdict = pv.approve_body_ok(second)
        if answer.status in (200, 202) and verdict and first != second:
            expected = self._expect(c, step.who, verdict, True, allowed={422})
        else:
            expected = self._expect(c, step.who, verdict, True, allowed={*DECIDED, 422})
        path = order_path(c.order_id) + "/signals/approve"
        data = encode(second, c.case.ascii_json)
        shown = {"first": first, "again": second}
        self.call("POST approve (key again)", step.who, "POST", path, c, data, expected, shown, {"Idempotency-Key": key}, "approve")

    def api_status(self, c, step):
        wait = step.data["wait"]
        expected = self._expect(c, step.who, pv.wait_ok(wait), allowed={200})
        query = "" if wait is None else f"?wait={wait}"
        self.call("GET status", self._who(c, step.who), "GET", order_path(c.order_id) + "/status" + query, c, None, expected, query)

    def _bulk(self, c, sender, endpoint, route, body, verdict, decision):
        ids_ok = all(pv.id_ok(i) for i in body["ids"])
        shop = sender in ("owner", "other_shop")
        expected = {403} if shop else {400} if verdict is False or not ids_ok else None if verdict is None else {200}
        self.call(endpoint, self._who(c, sender), "POST", route, c, encode(body, c.case.ascii_json), expected, body, None, decision)

    def api_bulk_approve(self, c, step):
        body = {"ids": [c.order_id, *step.data["extra"]], "note": step.data["note"]}
        self._bulk(c, step.who, "POST bulk/approve", "/orders/bulk/approve", body, pv.approve_body_ok({"note": body["note"]}), "approve")

    def api_bulk_cancel(self, c, step):
        body = {"ids": [c.order_id], **step.data["body"]}
        self._bulk(c, step.who, "POST bulk/cancel", "/orders/bulk/cancel", body, pv.cancel_body_ok(step.data["body"]), "cancel")

    def repeat_start(self, c, step):
        expected = {201: {200}, 200: {200}, 202: {200, 201, 202}, 400: {400}, 413: {413}, 415: {415}, 409: {409}, 422: {422}}.get(c.start)
        headers = {"Content-Type": pc.FORM} if c.case.whole == "form" else None
        answer = self.call("POST start (again)", c.owner, "POST", order_path(c.order_id) + "/start", c, c.data, expected, c.data, headers)
        self._record_start(c.order_id, answer.status, c.case, pv.start_verdict(c.case, c.case.body(c.n)))

    def conflict_start(self, c, step):
        body = {**pc.Case("plain", (1, "12.50"), [], "", True, False, [], "timeout").body(c.n), "customer_name": "Someone Else"}
        data, id_ok = encode(body, True), pc.ORDER_IDS[c.case.id_kind]
        if step.who in pc.REVIEWERS:
            expected = {403}
        elif not id_ok:
            expected = {400}
        elif c.start in (200, 201):
            expected = {200} if step.who == "owner" and data == c.data else {409}
        else:
            expected = None
        answer = self.call("POST start (other body)", self._who(c, step.who), "POST", order_path(c.order_id) + "/start", c, data, expected, body)
        self._record_start(c.order_id, answer.status, c.case, True)
        if c.start not in (200, 201, 202) and answer.status in (200, 201, 202):
            c.start, c.data = answer.status, data  # this start made the order

    def api_raw(self, c, step):
        route, raw = step.data["route"], step.data["raw"]
        # An empty body is no body: an approve or claim without one takes its defaults.
        verdict = None if raw == b"" else False
        expected = self._expect(c, step.who, verdict, reviewers_only=route in ("/signals/approve", "/claim"))
        self.call(f"POST {route.rsplit('/', 1)[1]} (raw)", self._who(c, step.who), "POST", order_path(c.order_id) + route, c, raw, expected, raw)

    def race(self, c, step):
        """Decisions on one order at once, as reviewers and the client would send them."""
        with ThreadPoolExecutor(len(step.data["moves"])) as pool:
            for done in [pool.submit(self._move, c, move) for move in step.data["moves"]]:
                done.result()

    def _move(self, c, move: str) -> None:
        kind, who = move.split(":")
        if kind == "admin_approve":
            self.admin("admin approve", who, self._admin_path(c, "approve"), c, {"note": "race"}, True, self._page(c), "approve")
        elif kind == "approve":
            self.call("POST approve", who, "POST", order_path(c.order_id) + "/signals/approve", c, b"{}", self._expect(c, who, True, True), decision="approve")
        elif kind == "cancel":
            body = b'{"reason_code": "other", "note": "race"}'
            self.call("POST cancel", self._who(c, who), "POST", order_path(c.order_id) + "/signals/cancel", c, body, self._expect(c, who, True), decision="cancel")
        else:
            self.call(f"POST {kind}", who, "POST", order_path(c.order_id) + f"/{kind}", c, b"{}", self._expect(c, who, True, True))

    # --- the closing decision: every order taken is decided, or left to the review timeout -----------------

    def close_approve(self, c):
        for who in ("rita", "ravi"):
            self.call("POST approve", who, "POST", order_path(c.order_id) + "/signals/approve", c, b'{"note": "closing"}', DECIDED, decision="approve")

    def close_admin_approve(self, c):
        for who in ("rita", "ravi"):
            self.admin("admin approve", who, self._admin_path(c, "approve"), c, {"note": "closing"}, True, self._page(c), "approve")

    def close_cancel(self, c):
        body = b'{"reason_code": "customer_request", "note": "closing"}'
        self.call("POST cancel", c.owner, "POST", order_path(c.order_id) + "/signals/cancel", c, body, DECIDED, decision="cancel")

    def close_admin_cancel(self, c):
        fields = {"reason_code": "out_of_stock", "note": "closing"}
        self.admin("admin cancel", "lea", self._admin_path(c, "cancel"), c, fields, True, self._page(c), "cancel")

    def close_bulk_cancel(self, c):
        body = encode({"ids": [c.order_id], "reason_code": "suspected_fraud"}, True)
        self.call("POST bulk/cancel", "lea", "POST", "/orders/bulk/cancel", c, body, {200}, decision="cancel")

    def close_timeout(self, c):
        pass
