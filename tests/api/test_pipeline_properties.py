"""A property-based test of the whole pipeline, on the real database, the Temporal dev server, a worker process and
a live web server over real HTTP.

Hypothesis generates orders and decisions at and beyond every limit (tests/api/pipeline_cases.py): texts around each
column's length with control characters, lone surrogates and non-ASCII text, zero, negative and huge quantities
and prices, up to and past the most items, long notes, every reason code, repeats, an Idempotency-Key sent again
with another body. They go through the API and the admin's decision views, many orders at once. Then every order
the API took must end in a final status, and its workflow close:

- no answer is a 5xx, and every API refusal is a 4xx with a JSON error body;
- each answer is one the contract gives that input (a value beyond a limit is refused with 400, not taken);
- every order taken ends final within the review timeout and a margin; no workflow is left running;
- a refused start leaves no order behind; an order within every limit never ends failed; no money is kept for an
  order that was cancelled or rejected.

Explicit cases meet and pass each limit whatever the draw; hypothesis draws PIPELINE_CASES more (seeded with
PIPELINE_SEED: the same cases on every run). All are generated first and sent afterwards, PIPELINE_THREADS orders at
a time, each order's own steps in sequence (and some sent at once on purpose). A failure lists each kind of
violation once, with the shortest input that showed it."""

import asyncio
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group, Permission, User
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from temporalio.client import Client

from orders import limits
from orders.models import Order, OrderEvent, Payment
from orders.roles import ORDER_CLIENTS, REVIEWERS
from tests.api import pipeline_cases as pc
from tests.api import pipeline_verdicts as pv
from tests.api.pipeline_run import PASSWORD, Pipeline, describe
from tests.conftest import fast_retries

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CASES = int(os.environ.get("PIPELINE_CASES", "300"))  # drawn by hypothesis, besides the explicit cases
SEED = int(os.environ.get("PIPELINE_SEED", "20261125"))
THREADS = int(os.environ.get("PIPELINE_THREADS", "6"))
REVIEW_ESCALATE_AFTER, REVIEW_TIMEOUT, REVIEW_CLAIM_TTL = 8, 25, 10
MARGIN = 90  # seconds past the review timeout in which every order must have ended


def generated_cases() -> list[pc.Case]:
    """The explicit cases (each limit met and passed by one), then CASES drawn by hypothesis."""
    found = pc.explicit_cases()

    @hypothesis_settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(SEED)
    @given(pc.cases)
    def collect(case):
        found.append(case)

    collect()
    return found


def make_users() -> dict[str, dict]:
    """Order clients (one with the longest username there is) and reviewers (one with the longest username; lea
    may take over claims): each with an API token, the reviewers with an admin login."""
    clients, reviewers = Group.objects.get(name=ORDER_CLIENTS), Group.objects.get(name=REVIEWERS)
    take_over = Permission.objects.get(codename="take_over_review")
    names = {"shop0": "shop0", "shop1": "shop1", "shop2": "shop-" + "ü" * 145, "rita": "rita", "ravi": "ravi",
             "long": "rev-" + "é" * 146, "lea": "lea"}
    users = {}
    for key, username in names.items():
        reviewer = key in pc.REVIEWERS
        user = User.objects.create_user(username, password=PASSWORD, is_staff=reviewer)
        user.groups.add(reviewers if reviewer else clients)
        if key == "lea":
            user.user_permissions.add(take_over)
        users[key] = {"username": username, "token": Token.objects.create(user=user).key}
    return users


@pytest.fixture
def fast_process(settings, monkeypatch):
    """Short review deadlines, so that an order nobody decides is auto-cancelled within the run; fast retries; no
    throttle (one client sends hundreds of requests a minute here); quick password checks for the admin logins."""
    from rest_framework.settings import api_settings
    from rest_framework.throttling import UserRateThrottle

    settings.REVIEW_ESCALATE_AFTER = REVIEW_ESCALATE_AFTER
    settings.REVIEW_TIMEOUT = REVIEW_TIMEOUT
    settings.REVIEW_CLAIM_TTL = REVIEW_CLAIM_TTL
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    fast_retries(settings)
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {**api_settings.DEFAULT_THROTTLE_RATES, "user": "1000000/minute"})
    return settings


def running_workflows(address: str, task_queues: list[str]) -> dict[str, str]:
    """Workflow id -> task queue of every workflow still running on the test's queues."""

    async def listed():
        client = await Client.connect(address)
        found = {}
        for queue in task_queues:
            async for execution in client.list_workflows(f"TaskQueue='{queue}' AND ExecutionStatus='Running'"):
                found[execution.id] = queue
        return found

    return asyncio.run(listed())


def all_workflow_ids(address: str, task_queue: str) -> set[str]:
    async def listed():
        client = await Client.connect(address)
        return {execution.id async for execution in client.list_workflows(f"TaskQueue='{task_queue}'")}

    return asyncio.run(listed())


def test_every_order_ends_whatever_comes_in(live_server, start_worker, roles, fast_process):
    began = time.monotonic()
    cases = generated_cases()
    assert len(cases) >= CASES + 100, f"{len(cases)} cases"
    start_worker()
    pipeline = Pipeline(live_server.url, make_users())
    pipeline.start_anchor()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(pipeline.run_case, range(len(cases)), cases))
    sent = time.monotonic()

    # Every order the API took ends final; the ones left open are listed with what their workflow says.
    taken = pipeline.taken()
    deadline = time.monotonic() + REVIEW_TIMEOUT + MARGIN
    open_ids = set(taken)
    while open_ids and time.monotonic() < deadline:
        final = Order.objects.filter(pk__in=open_ids, status__in=Order.terminal_statuses()).values_list("pk", flat=True)
        open_ids -= set(final)
        time.sleep(0.5)
    for order_id in sorted(open_ids):
        pipeline.not_final(order_id)
    ended = time.monotonic()

    # No workflow is left running (an order's, a shipping child's, or one that never wrote its row).
    queues = [fast_process.TEMPORAL_MAIN_TASK_QUEUE, fast_process.TEMPORAL_SHIPPING_TASK_QUEUE]
    running = running_workflows(fast_process.TEMPORAL_ADDRESS, queues)
    while running and time.monotonic() < ended + 15:  # visibility trails the close by a moment
        time.sleep(1)
        running = running_workflows(fast_process.TEMPORAL_ADDRESS, queues)
    for workflow_id, queue in sorted(running.items()):
        pipeline.finding("workflow still running", "temporal", workflow_id, 0, f"on {queue}")

    # A refused start leaves nothing behind: no order, no workflow.
    refused = pipeline.refused_starts()
    workflows = all_workflow_ids(fast_process.TEMPORAL_ADDRESS, fast_process.TEMPORAL_MAIN_TASK_QUEUE)
    for order_id in Order.objects.filter(pk__in=refused).values_list("pk", flat=True):
        pipeline.finding("refused start left an order", "POST start", order_id, refused[order_id], "")
    for order_id, status in refused.items():
        if f"order-{order_id}" in workflows:
            pipeline.finding("refused start left a workflow", "POST start", order_id, status, "")

    # What the orders that ended say: valid input never ends failed; no money kept for an order not delivered.
    orders = {o.pk: o for o in Order.objects.filter(pk__in=taken)}
    for order_id, order in orders.items():
        if order.status == Order.Status.FAILED and taken[order_id].verdict is True:
            pipeline.finding("order within every limit ended failed", "workflow", order_id, 0, order.status_reason)
    kept = Payment.objects.filter(
        order_id__in=orders,
        status=Payment.Status.CAPTURED,
        order__status__in=[Order.Status.CANCELLED, Order.Status.REJECTED, Order.Status.PAYMENT_FAILED],
    )
    for payment in kept:
        pipeline.finding("money kept for an order not delivered", "workflow", payment.order_id, 0, payment.payment_id)

    # The timeline holds only the decisions their senders were told were taken (or still processing).
    decisions = [OrderEvent.Type.APPROVED, OrderEvent.Type.APPROVAL_RECORDED, OrderEvent.Type.CANCELLED]
    for event in OrderEvent.objects.filter(order_id__in=orders, type__in=decisions):
        decision = "cancel" if event.type == OrderEvent.Type.CANCELLED else "approve"
        actors = {event.actor, *(event.payload.get("approvers") or [])}
        for actor in actors - pipeline.accepted[event.order_id][decision] - {OrderEvent.SYSTEM_ACTOR}:
            pipeline.finding("decision recorded but refused to its sender", event.type, event.order_id, 0, actor[:40])

    statuses = Counter(order.status for order in orders.values())
    summary = (
        f"{len(cases)} cases, {pipeline.requests} requests, {len(taken)} orders taken, final: {dict(statuses)}; "
        f"sent in {sent - began:.0f} s, all ended {ended - sent:.0f} s later, {time.monotonic() - began:.0f} s in all"
    )
    print(summary, *(f"{n:5} {key}" for key, n in sorted(pipeline.tally.items(), key=str)), sep="\n")
    assert not pipeline.findings, summary + "\n" + describe(pipeline.findings)
    assert len(taken) >= 100 and statuses[Order.Status.COMPLETED] and statuses[Order.Status.CANCELLED], summary


def test_the_cases_reach_every_limit_and_decision():
    """The cases hold what the pipeline test claims to send (no server needed): each text at its limit and one past
    it, odd characters, every reason code through the API and the admin; and the drawn cases vary every part."""
    cases = generated_cases()
    drawn = cases[len(pc.explicit_cases()):]
    changes = [(where, value) for case in cases for where, value in case.changes]
    steps = [step for case in cases for step in case.steps]
    limit = {"customer_name": limits.CUSTOMER_NAME, **{f"address.{k}": n for k, n in limits.ADDRESS.items() if k != "country"}}
    notes = [step.data["note"] for step in steps if isinstance(step.data.get("note"), str)]
    notes += [step.data["body"]["note"] for step in steps if isinstance(step.data.get("body"), dict) and "note" in step.data["body"]]
    texts = [value for where, value in changes if where in limit and isinstance(value, str)]

    for where, n in limit.items():
        assert {n, n + 1} <= {len(value) for w, value in changes if w == where and isinstance(value, str)}, where
    assert {limits.NOTE, limits.NOTE + 1} <= {len(note) for note in notes if isinstance(note, str)}
    assert all(any(c in t for t in texts) for c in ("\x00", "\ud800", "\x01", "😀")) and any("\x00" in n for n in notes)
    assert set(pc.REASON_CODES) <= {s.data["body"].get("reason_code") for s in steps if s.kind == "api_cancel"}
    assert set(pc.REASON_CODES) <= {s.data["code"] for s in steps if s.kind == "admin_cancel"}
    assert len(drawn) == CASES
    assert {step.kind for case in drawn for step in case.steps} == set(pc.STEP_KINDS)
    assert {where for case in drawn for where, _ in case.changes} >= {"customer_name", "customer_email", "items", "currency", "payment_id", "drop", "extra"}
    verdicts = Counter(pv.start_verdict(case, case.body(n)) for n, case in enumerate(drawn))
    assert verdicts[True] >= 100 and verdicts[False] >= 80, verdicts
