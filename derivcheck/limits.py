"""Wall-clock time limits for checks.

In the main thread of a POSIX process the limit is enforced with
``SIGALRM`` (``setitimer``): pure-Python work such as SymPy simplification is
interrupted at the next bytecode; a long call inside C code (a LAPACK routine,
a Torch kernel) is interrupted when it returns to Python.  Elsewhere (a worker
thread, Windows) the limit is checked after the fact and the result is
discarded as timed out.
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time


class CheckTimeout(Exception):
    """A check ran past its time limit."""

    def __init__(self, seconds: float):
        super().__init__(f"time limit of {seconds:g} s exceeded")
        self.seconds = seconds


def _can_use_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise :class:`CheckTimeout` if the body runs longer than ``seconds``."""
    if seconds is None or seconds <= 0:
        yield
        return
    if not _can_use_alarm():
        start = time.perf_counter()
        yield
        if time.perf_counter() - start > seconds:
            raise CheckTimeout(seconds)
        return

    def on_alarm(signum, frame):
        raise CheckTimeout(seconds)

    start = time.perf_counter()
    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    if 0 < previous_timer[0] < seconds:  # an enclosing limit is tighter: keep it
        signal.setitimer(signal.ITIMER_REAL, previous_timer[0])
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_timer[0] > 0:  # re-arm an enclosing limit with what is left of it
            left = previous_timer[0] - (time.perf_counter() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))
