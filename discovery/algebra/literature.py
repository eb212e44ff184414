"""Schemes from the literature, entered from their published formulas.

They are verified like everything else before they enter the catalog, and
serve as references (Strassen 1969; Winograd's variant with 15 additions).
"""

from __future__ import annotations

from discovery.core.problems import matmul
from discovery.core.scheme import Scheme

__all__ = ["strassen", "strassen_winograd"]

# operand order for 2x2: a11 a12 a21 a22 / b11 b12 b21 b22 / c11 c12 c21 c22


def strassen() -> Scheme:
    """Strassen's 2x2x2 rank-7 algorithm (1969), 18 additions.

    Examples
    --------
    >>> from verify import verify_exact
    >>> verify_exact(strassen()).ok
    True
    """
    U = [[1, 0, 0, 1], [0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 0, 1], [1, 1, 0, 0], [-1, 0, 1, 0], [0, 1, 0, -1]]
    V = [[1, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, -1], [-1, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1]]
    # c11 = m1 + m4 - m5 + m7, c12 = m3 + m5, c21 = m2 + m4, c22 = m1 - m2 + m3 + m6
    W = [[1, 0, 0, 1], [0, 0, 1, -1], [0, 1, 0, 1], [1, 0, 1, 0], [-1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]]
    return Scheme(matmul(2, 2, 2), U, V, W, "Z", {"provenance": {"engine": "literature", "source": "Strassen 1969"}})


def strassen_winograd() -> Scheme:
    """Winograd's variant of Strassen's algorithm: rank 7, 15 additions with
    shared subexpressions (24 when counted naively).

    Examples
    --------
    >>> from verify import verify_exact
    >>> verify_exact(strassen_winograd()).ok
    True
    """
    # S1 = a21+a22, S2 = S1-a11, S3 = a11-a21, S4 = a12-S2
    # T1 = b12-b11, T2 = b22-T1, T3 = b22-b12, T4 = T2-b21
    # m1 = a11 b11, m2 = a12 b21, m3 = S4 b22, m4 = a22 T4, m5 = S1 T1, m6 = S2 T2, m7 = S3 T3
    U = [[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, -1, -1], [0, 0, 0, 1], [0, 0, 1, 1], [-1, 0, 1, 1], [1, 0, -1, 0]]
    V = [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, -1, -1, 1], [-1, 1, 0, 0], [1, -1, 0, 1], [0, -1, 0, 1]]
    # c11 = m1+m2, c12 = m1+m6+m5+m3, c21 = m1+m6+m7-m4, c22 = m1+m6+m7+m5
    W = [[1, 1, 1, 1], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, -1, 0], [0, 1, 0, 1], [0, 1, 1, 1], [0, 0, 1, 1]]
    return Scheme(matmul(2, 2, 2), U, V, W, "Z",
                  {"provenance": {"engine": "literature", "source": "Winograd 1971 (Strassen-Winograd)"}})
