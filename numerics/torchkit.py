"""Small helpers for the Torch-based confirmations.

Torch is imported lazily (:func:`torch`), so symbolic checks and the CLI never
pay for it.  :func:`device` picks CUDA when present, else the CPU;
:func:`seeded` seeds Torch's generators for deterministic runs.
"""
from __future__ import annotations

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
