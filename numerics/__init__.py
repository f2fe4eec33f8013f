"""Numeric confirmations, one module per topic (imported as ``derivcheck.numerics``).

Each topic module declares confirmations with :func:`derivcheck.confirms`
under the claim IDs of the matching ``derivations`` module.  Shared helpers:
``policy`` (where tolerances come from), ``evidence`` (building Evidence
records), ``ode``, ``torchkit``.  ``pytest numerics`` runs every confirmation.
"""
