"""From a scheme to code and counts.

* :mod:`~discovery.codegen.cse` -- common-subexpression elimination of linear maps;
* :mod:`~discovery.codegen.generate` -- Python and C from a scheme's straight-line program;
* :mod:`~discovery.codegen.formulas` -- a scheme as human-readable formulas;
* :mod:`~discovery.codegen.costs` -- operation counts and energy of a scheme.
"""
