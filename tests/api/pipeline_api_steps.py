"""The API's steps as tests/api/pipeline_run.py sends them: decisions, claims, address changes, status reads, bulk
decisions, repeated and conflicting starts, raw bodies and races, each with the answers the contract allows
(tests/api/pipeline_verdicts.py); and the closing decision that ends every order taken."""

from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from tests.api import pipeline_cases as pc
from tests.api import pipeline_verdicts as pv
from tests.api.pipeline_http import encode, order_path

SHOPS = ["shop0", "shop1", "shop2"]
DECIDED = {200, 202, 409}  # taken, taken and still processing, refused in the order's state


class ApiSteps:
    """Mixed into Pipeline, whose `call` sends a request as a user and checks the answer."""

    def _who(self, c, sender: str) -> str:
        if sender == "owner":
            return c.owner
        if sender == "other_shop":
            return SHOPS[(c.n + 1) % len(SHOPS)]
        return sender

    def _expect(self, c, sender: str, verdict: Optional[bool], reviewers_only=False, allowed=DECIDED):
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
