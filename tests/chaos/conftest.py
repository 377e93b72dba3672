"""`make chaos`: each scenario boots its own stack (dev server, worker processes, gunicorn) on the emptied test
database, breaks something, and ends with the audit (orders/audit.py: final states, money, goods and event
trails against the providers' books and the workflows) and `manage.py reconcile` exiting clean."""

import uuid

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from orders import audit
from orders.roles import ORDER_CLIENTS, REVIEWERS, ensure_roles
from orders.temporal import client as order_client
from tests.chaos.clients import Api
from tests.chaos.stack import ROOT, ChaosStack
from tests.conftest import database_url

# Business retries in tenths of seconds, so that faults cost little time (the orders snapshot these at start).
FAST_RETRIES = {"BUSINESS_RETRY_INITIAL_INTERVAL": "0.1", "BUSINESS_RETRY_MAX_INTERVAL": "0.4", "SHIPPING_RETRY_BACKOFF": "0.2"}


class Scenario:
    def __init__(self, stack: ChaosStack, settings):
        self.stack, self.settings = stack, settings
        tokens = {}
        for username, group in (("shop", ORDER_CLIENTS), ("rita", REVIEWERS), ("vera", REVIEWERS)):
            user = User.objects.create_user(username, password="chaos-pass-1")
            user.groups.add(ensure_roles()[group])
            tokens[username] = Token.objects.create(user=user).key
        self.shop, self.reviewer, self.second_reviewer = (Api(stack.url, tokens[name]) for name in ("shop", "rita", "vera"))

    def assert_nothing_lost(self, order_ids: list[str]) -> None:
        """Every order final, sound in money and goods and trail, its workflow completed with the same status;
        and reconcile finds no drift anywhere."""
        problems = audit.order_problems(order_ids, order_client.order_workflows(order_ids))
        assert problems == {}, problems
        result = self.stack.manage("reconcile", "--json")
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.fixture
def scenario(transactional_db, settings):
    """A factory: scenario(**env) boots a stack with that extra environment on the emptied database."""
    stacks = []

    def boot(**env: str) -> Scenario:
        call_command("flush", interactive=False, verbosity=0)
        stack = ChaosStack(ROOT / "var" / "chaos" / uuid.uuid4().hex[:8], database_url(), **{**FAST_RETRIES, **env})
        stacks.append(stack)
        stack.boot()
        settings.TEMPORAL_ADDRESS = stack.env["TEMPORAL_ADDRESS"]
        order_client._runner._client = None
        return Scenario(stack, settings)

    yield boot
    for stack in stacks:
        stack.close()
    order_client._runner._client = None
