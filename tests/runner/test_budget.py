from __future__ import annotations

import threading
import time

import pytest

from medgrade.runner.budget import BudgetExceeded, time_limit


def test_runaway_loop_is_stopped_with_a_message() -> None:
    start = time.monotonic()
    with pytest.raises(BudgetExceeded, match=r"train\(\) did not finish within 0.2 s .*Hint: stop after max_steps"):
        with time_limit(0.2, what="train()", hint="stop after max_steps"):
            while True:
                pass
    assert time.monotonic() - start < 2


def test_fast_code_is_untouched_and_timer_cleared() -> None:
    with time_limit(5, what="x"):
        value = sum(range(1000))
    assert value == 499500
    time.sleep(0.05)  # no late alarm fires after the block


def test_budget_is_a_failed_assertion_not_a_crash() -> None:
    assert issubclass(BudgetExceeded, AssertionError)


def test_off_main_thread_runs_unguarded() -> None:
    out: list[int] = []

    def work() -> None:
        with time_limit(0.01):
            time.sleep(0.05)
            out.append(1)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert out == [1]


def test_non_positive_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        with time_limit(0):
            pass
