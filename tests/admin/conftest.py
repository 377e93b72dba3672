"""The demo users (create_demo_users), and a test client signed in as the reviewer."""

import os

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command


@pytest.fixture
def demo_users(roles):
    call_command("create_demo_users", stdout=open(os.devnull, "w"))
    return {u.username: u for u in User.objects.all()}


@pytest.fixture
def reviewer_browser(client, demo_users):
    client.force_login(demo_users["reviewer"])
    return client
