"""The reviewers' admin, through Django's test client. Decisions are exercised against the real Temporal dev
server and workers in the e2e tests below and in test_browser.py."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from orders import limits, review, selectors, services
from orders.models import Order, OrderEvent, ReviewQueueOrder
from orders.temporal import client as order_client
from tests.conftest import wait_for_status, wait_for_workflow_closed
from tests.e2e.test_e2e import order_request
from tests.factories import ADDRESS, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk_browser(client, roles):
    """A staff user who may look at orders but not review them."""
    from django.contrib.auth.models import Permission

    clerk = User.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(clerk)
    return client


def test_demo_users_are_created_idempotently(demo_users):
    call_command("create_demo_users", stdout=open("/dev/null", "w"))
    assert demo_users["admin"].is_superuser
    assert demo_users["reviewer"].has_perm("orders.review_order") and demo_users["reviewer"].is_staff
    assert demo_users["shop"].has_perm("orders.place_order") and not demo_users["shop"].is_staff
    assert demo_users["reviewer2"].has_perm("orders.review_order")
    assert demo_users["lead"].has_perm("orders.take_over_review") and not demo_users["reviewer"].has_perm("orders.take_over_review")
    assert User.objects.count() == 5


def test_order_list_columns_filters_and_search(reviewer_browser, settings):
    settings.REVIEW_ESCALATE_AFTER = 3600
    overdue = OrderFactory(id="adm-old", status=Order.Status.AWAITING_REVIEW, escalated=True)
    Order.objects.filter(pk=overdue.pk).update(created_at=timezone.now() - timedelta(hours=3))
    OrderFactory(id="adm-new", status=Order.Status.COMPLETED, customer_email="grace@navy.test")

    page = reviewer_browser.get("/admin/orders/order/").content.decode()
    searched = reviewer_browser.get("/admin/orders/order/?q=navy.test").content.decode()
    filtered = reviewer_browser.get("/admin/orders/order/?status__exact=completed").content.decode()

    assert 'data-status="awaiting_review"' in page and 'data-status="completed"' in page
    assert "28.99 USD" in page
    assert "(overdue)" in page
    assert "adm-new" in searched and "adm-old" not in searched
    assert "adm-new" in filtered and "adm-old" not in filtered
    assert "Approve selected orders" in page and "Cancel selected orders" in page


def test_review_queue_oldest_first_with_count_on_index(reviewer_browser):
    for n, hours in enumerate([1, 5, 3]):
        order = OrderFactory(id=f"queue-{n}", status=Order.Status.AWAITING_REVIEW)
        Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=hours))
    OrderFactory(id="queue-done", status=Order.Status.COMPLETED)

    queue = reviewer_browser.get("/admin/orders/reviewqueueorder/").content.decode()
    index = reviewer_browser.get("/admin/").content.decode()

    positions = [queue.index(f">queue-{n}<") for n in (1, 2, 0)]
    assert positions == sorted(positions)
    assert "queue-done" not in queue
    assert '<span id="review-queue-count">3</span> orders awaiting review' in index


def test_change_page_is_read_only_with_payments_timeline_and_temporal_link(reviewer_browser, settings):
    settings.TEMPORAL_UI_URL = "http://temporal.test:8233"
    order = OrderFactory(id="adm-page", status=Order.Status.AWAITING_REVIEW)
    services.order_approve(order_id=order.id, actor="reviewer")
    services.payment_capture(order_id=order.id, payment_id=order.payment_id, amount=order.amount, currency="USD", provider_reference="ch_9")

    page = reviewer_browser.get(f"/admin/orders/order/{order.id}/change/").content.decode()

    assert 'name="_save"' not in page and 'name="status"' not in page
    assert "ch_9" in page  # the payment inline
    assert 'data-type="approved"' in page and 'class="timeline-actor">reviewer<' in page
    assert "http://temporal.test:8233/namespaces/default/workflows/order-adm-page" in page
    assert page.index('data-type="approved"') < page.index('data-type="payment_captured"')


def test_buttons_only_for_open_orders(reviewer_browser):
    open_order = OrderFactory(status=Order.Status.AWAITING_REVIEW)
    done = OrderFactory(status=Order.Status.COMPLETED)
    assert "review-approve" in reviewer_browser.get(f"/admin/orders/order/{open_order.id}/change/").content.decode()
    assert "review-approve" not in reviewer_browser.get(f"/admin/orders/order/{done.id}/change/").content.decode()


def test_staff_without_review_permission_gets_no_review_powers(clerk_browser):
    order = OrderFactory(status=Order.Status.AWAITING_REVIEW)

    changelist = clerk_browser.get("/admin/orders/order/").content.decode()
    change = clerk_browser.get(f"/admin/orders/order/{order.id}/change/").content.decode()
    approve = clerk_browser.post(f"/admin/orders/order/{order.id}/approve/")
    cancel = clerk_browser.get(f"/admin/orders/order/{order.id}/cancel/")
    action = clerk_browser.post("/admin/orders/order/", {"action": "approve_selected", "_selected_action": [order.id]})

    assert order.id in changelist
    assert "Approve selected orders" not in changelist and "review-approve" not in change
    assert approve.status_code == 403 and cancel.status_code == 403
    assert action.status_code in (200, 302)
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_REVIEW
    assert not OrderEvent.objects.filter(order=order).exists()
    assert "Review queue" not in clerk_browser.get("/admin/").content.decode()


def test_cancel_action_asks_for_a_reason_first(reviewer_browser):
    order = OrderFactory(status=Order.Status.AWAITING_REVIEW)

    confirm = reviewer_browser.post("/admin/orders/order/", {"action": "cancel_selected", "_selected_action": [order.id]})

    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert 'name="reason_code"' in page and 'name="note"' in page and order.id in page
    order.refresh_from_db()
    assert order.status == Order.Status.AWAITING_REVIEW


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_actions_report_per_order_outcomes(start_worker, client, roles):
    start_worker()
    call_command("create_demo_users", stdout=open("/dev/null", "w"))
    client.force_login(User.objects.get(username="reviewer"))
    for order_id in ("adm-a", "adm-b", "adm-c", "adm-d"):
        order_client.start_order(**order_request(order_id))
        wait_for_status(order_id, Order.Status.AWAITING_REVIEW)
    order_client.cancel("adm-c", actor="someone", reason="duplicate")
    wait_for_status("adm-c", Order.Status.CANCELLED)

    response = client.post(
        "/admin/orders/order/", {"action": "approve_selected", "_selected_action": ["adm-a", "adm-b", "adm-c"]}, follow=True
    )
    texts = [str(m) for m in response.context["messages"]]
    moved = client.post("/admin/orders/order/adm-d/update-address/", {**ADDRESS, "city": "Bath"}, follow=True)
    wait_for_status("adm-b", Order.Status.COMPLETED)
    wait_for_workflow_closed("adm-b")
    cancelled = client.post(
        "/admin/orders/order/",
        {"action": "cancel_selected", "_selected_action": ["adm-b", "adm-d"], "confirm": "yes", "reason_code": "out_of_stock", "note": ""},
        follow=True,
    )

    assert "Approved: adm-a, adm-b." in texts
    assert "Not approved (order already cancelled): adm-c." in texts
    assert OrderEvent.objects.get(order_id="adm-a", type="approved").actor == "reviewer"
    assert [str(m) for m in moved.context["messages"]] == ["Re-addressed: adm-d."]
    assert OrderEvent.objects.get(order_id="adm-d", type="address_updated").payload["new"]["city"] == "Bath"
    assert [str(m) for m in cancelled.context["messages"]] == [
        "Cancelled: adm-d.",
        "Not cancelled (order already completed): adm-b.",
    ]
    cancel = OrderEvent.objects.get(order_id="adm-d", type="cancelled")
    assert (cancel.actor, cancel.payload["reason"], cancel.payload["code"]) == ("reviewer", "Out of stock", "out_of_stock")


@pytest.mark.django_db(transaction=True)
def test_a_decision_no_worker_took_is_reported_as_unknown(live_temporal, client, roles):
    """A decision no worker took, in the admin: not "accepted", not "refused": unknown, try again."""
    live_temporal.TEMPORAL_UPDATE_WAIT = 1
    call_command("create_demo_users", stdout=open("/dev/null", "w"))
    client.force_login(User.objects.get(username="reviewer"))
    assert order_client.start_order(**order_request("adm-nw")).pending  # its workflow runs; no worker takes tasks
    OrderFactory(id="adm-nw", status=Order.Status.AWAITING_REVIEW)

    response = client.post("/admin/orders/order/", {"action": "approve_selected", "_selected_action": ["adm-nw"]}, follow=True)

    assert [str(m) for m in response.context["messages"]] == ["Outcome unknown (not taken in time; try again): adm-nw."]


def test_queue_shows_claims_deadlines_and_filters(reviewer_browser):
    now = timezone.now()
    waiting = dict(status=Order.Status.AWAITING_REVIEW, review_started_at=now - timedelta(minutes=50))
    mine = OrderFactory(id="q-mine", claimed_by="reviewer", claimed_until=now + timedelta(minutes=5), escalates_at=now + timedelta(hours=2), **waiting)
    theirs = OrderFactory(id="q-theirs", claimed_by="bob", claimed_until=now + timedelta(minutes=9), escalates_at=now + timedelta(minutes=10), **waiting)
    expired = OrderFactory(id="q-expired", claimed_by="bob", claimed_until=now - timedelta(minutes=1), escalates_at=now - timedelta(minutes=5), **waiting)

    page = reviewer_browser.get("/admin/orders/reviewqueueorder/").content.decode()
    claimed_by_me = reviewer_browser.get("/admin/orders/reviewqueueorder/?claim=mine").context["cl"].result_list
    free = reviewer_browser.get("/admin/orders/reviewqueueorder/?claim=free").context["cl"].result_list
    due = reviewer_browser.get("/admin/orders/reviewqueueorder/?due=15m").context["cl"].result_list
    deadline_column = admin.site._registry[ReviewQueueOrder].list_display.index("escalates_in") + 1
    by_deadline = reviewer_browser.get(f"/admin/orders/reviewqueueorder/?o={deadline_column}").context["cl"].result_list

    assert page.count('class="claim-holder"') == 2 and ">bob<" in page and ">reviewer<" in page
    assert "overdue by" in page and 'class="due-soon"' in page
    assert page.count(">Release</button>") == 1 and page.count(">Claim</button>") == 2
    assert 'href="/admin/orders/reviewqueueorder/dashboard/"' in page
    assert [o.pk for o in claimed_by_me] == [mine.pk]
    assert {o.pk for o in free} == {expired.pk}
    assert {o.pk for o in due} == {theirs.pk, expired.pk}
    assert [o.pk for o in by_deadline] == [expired.pk, theirs.pk, mine.pk]


def test_bulk_past_the_cap_sends_nothing(reviewer_browser, settings):
    settings.BULK_REVIEW_CAP = 2
    ids = [OrderFactory(status=Order.Status.AWAITING_REVIEW).pk for _ in range(3)]

    response = reviewer_browser.post(
        "/admin/orders/order/", {"action": "approve_selected", "_selected_action": ids}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [
        "3 orders selected; at most 2 can be decided at once. Nothing was sent: narrow the selection with a filter."
    ]
    assert not OrderEvent.objects.filter(type="approved").exists()


def test_dashboard_figures_come_from_the_events(reviewer_browser):
    now = timezone.now()

    def reviewed(order_id, waited_minutes, decision, actor, **payload):
        started = now - timedelta(hours=1)
        order = OrderFactory(id=order_id, status=Order.Status.APPROVED, review_started_at=started, decided_at=started + timedelta(minutes=waited_minutes))
        event = OrderEvent.objects.create(order=order, type=decision, actor=actor, key=f"{order_id}:d", payload=payload)
        OrderEvent.objects.filter(pk=event.pk).update(created_at=order.decided_at)

    reviewed("d-1", 2, "approved", "rita")
    reviewed("d-2", 4, "approved", "rita")
    reviewed("d-3", 6, "cancelled", "bob", role="reviewer")
    reviewed("d-4", 60, "cancelled", "system", role="system")  # the review timed out: not a reviewer's decision
    OrderFactory(id="d-5", status=Order.Status.AWAITING_REVIEW, review_started_at=now - timedelta(minutes=30))
    OrderEvent.objects.create(order_id="d-5", type="escalated", key="d-5:e")

    figures = selectors.review_dashboard(now)
    page = reviewer_browser.get("/admin/orders/reviewqueueorder/dashboard/").content.decode()

    assert figures["queue_depth"] == 1 and figures["oldest_waiting_since"] == now - timedelta(minutes=30)
    assert figures["time_to_decision"] == {"p50": 240.0, "p95": 360.0, "decisions": 3}
    assert [(r["actor"], r["decisions"]) for r in figures["per_reviewer"]] == [("rita", 2), ("bob", 1)]
    assert figures["auto_cancel_rate"] == 0.25 and figures["escalation_rate"] == 0.2
    assert len(figures["hours"]) == 24 and figures["hours"][-1]["queue_depth"] == 1
    assert sum(h["decisions"] for h in figures["hours"]) == 3
    assert '<svg id="review-chart"' in page and page.count('class="bar"') == 24 and 'id="per-reviewer"' in page


@pytest.fixture
def temporal_down(settings):
    """Temporal unreachable: a decision that is sent comes back as "Outcome unknown"."""
    settings.TEMPORAL_ADDRESS = "127.0.0.1:1"
    order_client._runner._client = None
    yield
    order_client._runner._client = None


@pytest.mark.parametrize(
    "note, error",
    [
        ("checked\x00", "Null characters are not allowed."),
        ("n" * (limits.NOTE + 1), f"Ensure this value has at most {limits.NOTE} characters"),
    ],
)
def test_the_approve_button_validates_its_form(reviewer_browser, temporal_down, note, error):
    order = OrderFactory(status=Order.Status.AWAITING_REVIEW)

    response = reviewer_browser.post(f"/admin/orders/order/{order.id}/approve/", {"note": note}, follow=True)

    texts = [str(m) for m in response.context["messages"]]
    assert len(texts) == 1 and texts[0].startswith("Not approved (note: ") and error in texts[0], texts
    assert texts[0].endswith(f"): {order.id}.")


def test_the_approve_button_sends_a_valid_note(reviewer_browser, temporal_down):
    order = OrderFactory(status=Order.Status.AWAITING_REVIEW)

    response = reviewer_browser.post(f"/admin/orders/order/{order.id}/approve/", {"note": "n" * limits.NOTE}, follow=True)

    assert [str(m) for m in response.context["messages"]] == [f"Outcome unknown (not taken in time; try again): {order.id}."]


def test_cancel_notes_are_bounded_by_the_reason_column(reviewer_browser, temporal_down):
    order = OrderFactory(status=Order.Status.AWAITING_REVIEW)
    too_long = {"reason_code": "customer_request", "note": "n" * (limits.NOTE + 1), "confirm": "1"}

    page = reviewer_browser.post(f"/admin/orders/order/{order.id}/cancel/", too_long)
    bulk = reviewer_browser.post("/admin/orders/order/", {"action": "cancel_selected", "_selected_action": [order.id], **too_long})

    for response in (page, bulk):
        assert response.status_code == 200 and f"at most {limits.NOTE} characters" in response.content.decode()


def test_two_reviewers_loading_the_queue_at_once_each_see_their_own_buttons(demo_users, rf):
    queue = admin.site._registry[ReviewQueueOrder]
    OrderFactory(status=Order.Status.AWAITING_REVIEW, claimed_by="reviewer", claimed_until=timezone.now() + timedelta(minutes=5))

    def load(username):
        request = rf.get("/admin/orders/reviewqueueorder/")
        request.user = demo_users[username]
        return queue.changelist_view(request)

    # Interleaved, as two threads serving them would: both views run before either page is rendered.
    mine, theirs = load("reviewer"), load("reviewer2")

    assert ">Release</button>" in mine.render().content.decode()
    assert ">Claim</button>" in theirs.render().content.decode()


def test_next_in_queue_skips_orders_the_reviewer_already_approved(demo_users):
    now = timezone.now()
    half_approved = OrderFactory(status=Order.Status.AWAITING_REVIEW, review_started_at=now - timedelta(hours=2))
    other = OrderFactory(status=Order.Status.AWAITING_REVIEW, review_started_at=now - timedelta(hours=1))
    services.order_record_approval(order_id=half_approved.id, actor="reviewer", note="", required=2)

    assert review.next_in_queue(demo_users["reviewer"]) == other
    assert review.next_in_queue(demo_users["reviewer2"]) == half_approved
