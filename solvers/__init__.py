"""Exact solvers: CP-SAT on the Brent equations, refinement, alternating
exact solves, lifting from F2 to Z, and the ``auto`` pipeline.

Modules: :mod:`solvers.brent` (the model), :mod:`solvers.cpsat` (the engine),
:mod:`solvers.refine`, :mod:`solvers.alternating`, :mod:`solvers.lifting`,
:mod:`discovery.search.auto`.
"""
