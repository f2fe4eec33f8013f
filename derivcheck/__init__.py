"""derivcheck: symbolic-plus-numeric verification of deep-learning derivations.

Public API:

    from derivcheck import claim, confirms            # declare (topic modules)
    from derivcheck import REGISTRY, load_all         # the registry
    from derivcheck.runner import verify              # run checks
    from derivcheck.model import Verdict, SymbolicResult, NumericResult, Evidence, Plot
"""
from .model import (  # noqa: F401
    Claim,
    Confirmation,
    Evidence,
    NumericContext,
    NumericResult,
    Plot,
    Series,
    SymbolicResult,
    Table,
    Verdict,
)
from .registry import REGISTRY, Registry, RegistryError, claim, confirms, load_all  # noqa: F401

__version__ = "0.1.0"
