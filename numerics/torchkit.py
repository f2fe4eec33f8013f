"""Small helpers for the Torch-based confirmations.

Torch is imported lazily (:func:`torch`), so symbolic checks and the CLI never
pay for it.  :func:`device` picks CUDA when present, else the CPU;
:func:`seeded` seeds Torch's generators for deterministic runs;
:func:`torch_threads` / :func:`single_threaded` limit Torch's and BLAS's
thread pools (tiny models on a shared two-core machine run many times faster
on one thread).
"""
from __future__ import annotations

import contextlib
import functools


@functools.lru_cache(maxsize=None)
def torch():
    import torch as _torch

    return _torch


def device(prefer: str = "auto"):
    t = torch()
    if prefer == "cpu":
        return t.device("cpu")
    if prefer in ("auto", "cuda") and t.cuda.is_available():
        return t.device("cuda")
    return t.device("cpu")


def seeded(seed: int):
    """Seed Torch and make its CPU kernels deterministic; returns a Generator."""
    t = torch()
    t.manual_seed(seed)
    try:
        t.use_deterministic_algorithms(True, warn_only=True)
    except Exception:  # pragma: no cover - older torch
        pass
    g = t.Generator()
    g.manual_seed(seed)
    return g


def single_threaded(func):
    """Run a confirmation with one CPU thread for Torch and BLAS (restored afterwards).

    The models here are tiny: with two intra-op threads on a loaded two-core machine, Torch's
    thread pool spins and small kernels run 10-50x slower than on one thread."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with torch_threads(1):
            return func(*args, **kwargs)

    # the registry reports a confirmation's source line from its code object: keep the wrapped one's
    wrapper.__code__ = wrapper.__code__.replace(co_firstlineno=func.__code__.co_firstlineno)
    return wrapper


@contextlib.contextmanager
def torch_threads(n: int):
    """Limit Torch's intra-op threads and the BLAS/OpenMP pools NumPy uses to ``n`` for the block.

    After Torch is imported, NumPy's BLAS threads and Torch's OpenMP threads compete; on two
    shared cores a 768 x 300 QR then takes seconds instead of milliseconds."""
    t = torch()
    before = t.get_num_threads()
    t.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        threadpool_limits = None
    try:
        if threadpool_limits is None:
            yield
        else:
            with threadpool_limits(limits=n):
                yield
    finally:
        t.set_num_threads(before)
