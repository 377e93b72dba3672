"""The admin's decision views as tests/api/pipeline_run.py sends them: the order page's buttons and forms, and the bulk
actions of the order list, each with what the contract makes of its input (tests/api/pipeline_verdicts.py)."""

from typing import Optional

from orders import limits
from tests.api import pipeline_cases as pc
from tests.api import pipeline_verdicts as pv
from tests.api.pipeline_http import order_path


class AdminSteps:
    """Mixed into Pipeline, whose `admin` posts a form as a logged-in reviewer and checks the answer."""

    def _admin_path(self, c, action: str) -> str:
        return f"/admin/orders/order/{order_path(c.order_id).removeprefix('/orders/')}/{action}/"

    def _page(self, c) -> set:
        return {404} if c.exists is False else {200, 404} if c.exists is None else {200}

    def admin_approve(self, c, step, note=None):
        note = step.data["note"] if note is None else note
        fields = {"note": note, **({"next": "1"} if step.data.get("next") else {})}
        valid = pv.form_ok(note, limits.NOTE)
        self.admin("admin approve", step.who, self._admin_path(c, "approve"), c, fields, valid, self._page(c), "approve")

    def _cancel_form_ok(self, code, note) -> Optional[bool]:
        ok = pv.form_ok(note, limits.NOTE)
        if code not in pc.REASON_CODES or ok is False:
            return False
        return ok and (code != "other" or bool(note.strip()))

    def admin_cancel(self, c, step):
        fields = {"reason_code": step.data["code"], "note": step.data["note"]}
        valid = self._cancel_form_ok(fields["reason_code"], fields["note"])
        self.admin("admin cancel", step.who, self._admin_path(c, "cancel"), c, fields, valid, self._page(c), "cancel")

    def admin_claim(self, c, step, action="claim"):
        take_over = step.data["take_over"]
        expected = self._page(c) if not take_over or step.who == "lea" else {403, 404} if c.exists is not True else {403}
        self.admin(f"admin {action}", step.who, self._admin_path(c, action), c, {"take_over": "1"} if take_over else {}, True, expected)

    def admin_release(self, c, step):
        self.admin_claim(c, step, "release")

    def admin_address(self, c, step):
        body = step.data["body"] if isinstance(step.data["body"], dict) else {}
        fields = {name: str(value) for name, value in body.items()}
        verdicts = [pv.form_ok(fields.get(name, ""), limits.ADDRESS[name], required=name != "line2") for name in pc.ADDRESS_FIELDS]
        country = fields.get("country", "")
        verdicts.append(len(country.strip()) == 2 and "\x00" not in country)
        valid = False if False in verdicts else None if None in verdicts else True
        self.admin("admin update-address", step.who, self._admin_path(c, "update-address"), c, fields, valid, self._page(c))

    def admin_bulk_approve(self, c, step):
        fields = {"action": "approve_selected", "_selected_action": [c.order_id], "index": "0", "select_across": "0"}
        self.admin("admin bulk approve", step.who, "/admin/orders/order/", c, fields, True, {200}, "approve")

    def admin_bulk_cancel(self, c, step):
        fields = {"action": "cancel_selected", "_selected_action": [c.order_id], "index": "0", "select_across": "0",
                  "confirm": "1", "reason_code": step.data["code"], "note": step.data["note"]}
        valid = self._cancel_form_ok(step.data["code"], step.data["note"])
        self.admin("admin bulk cancel", step.who, "/admin/orders/order/", c, fields, valid, {200}, "cancel")
