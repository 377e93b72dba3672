"""The reviewers' admin: the order list and page (orders.py), decisions one by one or in bulk (actions.py), risk
and fraud feedback (risk.py), the review queue (queue.py) and its dashboard (dashboard.py). Status is never edited
by hand: every decision goes through the workflow client, and the reviewer is told, order by order, what the
workflow accepted and refused."""

from orders.admin.orders import OrderAdmin  # noqa: F401 (registers)
from orders.admin.queue import ReviewQueueAdmin  # noqa: F401 (registers)
