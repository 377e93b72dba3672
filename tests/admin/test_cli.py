"""`manage.py orders` and `manage.py check_status`: output and exit codes, run as real processes."""

import json
import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import Permission, User

from orders import limits
from orders.models import Order
from orders.roles import REVIEWERS
from tests.conftest import ROOT, database_url, wait_for_status
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def manage(*args, temporal_address="127.0.0.1:1", **env):
    """Run manage.py against the test database; Temporal is unreachable unless an address is given."""
    environment = {**os.environ, "DATABASE_URL": database_url(), "TEMPORAL_ADDRESS": temporal_address, **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_list_readable_and_json():
    OrderFactory(id="cli-1", status=Order.Status.AWAITING_REVIEW, customer_email="one@example.com")
    OrderFactory(id="cli-2", status=Order.Status.COMPLETED)

    text = manage("orders", "list", "--status", "awaiting_review")
    as_json = manage("orders", "list", "--json")

    assert text.returncode == 0
    assert "cli-1" in text.stdout and "awaiting_review" in text.stdout and "cli-2" not in text.stdout
    assert {row["id"] for row in json.loads(as_json.stdout)} == {"cli-1", "cli-2"}


@pytest.fixture
def rita(roles):
    """A reviewer: the actor the CLI acts as."""
    user = User.objects.create_user("rita")
    user.groups.add(roles[REVIEWERS])
    return user


def test_errors_have_clear_messages_and_exit_codes(rita):
    OrderFactory(id="cli-3", status=Order.Status.AWAITING_REVIEW)

    unknown = manage("orders", "status", "nobody")
    invalid = manage("orders", "start", "cli-4", "--sample", "--customer-email", "not-an-email")
    bad_id = manage("orders", "start", "bad id!", "--sample")
    bad_item = manage("orders", "start", "cli-5", "--sample", "--item", "nonsense")
    unavailable = manage("orders", "approve", "cli-3", "--actor", "rita")
    usage = manage("orders", "cancel", "cli-3", "--actor", "rita")

    assert (unknown.returncode, "order nobody not found") == (3, unknown.stderr.strip().removeprefix("CommandError: "))
    assert invalid.returncode == 1 and "customer_email" in invalid.stderr
    assert bad_id.returncode == 1 and "1-64 characters" in bad_id.stderr
    assert bad_item.returncode != 0 and "SKU:QUANTITY:UNIT_PRICE" in bad_item.stderr
    assert unavailable.returncode == 5 and "Temporal is unreachable" in unavailable.stderr
    assert usage.returncode == 2 and "one of the arguments --reason-code --reason is required" in usage.stderr
    no_note = manage("orders", "cancel", "cli-3", "--actor", "rita", "--reason-code", "other")
    assert no_note.returncode == 1 and "the reason code other needs a note" in no_note.stderr


def test_check_status_reports_temporal_down():
    OrderFactory(status=Order.Status.AWAITING_REVIEW)

    result = manage("check_status")
    report = json.loads(manage("check_status", "--json").stdout)

    assert result.returncode == 1
    assert "OK   database" in result.stdout and "FAIL temporal" in result.stdout
    assert report["healthy"] is False and report["orders_by_status"] == {"awaiting_review": 1}


def test_the_actor_must_be_an_active_reviewer(rita):
    OrderFactory(id="cli-6", status=Order.Status.AWAITING_REVIEW)
    User.objects.create_user("clerk")
    User.objects.create_user("gone", is_active=False).groups.add(*rita.groups.all())

    unknown = manage("orders", "approve", "cli-6", "--actor", "mallory")
    no_permission = manage("orders", "cancel", "cli-6", "--actor", "clerk", "--reason-code", "out_of_stock")
    inactive = manage("orders", "claim", "cli-6", "--actor", "gone")
    missing = manage("orders", "approve", "cli-6")

    assert unknown.returncode == 1 and "mallory is not a user" in unknown.stderr
    assert no_permission.returncode == 4 and "clerk may not review orders" in no_permission.stderr
    assert inactive.returncode == 1 and "gone is not an active user" in inactive.stderr
    assert missing.returncode == 2 and "--actor" in missing.stderr


def test_take_over_needs_its_permission(rita):
    OrderFactory(id="cli-7", status=Order.Status.AWAITING_REVIEW)
    lead = User.objects.create_user("lead")
    lead.groups.add(*rita.groups.all())
    lead.user_permissions.add(Permission.objects.get(codename="take_over_review"))

    refused = manage("orders", "claim", "cli-7", "--actor", "rita", "--take-over")
    allowed = manage("orders", "release", "cli-7", "--actor", "lead", "--take-over")

    assert refused.returncode == 4 and "rita may not take reviews over" in refused.stderr
    assert allowed.returncode == 5 and "Temporal is unreachable" in allowed.stderr  # passed the check, then sent


def test_notes_and_reasons_are_bounded_by_their_columns(rita):
    OrderFactory(id="cli-8", status=Order.Status.AWAITING_REVIEW)

    long_note = manage("orders", "cancel", "cli-8", "--actor", "rita", "--reason-code", "out_of_stock", "--note", "n" * (limits.NOTE + 1))
    long_reason = manage("orders", "cancel", "cli-8", "--actor", "rita", "--reason", "r" * (limits.NOTE + 1))
    long_approval = manage("orders", "approve", "cli-8", "--actor", "rita", "--note", "n" * (limits.NOTE + 1))
    longest = manage("orders", "approve", "cli-8", "--actor", "rita", "--note", "n" * limits.NOTE)

    for result in (long_note, long_reason, long_approval):
        assert result.returncode == 1 and f"at most {limits.NOTE} characters" in result.stderr, result.stderr
    assert longest.returncode == 5  # within the limit: sent (and Temporal is down here)


@pytest.mark.e2e
def test_cli_drives_an_order_to_the_end(start_worker, live_temporal, rita):
    start_worker()
    env = {
        "temporal_address": live_temporal.TEMPORAL_ADDRESS,
        "TEMPORAL_MAIN_TASK_QUEUE": live_temporal.TEMPORAL_MAIN_TASK_QUEUE,
        "TEMPORAL_SHIPPING_TASK_QUEUE": live_temporal.TEMPORAL_SHIPPING_TASK_QUEUE,
    }

    started = manage("orders", "start", "cli-e2e", "--sample", "--customer-name", "Grace Hopper", **env)
    repeated = manage("orders", "start", "cli-e2e", "--sample", "--customer-name", "Grace Hopper", "--json", **env)
    wait_for_status("cli-e2e", Order.Status.AWAITING_REVIEW)
    status = json.loads(manage("orders", "status", "cli-e2e", "--json", **env).stdout)
    approved = manage("orders", "approve", "cli-e2e", "--actor", "rita", **env)
    order = wait_for_status("cli-e2e", Order.Status.COMPLETED)
    again = manage("orders", "approve", "cli-e2e", "--actor", "rita", **env)
    health = manage("check_status", **env)

    assert started.returncode == 0 and started.stdout.startswith("Started: cli-e2e"), started.stderr
    assert json.loads(repeated.stdout) == {"id": "cli-e2e", "workflow_id": "order-cli-e2e", "created": False, "pending": False}
    assert status["status"] == "awaiting_review" and status["live"] is True
    assert approved.returncode == 0 and "Approved: cli-e2e" in approved.stdout
    assert order.customer_name == "Grace Hopper" and order.reviewer == "rita"
    assert again.returncode == 4 and "order already completed" in again.stderr
    assert health.returncode == 0, health.stdout + health.stderr
    assert f"OK   task queue {live_temporal.TEMPORAL_MAIN_TASK_QUEUE}" in health.stdout
    assert "cli-e2e" in health.stdout  # in the recent events
