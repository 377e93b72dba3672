"""One trace per order action (ordersite/tracing.py): the Django request, the Temporal client's start, the
workflow (its run and the activities it schedules), each activity's execution and its SQL, linked parent to
child, with no SQL parameters recorded. Run in its own
process (tests/tracing/probe.py), since tracing is process-wide."""

import json
import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from tests.conftest import ROOT, database_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_request_start_workflow_activity_query_are_one_trace(live_temporal, roles):
    shop = User.objects.create_user("shop")
    shop.groups.add(roles["Order clients"])
    token = Token.objects.create(user=shop).key
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "TEMPORAL_ADDRESS": live_temporal.TEMPORAL_ADDRESS,
        "TEMPORAL_MAIN_TASK_QUEUE": live_temporal.TEMPORAL_MAIN_TASK_QUEUE,
        "TEMPORAL_SHIPPING_TASK_QUEUE": live_temporal.TEMPORAL_SHIPPING_TASK_QUEUE,
        "WORKER_METRICS_PORT": "0",
        "ALLOWED_HOSTS": "testserver",
    }
    result = subprocess.run([sys.executable, "-m", "tests.tracing.probe", "trace-1", token], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    spans = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    by_id = {span["id"]: span for span in spans}

    def parent_of(span):
        return by_id.get(span["parent"])

    def one(predicate, what):
        found = [span for span in spans if predicate(span)]
        assert found, f"no {what} span among {sorted({s['name'] for s in spans})}"
        return found[0]

    request = one(lambda s: s["attributes"].get("http.request.method", s["attributes"].get("http.method")) == "POST" and s["parent"] is None, "request")
    start = one(lambda s: s["name"] == "StartUpdateWithStartWorkflow:OrderWorkflow", "start")
    run = one(lambda s: s["name"] == "RunWorkflow:OrderWorkflow", "workflow run")
    activity = one(lambda s: s["name"] == "RunActivity:receive_order", "activity")
    query = one(lambda s: parent_of(s) is activity and s["name"] == "INSERT", "SQL under the activity") if database_url().startswith("postgres") else None

    scheduled = one(lambda s: s["name"] == "StartActivity:receive_order", "activity scheduled by the workflow")

    assert parent_of(start) is request
    # The SDK parents the workflow's own spans (its run, the activities it schedules) to the span that started it.
    assert parent_of(run) is start and parent_of(scheduled) is start
    assert parent_of(activity) is scheduled
    assert len({s["trace"] for s in (request, start, run, scheduled, activity, query or activity)}) == 1
    if query is not None:
        statement = query["attributes"].get("db.statement", query["attributes"].get("db.query.text", ""))
        assert statement.startswith("INSERT") and "%s" in statement, query["attributes"]  # placeholders, not values
        assert "Trace Probe" not in json.dumps(spans) and "probe@example.com" not in json.dumps(spans)


@pytest.mark.parametrize("application", ["ordersite.asgi", "ordersite.wsgi"])
def test_the_web_application_turns_tracing_on_as_it_loads(application):
    """gunicorn loads the application module (ASGI everywhere, WSGI for other servers): each sets tracing up."""
    probe = f"import {application}\nfrom ordersite import tracing\nprint(tracing._provider is not None)"
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "console", "SECRET_KEY": "x"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "True"
