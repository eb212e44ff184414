"""Paar's greedy elimination for {-1, 0, 1} matrices, compiled with numba.

The same algorithm as :func:`discovery.codegen.cse.eliminate`, specialised to
ternary matrices (the ``W_b`` and ``W_c`` of quantised SPN layers, which have
hundreds of rows and thousands of nonzeros).  With coefficients +-1 every
pattern is ``a + q b`` with ``q = +-1`` and every row keeps coefficients
+-1, so a row is a dense int8 vector, a pattern is one int64 key and the
priority queue holds ``(-count, a, b, q > 0)`` -- exactly the generic
version's order (most frequent, then smallest ``a``, ``b``, then ``q = -1``
before ``q = +1``), so both give the same program.  :func:`paar_ternary` is
``None`` when numba cannot be imported; callers then use the generic code.
"""

from __future__ import annotations

import heapq

import numpy as np

__all__ = ["paar_ternary", "dense_bytes"]


def _paar(matrix):  # pragma: no cover - compiled; tested through eliminate()
    """``(ops, coefficients)`` of Paar's elimination of an int8 {-1, 0, 1} matrix.

    ``ops[k] = (t, a, q, b)`` means ``v[t] = v[a] + q * v[b]``; row ``i`` of
    ``coefficients`` is output ``i`` over the inputs and temporaries.
    :func:`discovery.codegen.cse.eliminate` wraps it (as ``paar_ternary``,
    compiled).
    """
    rows, n_inputs = matrix.shape
    nnz = 0
    for i in range(rows):
        for j in range(n_inputs):
            if matrix[i, j] != 0:
                nnz += 1
    vmax = n_inputs + nnz // 2 + 1  # each temporary removes >= 2 terms: at most nnz // 2 of them
    coeff = np.zeros((rows, vmax), dtype=np.int8)
    members = np.zeros((rows, max(n_inputs, 1)), dtype=np.int64)
    length = np.zeros(rows, dtype=np.int64)
    for i in range(rows):
        for j in range(n_inputs):
            if matrix[i, j] != 0:
                coeff[i, j] = matrix[i, j]
                members[i, length[i]] = j
                length[i] += 1
    counts = dict()
    counts[np.int64(-1)] = np.int64(0)
    del counts[np.int64(-1)]
    heap = [(np.int64(0), np.int64(0), np.int64(0), np.int64(0))]
    heap.pop()

    for i in range(rows):
        for p in range(length[i]):
            x = members[i, p]
            for s in range(p + 1, length[i]):
                y = members[i, s]
                a, b = (x, y) if x < y else (y, x)
                qb = np.int64(1) if coeff[i, x] * coeff[i, y] > 0 else np.int64(0)
                key = (a * vmax + b) * 2 + qb
                c = counts.get(key, np.int64(0)) + 1
                counts[key] = c
                heapq.heappush(heap, (-c, a, b, qb))

    ops = np.zeros((nnz // 2 + 1, 4), dtype=np.int64)
    n_ops = 0
    next_var = n_inputs
    while len(heap) > 0:
        negc, a, b, qb = heapq.heappop(heap)
        key = (a * vmax + b) * 2 + qb
        c = counts.get(key, np.int64(0))
        if c == 0 or -negc != c:
            continue  # stale entry
        if c < 2:
            break
        q = 1 if qb == 1 else -1
        t = next_var
        next_var += 1
        ops[n_ops, 0] = t
        ops[n_ops, 1] = a
        ops[n_ops, 2] = q
        ops[n_ops, 3] = b
        n_ops += 1
        for i in range(rows):
            fa = coeff[i, a]
            if fa == 0 or coeff[i, b] != q * fa:
                continue
            for var in (a, b):  # remove var's pairs, then var itself
                pos = -1
                for p in range(length[i]):
                    y = members[i, p]
                    if y == var:
                        pos = p
                        continue
                    lo, hi = (var, y) if var < y else (y, var)
                    qy = np.int64(1) if coeff[i, var] * coeff[i, y] > 0 else np.int64(0)
                    k = (lo * vmax + hi) * 2 + qy
                    left = counts[k] - 1
                    if left == 0:
                        del counts[k]
                    else:
                        counts[k] = left
                        heapq.heappush(heap, (-left, lo, hi, qy))
                length[i] -= 1
                members[i, pos] = members[i, length[i]]
                coeff[i, var] = 0
            coeff[i, t] = fa
            for p in range(length[i]):  # pairs of the new temporary (t is the largest variable)
                y = members[i, p]
                qy = np.int64(1) if coeff[i, y] * fa > 0 else np.int64(0)
                k = (y * vmax + t) * 2 + qy
                c2 = counts.get(k, np.int64(0)) + 1
                counts[k] = c2
                heapq.heappush(heap, (-c2, y, np.int64(t), qy))
            members[i, length[i]] = t
            length[i] += 1
    return ops[:n_ops], coeff[:, :next_var]


def dense_bytes(rows: int, n_inputs: int, nnz: int) -> int:
    """Bytes of the kernel's dense row table for a matrix of that shape and number of nonzeros."""
    return rows * (n_inputs + nnz // 2 + 1)


try:
    import numba as _numba
except Exception:  # pragma: no cover - numba is a declared dependency
    paar_ternary = None
else:
    paar_ternary = _numba.njit(cache=True)(_paar)
