"""Symbolic claims, one module per topic (imported as ``derivcheck.derivations``).

Each topic module declares its claims with :func:`derivcheck.claim`; the
building blocks of a SymPy check are in :mod:`derivcheck.derivations.prove`.
``pytest derivations`` runs every claim's symbolic check as its own item.
"""
