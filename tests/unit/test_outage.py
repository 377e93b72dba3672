"""A database found down answers the next requests of the process at once, for a moment, instead of each holding a
thread for the pool's timeout (orders/unavailable.py)."""

import time

from django.db import OperationalError

from orders.unavailable import Outage


def test_after_an_outage_is_seen_requests_answer_503_at_once_and_liveness_still_answers(client, db, monkeypatch):
    monkeypatch.setattr(Outage, "HOLD", 0.5)
    assert client.get("/orders/").status_code == 401  # the database answers: the request goes through
    assert Outage.seen(OperationalError("connection refused"))

    started = time.monotonic()
    refused = client.get("/orders/")
    admin = client.get("/admin/")
    alive = client.get("/healthz")
    took = time.monotonic() - started
    time.sleep(0.5)
    after = client.get("/orders/")

    assert refused.status_code == admin.status_code == 503 and refused["Retry-After"]
    assert refused.json()["error"] == "unavailable" and "Service unavailable" in admin.content.decode()
    assert alive.status_code == 200 and took < 0.5
    assert after.status_code == 401


def test_a_refused_write_is_no_outage():
    from django.db import DataError, IntegrityError

    assert not Outage.seen(DataError("value too long")) and not Outage.seen(IntegrityError("duplicate key"))
