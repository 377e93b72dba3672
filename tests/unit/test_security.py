"""Production settings and the attacks they answer: `check --deploy`, admin sign-in guessing (django-axes), CSRF on
admin actions and session-authenticated API writes. BOLA and BFLA: tests/api/test_api.py (TestSignalValidation,
TestReads)."""

import os
import secrets
import subprocess
import sys

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from orders.models import Order
from tests.conftest import ROOT
from tests.factories import OrderFactory

PRODUCTION = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "orders.example.com"}


def check_deploy(**env) -> subprocess.CompletedProcess:
    inherited = {k: v for k, v in os.environ.items() if k not in ("HTTPS_ONLY", "DEBUG", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env={**inherited, **env}, capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = check_deploy(**PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_https_only_0_turns_off_the_https_settings_and_check_deploy_says_so():
    result = check_deploy(**PRODUCTION, HTTPS_ONLY="0")

    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout


@pytest.fixture
def staff(db):
    user = User.objects.create_user("ops", password="right-horse-battery", is_staff=True, is_superuser=True)
    return user


def sign_in(client, password: str, username: str = "ops"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


@pytest.mark.django_db
def test_admin_sign_in_locks_out_after_repeated_failures(staff, settings):
    guesser = Client()
    failures = [sign_in(guesser, f"guess-{n}").status_code for n in range(settings.AXES_FAILURE_LIMIT)]
    locked = sign_in(guesser, "right-horse-battery")
    other_user = User.objects.create_user("ops2", password="another-long-pass", is_staff=True)

    assert failures[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)  # the form again, with its error
    assert locked.status_code == 429 and "_auth_user_id" not in guesser.session
    assert sign_in(Client(), "another-long-pass", username=other_user.username).status_code == 302


@pytest.mark.django_db
def test_a_success_before_the_limit_resets_the_count(staff, settings):
    browser = Client()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(browser, f"guess-{n}")
    assert sign_in(browser, "right-horse-battery").status_code == 302
    browser.logout()
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(browser, f"guess-{n}")

    assert sign_in(browser, "right-horse-battery").status_code == 302


@pytest.mark.django_db
def test_admin_actions_need_the_csrf_token(roles):
    reviewer = User.objects.create_user("rita", is_staff=True)
    reviewer.groups.add(Group.objects.get(name="Reviewers"))
    order = OrderFactory(status=Order.Status.AWAITING_REVIEW)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(reviewer)

    forged = browser.post("/admin/orders/order/", {"action": "approve_selected", "_selected_action": [order.pk]})

    assert forged.status_code == 403
    assert Order.objects.get(pk=order.pk).status == Order.Status.AWAITING_REVIEW


@pytest.mark.django_db
def test_session_authenticated_api_writes_need_the_csrf_token(roles):
    reviewer = User.objects.create_user("rita")
    reviewer.groups.add(Group.objects.get(name="Reviewers"))
    order = OrderFactory(status=Order.Status.AWAITING_REVIEW)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(reviewer)

    forged = browser.post(f"/orders/{order.pk}/signals/cancel", {"reason_code": "customer_request"}, content_type="application/json")
    read = browser.get(f"/orders/{order.pk}/")

    assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
    assert read.status_code == 200
