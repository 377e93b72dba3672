"""A small run of `manage.py bench` (docs/performance.md): correctness only, never a timing. It boots its own
stack (dev server, workers, gunicorn, a fresh database) and the skeleton, drives orders through the API, and fails
unless every order completed with exactly one captured payment."""

import json

import pytest
from django.core.management import call_command

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def test_bench_smoke_run_completes_every_order_once(capsys):
    call_command("bench", orders=12, concurrency=4, single=2, reads_seconds=0.5, waiting=4, no_compare=True)

    out = capsys.readouterr().out
    report = json.loads((ROOT / out.rsplit("Figures written to ", 1)[1].strip()).read_text())
    system = report["system"]
    assert system["orders"] == 12 and system["failed_orders"] == 0, system["failures"]
    assert report["skeleton"]["orders"] == 12 and report["ratio_to_skeleton"] > 0
    assert set(system["requests"]) >= {"POST /orders/{id}/start", "POST /orders/{id}/signals/approve", "GET /orders/{id}/"}
    assert system["one_at_a_time"]["orders"] == 2 and system["waiting_for_review"]["orders"] == 4
    assert all(figures["requests_per_second"] > 0 for figures in system["reads_alone"].values())
    assert system["resources"]["workers"]["processes"] == 1 and system["resources"]["temporal"]["cpu_seconds"] > 0
    # The waiting orders, approved in bulk: every one of them accepted, in as many rounds as it took.
    bulk = system["bulk_approve"]
    assert bulk["orders"] == 4 and all(r["status"] == 200 for r in bulk["rounds"]), bulk
    last = bulk["rounds"][-1]["counts"]
    decided = sum(r["counts"]["done"] + r["counts"]["processing"] for r in bulk["rounds"])
    assert decided == 4 and last["refused"] == last["unknown"] == 0, bulk
    assert bulk["final_statuses"] == {"completed": 4}, bulk  # and every one of them then went through
    # The same orders with every risk rule off, for what scoring costs per order (workers, web, database backends).
    assert report["system_rules_off"]["orders"] == 12 and report["system_rules_off"]["failed_orders"] == 0
    cpu = report["risk_rules_cpu"]
    assert cpu["on_ms"] > 0 and cpu["off_ms"] > 0 and set(cpu["by_role_ms"]) == {"workers", "web", "database"}
    if report["database"] == "postgresql":
        assert system["resources"]["database"]["processes"] >= 1 and cpu["by_role_ms"]["database"][0] > 0
