"""The demo's verdict on each order (the run itself is exercised against `make run` in test_stack.py)."""

from orders.management.commands.demo import check_order


def test_completed_in_time_passes():
    assert check_order("d-1", "completed", 2.5, ["captured"], flaky=False) == []


def test_slow_or_unfinished_orders_fail_without_faults():
    assert check_order("d-1", "completed", 15.0, ["captured"], flaky=False) == ["d-1 took 15.0s (limit 15s)"]
    assert check_order("d-2", "shipping", None, ["captured"], flaky=False) == ["d-2 did not finish (it is shipping)"]
    assert check_order("d-3", "failed", 4.0, ["refunded"], flaky=False) == ["d-3 ended failed, not completed"]


def test_with_faults_compensation_is_fine_but_broken_payments_are_not():
    assert check_order("d-1", "failed", 9.0, ["refunded"], flaky=True) == []
    assert check_order("d-2", "payment_failed", 3.0, ["declined"], flaky=True) == []
    assert check_order("d-3", "failed", 9.0, ["captured"], flaky=True) == ["d-3 is failed but its payment was not refunded"]
    assert check_order("d-4", "completed", 9.0, ["captured", "refunded"], flaky=True) == ["d-4 was charged 2 times"]
