"""Every check runs under a time limit."""
import time

import pytest

from derivcheck import Verdict
from derivcheck.limits import CheckTimeout, time_limit
from derivcheck.registry import Registry
from derivcheck.runner import run_numeric, run_symbolic


def test_time_limit_interrupts_python_loops():
    start = time.perf_counter()
    with pytest.raises(CheckTimeout):
        with time_limit(0.2):
            while True:
                pass
    assert time.perf_counter() - start < 2.0


def test_nested_limits_restore_the_outer_one():
    with pytest.raises(CheckTimeout):
        with time_limit(0.4):
            with time_limit(5.0):
                pass
            while True:
                pass


def test_slow_checks_end_as_inconclusive_timeouts():
    reg = Registry()

    @reg.claim("demo.slow", questions=["ift6135-h22/4.1"], statement="x", timeout_s=0.2)
    def slow():
        while True:
            pass

    @reg.confirms("demo.slow", timeout_s=0.2)
    def slow_numeric(ctx):
        while True:
            pass

    sym = run_symbolic(reg.get("demo.slow"))
    assert sym.verdict is Verdict.INCONCLUSIVE and sym.method == "timeout"
    num = run_numeric(reg.confirmations("demo.slow")[0])
    assert num.verdict is Verdict.INCONCLUSIVE and "timeout" in num.detail
