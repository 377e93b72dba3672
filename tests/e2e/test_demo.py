"""The demo's verdict on each order (the run itself is exercised against `make run` in test_stack.py; the money
and goods audit it adds is tested in test_audit.py)."""

from orders.management.commands.demo import check_order


def test_completed_in_time_passes():
    assert check_order("d-1", "completed", 2.5, flaky=False) == []


def test_slow_or_unfinished_orders_fail_without_faults():
    assert check_order("d-1", "completed", 15.0, flaky=False) == ["d-1 took 15.0s (limit 15s)"]
    assert check_order("d-2", "shipping", None, flaky=False) == ["d-2 did not finish (it is shipping)"]
    assert check_order("d-3", "failed", 4.0, flaky=False) == ["d-3 ended failed, not completed"]


def test_with_faults_any_final_state_is_fine_but_unfinished_is_not():
    assert check_order("d-1", "failed", 9.0, flaky=True) == []
    assert check_order("d-2", "payment_failed", 3.0, flaky=True) == []
    assert check_order("d-3", "shipping", None, flaky=True) == ["d-3 did not finish (it is shipping)"]
