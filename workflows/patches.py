"""Every `workflow.patched()` id of the order and shipping workflows.

A patch keeps an order started on an earlier release on the path it started on, so that it replays and finishes.
Its id is written into the histories of running orders: never change one. Each names the release it belongs to
(the folders of tests/histories/) and when it can be retired: once no workflow run started before that release is
open, its old branch can go (first with `workflow.deprecate_patch()` for one release, then the call itself), and
the history folders of the releases before it are dropped from tests/histories/.
"""

# release-2: bookkeeping writes became local activities (workflows/steps.py), and the order workflow's messages
# take turns (address changes, child starts and final steps), with four-eyes approvals and claims. Read once per
# run, on its first task, by both workflows. Retire when no order or shipping run started on release 1 is open.
RELEASE_2 = "release-2"

# release-2: a charge with no answer is settled with the gateway by the same key instead of being recorded
# declined. Taken where it applies, so an order started on release 1 that meets such a charge after the upgrade is
# settled too. Retire when no order whose charge ran on release 1 is open.
SETTLE_UNKNOWN_CHARGE = "settle-unknown-charge"

# release-3: the order's search attributes (workflows/search_attributes.py) are upserted at every transition;
# orders started before have none. Retire when no order started before release 3 is open.
SEARCH_ATTRIBUTES = "search-attributes"

# release-4: a decision sent in bulk is accepted before its effects run (workflows/order/review.py answer_first).
# Retire when no order that received a bulk decision on release 3 or earlier is open.
BULK_ANSWER_FIRST = "bulk-answer-first"

# release-6: every order ends. A write that would fail the same way again ends the order (compensated) instead of
# wedging it; messages never wait for a row that will never exist; the workflow keeps its own progress
# (workflows/progress.py) and publishes it; an approval overtaken by a cancel is not recorded; claims by a first
# approver and client updates past settings.max_client_updates are refused. Retire when no order started before
# release 6 is open.
EVERY_ORDER_ENDS = "every-order-ends"

# release-7: risk-aware review. Validation also scores the order (the screen_order activity), and the policy
# snapshotted for it (settings.risk_auto_approve_below, risk_auto_cancel_from) approves or cancels it without a
# person. Retire when no order started before release 7 is open.
RISK_ROUTING = "risk-routing"

# release-8: the money is held, not taken, before review. A valid order is authorized (workflows/order/holds.py)
# and waits for review once it holds; approval captures the hold (re-authorizing one that lapsed), a cancel or a
# review timeout voids it. Orders started before charge after approval. Retire when no order started before
# release 8 is open.
AUTHORIZE_FIRST = "authorize-first"
