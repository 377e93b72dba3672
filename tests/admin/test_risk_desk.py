"""Risk on the review desk, through Django's test client: the queue's risk column, sort and band filter; the order
page's "Why this order is here" and related orders; fraud feedback for holders of orders.mark_fraud; the
dashboard's risk figures. Orders are built directly with their risk fields set."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.utils import timezone

from orders.models import Order, OrderEvent, ReviewQueueOrder
from orders.risk.dashboard import risk_figures
from orders.risk.related import related_orders
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

SIGNALS = [
    {"name": "velocity_email_10m", "points": 25, "text": "3 orders from this email in the last 10 minutes"},
    {"name": "new_customer", "points": -5, "text": "A returning customer"},
]


@pytest.fixture
def lead(client, demo_users):
    client.force_login(demo_users["lead"])
    return client


def scored(order_id, score, band, route="review", minutes_ago=0, **fields):
    order = OrderFactory(id=order_id, risk_score=score, risk_band=band, risk_route=route, **fields)
    if minutes_ago:
        Order.objects.filter(pk=order_id).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return order


def waiting(order_id, score, band, **fields):
    return scored(order_id, score, band, status=Order.Status.AWAITING_REVIEW, **fields)


def column(name: str) -> int:
    return admin.site._registry[ReviewQueueOrder].list_display.index(name) + 1


def test_the_queue_shows_risk_sorts_by_score_and_filters_by_band(reviewer_browser):
    waiting("r-mid", 45, "medium")
    waiting("r-high", 88, "high")
    waiting("r-low", 8, "low")

    page = reviewer_browser.get("/admin/orders/reviewqueueorder/").content.decode()
    by_risk = reviewer_browser.get(f"/admin/orders/reviewqueueorder/?o={column('risk')}").context["cl"].result_list
    riskiest_first = reviewer_browser.get(f"/admin/orders/reviewqueueorder/?o=-{column('risk')}").context["cl"].result_list
    high = reviewer_browser.get("/admin/orders/reviewqueueorder/?risk_band__exact=high").context["cl"].result_list

    assert '<span class="risk-badge" data-band="high" data-score="88" style="background:#b91c1c">88 high</span>' in page
    assert 'data-band="medium" data-score="45" style="background:#b45309"' in page
    assert 'data-band="low" data-score="8" style="background:#15803d"' in page
    assert "By risk band" in page and "?risk_band__exact=high" in page
    assert [o.pk for o in by_risk] == ["r-low", "r-mid", "r-high"]
    assert [o.pk for o in riskiest_first] == ["r-high", "r-mid", "r-low"]
    assert [o.pk for o in high] == ["r-high"]


def test_the_queue_keeps_its_claims_and_deadline_filter(reviewer_browser):
    now = timezone.now()
    waiting("r-due", 50, "medium", escalates_at=now + timedelta(minutes=5), claimed_by="reviewer", claimed_until=now + timedelta(minutes=5))
    waiting("r-later", 50, "medium", escalates_at=now + timedelta(hours=2))

    page = reviewer_browser.get("/admin/orders/reviewqueueorder/").content.decode()
    due = reviewer_browser.get("/admin/orders/reviewqueueorder/?due=15m&risk_band__exact=medium").context["cl"].result_list

    assert page.count(">Release</button>") == 1 and page.count(">Claim</button>") == 1
    assert [o.pk for o in due] == ["r-due"]


def test_the_order_page_says_why_the_order_is_here(reviewer_browser):
    order = waiting("why", 72, "high", route="cancel", risk_signals=SIGNALS, email_key="ann@example.com", address_key="a1")

    page = reviewer_browser.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    why = page[page.index('id="risk-why"'):page.index('id="related-orders"')]
    assert "Why this order is here" in why
    assert 'data-band="high" data-score="72"' in why
    assert '<dd id="risk-route">Cancel <small>(a suggestion: this order waits for a person)</small></dd>' in why
    assert '<dd id="decided-by">Not decided yet</dd>' in why
    assert '<td>3 orders from this email in the last 10 minutes</td><td class="points">+25</td>' in why
    assert '<td>A returning customer</td><td class="points">-5</td>' in why
    assert "fraud-feedback" not in page
    assert page.index('id="risk-why"') < page.index('id="timeline"')


def test_the_order_page_lists_related_orders_newest_first(reviewer_browser):
    order = waiting("rel", 40, "medium", email_key="ann@example.com", address_key="a1")
    scored("rel-mail", 10, "low", minutes_ago=30, email_key="ann@example.com", address_key="a2", status=Order.Status.COMPLETED)
    scored("rel-home", 95, "high", minutes_ago=20, email_key="bob@example.com", address_key="a1",
           status=Order.Status.CANCELLED, fraud=Order.Fraud.CONFIRMED, status_reason="Suspected fraud")
    scored("rel-both", 20, "low", minutes_ago=10, email_key="ann@example.com", address_key="a1", status=Order.Status.CANCELLED)
    scored("stranger", 20, "low", email_key="eve@example.com", address_key="a9")
    for n in range(12):
        scored(f"old-{n}", 5, "low", minutes_ago=60 + n, email_key="ann@example.com")

    page = reviewer_browser.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    related = [link.order.pk for link in related_orders(order)]

    assert related[:3] == ["rel-both", "rel-home", "rel-mail"] and len(related) == 10
    assert "stranger" not in related and "rel" not in related
    rows = page[page.index('id="related-orders"'):]
    assert 'href="/admin/orders/order/rel-home/change/"' in rows
    assert rows.index(">rel-both<") < rows.index(">rel-home<") < rows.index(">rel-mail<")
    home = rows[rows.index('data-order="rel-home"'):rows.index('data-order="rel-mail"')]
    assert "<td>address</td>" in home and "Cancelled" in home and "Suspected fraud" in home
    assert '<td class="related-fraud">Fraud confirmed</td>' in home
    assert "<td>email and address</td>" in rows[rows.index('data-order="rel-both"'):]


def test_an_order_without_keys_has_no_related_orders():
    no_keys = dict(email_key="", address_key="", name_key="")
    OrderFactory(id="legacy-1", **no_keys)
    assert related_orders(OrderFactory(id="legacy-2", **no_keys)) == []


@pytest.mark.parametrize(
    "decided_by, reviewer_name, shown",
    [(Order.DecidedBy.POLICY, "", "Risk policy"), (Order.DecidedBy.PERSON, "rita", "rita"), (Order.DecidedBy.SYSTEM, "", "System (the review timed out)")],
)
def test_the_order_page_says_who_decided(reviewer_browser, decided_by, reviewer_name, shown):
    order = scored("decided", 12, "low", route="approve", status=Order.Status.COMPLETED, decided_by=decided_by, reviewer=reviewer_name)

    page = reviewer_browser.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert f'<dd id="decided-by">{shown}</dd>' in page and '<dd id="risk-route">Approve</dd>' in page


def test_without_mark_fraud_there_is_no_control_and_a_post_is_refused(reviewer_browser):
    order = scored("nf", 90, "high", status=Order.Status.CANCELLED, decided_by=Order.DecidedBy.PERSON)

    page = reviewer_browser.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    response = reviewer_browser.post(f"/admin/orders/order/{order.pk}/mark-fraud/", {"verdict": "confirmed"})

    assert "fraud-feedback" not in page
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.fraud == "" and not OrderEvent.objects.filter(order=order).exists()


def test_marking_fraud_records_the_event_and_sets_the_mark(lead):
    order = scored("mf", 90, "high", status=Order.Status.CANCELLED, decided_by=Order.DecidedBy.PERSON)

    page = lead.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    confirmed = lead.post(f"/admin/orders/order/{order.pk}/mark-fraud/", {"verdict": "confirmed", "note": "chargeback"}, follow=True)
    order.refresh_from_db()
    after_confirm = order.fraud
    cleared = lead.post(f"/admin/orders/order/{order.pk}/mark-fraud/", {"verdict": "cleared", "note": ""}, follow=True)
    order.refresh_from_db()

    assert 'id="fraud-feedback"' in page and 'name="csrfmiddlewaretoken"' in page[page.index('id="fraud-feedback"'):]
    assert 'value="confirmed"' in page and 'value="cleared"' in page
    assert [str(m) for m in confirmed.context["messages"]] == ["Marked fraud confirmed: mf."]
    assert [str(m) for m in cleared.context["messages"]] == ["Marked not fraud: mf."]
    assert after_confirm == Order.Fraud.CONFIRMED and order.fraud == Order.Fraud.CLEARED
    events = list(OrderEvent.objects.filter(order=order).order_by("id"))
    assert [(e.type, e.actor) for e in events] == [("fraud_confirmed", "lead"), ("not_fraud", "lead")]
    assert events[0].payload["note"] == "chargeback"


def test_marking_an_open_order_is_refused_with_a_message(lead):
    order = waiting("mf-open", 60, "medium")

    page = lead.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    response = lead.post(f"/admin/orders/order/{order.pk}/mark-fraud/", {"verdict": "confirmed"}, follow=True)
    bad = lead.post(f"/admin/orders/order/{order.pk}/mark-fraud/", {"verdict": "maybe"}, follow=True)
    get = lead.get(f"/admin/orders/order/{order.pk}/mark-fraud/")

    assert "fraud-feedback" not in page
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("Not marked (") and "only completed or cancelled orders are marked" in message
    assert [str(m) for m in bad.context["messages"]][0].startswith("Not marked (verdict: Select a valid choice.")
    assert get.status_code == 405
    order.refresh_from_db()
    assert order.fraud == "" and not OrderEvent.objects.filter(order=order).exists()


def test_the_lead_may_mark_fraud_and_a_reviewer_may_not(demo_users):
    assert demo_users["lead"].has_perm("orders.mark_fraud") and demo_users["lead"].has_perm("orders.take_over_review")
    assert not demo_users["reviewer"].has_perm("orders.mark_fraud")


def test_the_dashboard_risk_figures(reviewer_browser, django_assert_max_num_queries):
    policy, person, system, client = Order.DecidedBy.POLICY, Order.DecidedBy.PERSON, Order.DecidedBy.SYSTEM, Order.DecidedBy.CLIENT
    approved = dict(decided_at=timezone.now(), decision=Order.Decision.APPROVED)
    cancelled = dict(decided_at=timezone.now(), decision=Order.Decision.CANCELLED)
    # Low band: three approved by the policy (the customer withdrew one afterwards), one a person cancelled
    # against the policy's route.
    scored("d-1", 5, "low", "approve", status=Order.Status.COMPLETED, decided_by=policy, **approved)
    scored("d-2", 9, "low", "approve", status=Order.Status.PAID, decided_by=policy, **approved)
    scored("d-11", 7, "low", "approve", status=Order.Status.CANCELLED, decided_by=policy, **approved)
    scored("d-3", 12, "low", "approve", status=Order.Status.CANCELLED, decided_by=person, **cancelled)
    # Medium band: a person approved one and cancelled one; the review of a third timed out; a customer withdrew one.
    scored("d-4", 40, "medium", "review", status=Order.Status.COMPLETED, decided_by=person, **approved)
    scored("d-5", 50, "medium", "review", status=Order.Status.CANCELLED, decided_by=person, fraud=Order.Fraud.CONFIRMED, **cancelled)
    scored("d-6", 55, "medium", "review", status=Order.Status.CANCELLED, decided_by=system, **cancelled)
    scored("d-12", 45, "medium", "review", status=Order.Status.CANCELLED, decided_by=client, **cancelled)
    # High band: the policy cancelled one; a person approved one the policy would cancel, later confirmed fraud.
    scored("d-7", 90, "high", "cancel", status=Order.Status.CANCELLED, decided_by=policy, **cancelled)
    scored("d-8", 80, "high", "cancel", status=Order.Status.SHIPPING, decided_by=person, fraud=Order.Fraud.CONFIRMED, **approved)
    # Not decided, or received before the window: not counted.
    waiting("d-9", 90, "high")
    scored("d-10", 90, "high", "cancel", status=Order.Status.CANCELLED, decided_by=person, minutes_ago=60 * 24 * 40, **cancelled)

    with django_assert_max_num_queries(1):
        figures = risk_figures(timezone.now())
    page = reviewer_browser.get("/admin/orders/reviewqueueorder/dashboard/").content.decode()

    assert [(s.label, s.count, s.of) for s in figures["deciders"]] == [
        ("Approved by the risk policy", 3, 10),
        ("Decided by a person", 4, 10),
        ("Cancelled by the risk policy", 1, 10),
        ("Cancelled as the review timed out", 1, 10),
        ("Withdrawn by the customer before a decision", 1, 10),
    ]
    bands = {row["band"]: row for row in figures["bands"]}
    assert (bands["low"]["approval"].count, bands["low"]["approval"].of) == (3, 4)
    assert (bands["medium"]["approval"].count, bands["medium"]["approval"].of) == (1, 2)
    assert (bands["high"]["approval"].count, bands["high"]["approval"].of) == (1, 2)
    assert [bands[b]["decided"] for b in ("low", "medium", "high")] == [4, 4, 2]
    assert [bands[b]["fraud"] for b in ("low", "medium", "high")] == [0, 1, 1]
    assert (figures["against_policy"].count, figures["against_policy"].of) == (2, 4)
    assert "<td>Approved by the risk policy</td><td>3</td><td>30 %</td>" in page
    assert '<tr data-band="low"><td>Low</td><td>4</td><td class="approval-rate">75 % (3 of 4)</td><td class="fraud-confirmed">0</td></tr>' in page
    assert "<strong>2 of 4 decisions</strong> (50 %)" in page
