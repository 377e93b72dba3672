"""A database found down answers the next requests of the process at once, then lets one request at a time find out
whether it is back, instead of each request holding a thread for the pool's timeout (orders/unavailable.py)."""

import time

import pytest
from django.db import DataError, IntegrityError, OperationalError

from orders.unavailable import Outage

HOLD = 0.3


@pytest.fixture
def outage(monkeypatch):
    monkeypatch.setattr(Outage, "HOLD", HOLD)
    monkeypatch.setattr(Outage, "_until", 0.0)
    monkeypatch.setattr(Outage, "_probing", False)
    return Outage


def test_after_an_outage_is_seen_requests_answer_503_at_once_and_liveness_still_answers(client, db, outage):
    assert client.get("/orders/").status_code == 401  # the database answers: the request goes through
    assert outage.seen(OperationalError("connection refused"))

    started = time.monotonic()
    refused, admin, alive = client.get("/orders/"), client.get("/admin/"), client.get("/healthz")
    took = time.monotonic() - started
    time.sleep(HOLD)
    probe = client.get("/orders/")  # the database is back: the probe goes through and closes the circuit
    after = client.get("/orders/")

    assert refused.status_code == admin.status_code == 503 and refused["Retry-After"]
    assert refused.json()["error"] == "unavailable" and "Service unavailable" in admin.content.decode()
    assert alive.status_code == 200 and took < HOLD
    assert probe.status_code == after.status_code == 401


def test_one_request_at_a_time_finds_out_while_the_others_are_answered_at_once(outage):
    outage.seen(OperationalError("connection refused"))
    assert outage.admit() == ""
    time.sleep(HOLD)
    assert outage.admit() == "probe"
    assert outage.admit() == ""  # the probe is still out
    outage.seen(OperationalError("connection refused"))  # and finds the database down again
    outage.probed()
    assert outage.admit() == ""
    time.sleep(HOLD)
    assert outage.admit() == "probe"
    outage.probed()  # it answered
    assert outage.admit() == outage.admit() == "pass"


def test_a_refused_write_is_no_outage(outage):
    assert not outage.seen(DataError("value too long")) and not outage.seen(IntegrityError("duplicate key"))
    assert outage.admit() == "pass"
