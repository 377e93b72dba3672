"""Sends the generated cases of tests/api/pipeline_cases.py through the API and the admin of a live server, and records
every answer that breaks a property (tests/api/test_pipeline_properties.py)."""

import re
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Optional

from orders.models import Order
from orders.temporal import client as order_client
from tests.api import pipeline_cases as pc
from tests.api import pipeline_verdicts as pv
from tests.api.pipeline_admin import AdminSteps
from tests.api.pipeline_api_steps import SHOPS, ApiSteps
from tests.api.pipeline_http import AdminSession, Answer, Api, encode, order_path

PASSWORD = "pipeline-password"


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


class Pipeline(ApiSteps, AdminSteps):
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
