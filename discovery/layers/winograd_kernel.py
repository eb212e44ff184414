"""Fused CPU kernels for ``WinogradConv2d``, generated from a scheme's exact transforms.

For a ``correlation2d`` scheme F(m1 x m2, r1 x r2) of rank R with input tiles
of a1 x a2 = (m1 + r1 - 1) x (m2 + r2 - 1) <= :data:`MAX_TILE` x
:data:`MAX_TILE`, :func:`kernel_source` writes a C++ kernel specialised to
that scheme: the data transform ``V d`` and the output transform ``W.T M``
become straight-line code over vectors of 16 float32 (or 8 float64)
channels, with the scheme's coefficients as compile-time constants and the
additions shared by common-subexpression elimination
(:func:`discovery.codegen.minimize.minimize`).  A nested scheme (Kronecker
structure, :func:`discovery.winograd.transforms.nest`) gets the separable
form ``B1^T d B2`` / ``A1^T M A2`` (two small programs, row then column);
any other scheme its dense transforms.

The layer runs in one parallel region, one task per (image, row of tiles),
as the hand-written F(4x4,3x3) kernel did before: the row's input is
transposed to channels-last (16 x 16 register transposes in float32),
transformed, multiplied by the cached filter transform ``(R, C, K)`` with a
register-blocked micro-kernel, output-transformed and transposed back, so
that what a task touches stays in the core's L2 cache.

Building: the source is compiled with the system C++ compiler (``$CXX``,
default ``g++``; ``-O3 -march=native -fopenmp``) into a shared library
loaded with :mod:`ctypes` -- no torch headers, so a build takes seconds.
Binaries are cached on disk under :func:`cache_dir` in a folder named by a
hash of the source, the compiler's identity, the CPU's feature flags
(``-march=native`` code is CPU-specific) and the torch version, so a
binary built on one CPU is never loaded on another.  Every failure is a
:class:`KernelError`; :class:`~discovery.layers.conv.WinogradConv2d`
catches it, warns once (:class:`KernelWarning`) and uses its torch path.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from discovery.codegen.cse import Program
from discovery.codegen.minimize import minimize
from discovery.core.errors import BilinearError, InvalidInputError
from discovery.core.problems import Correlation2D
from discovery.core.scheme import Scheme
from discovery.winograd.transforms import Winograd2D, to_transforms

__all__ = ["KernelError", "KernelWarning", "MAX_TILE", "TileTransforms", "FusedKernel", "kernel_source",
           "build", "cache_dir", "compiler", "KERNEL_VERSION"]

#: Largest input tile (rows and columns) the fused kernel is generated for.
MAX_TILE = 8

#: Bumped whenever the generated code changes shape (part of the cache key).
KERNEL_VERSION = 2

_FLAGS = ["-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-std=c++17", "-fno-math-errno"]


class KernelError(BilinearError, RuntimeError):
    """The fused kernel cannot be built, loaded or run here (no compiler, a failed build, ...)."""


class KernelWarning(UserWarning):
    """A layer fell back from the fused kernel to its torch path."""


# ------------------------------------------------------------ transforms
def _exact(mat) -> np.ndarray:
    return np.array(np.asarray(mat, dtype=object).tolist(), dtype=object)


def _kron(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([[x * y for x in ra for y in rb] for ra in a.tolist() for rb in b.tolist()], dtype=object)


@dataclass(frozen=True)
class TileTransforms:
    """The exact data and output transforms a fused kernel is generated from.

    Attributes
    ----------
    m, r : (int, int)
        Output tile and filter sizes; the input tile is ``a = m + r - 1``.
    rank : int
    separable : bool
        ``data = (B1^T, B2^T)`` and ``output = (A1^T, A2^T)`` when set;
        otherwise ``data = (V,)`` (R x a1 a2) and ``output = (W.T,)`` (m1 m2 x R).
    """

    m: tuple
    r: tuple
    rank: int
    separable: bool
    data: tuple
    output: tuple

    @property
    def tile(self) -> tuple:
        return (self.m[0] + self.r[0] - 1, self.m[1] + self.r[1] - 1)

    @classmethod
    def from_scheme(cls, scheme: Scheme) -> "TileTransforms":
        """The transforms of a ``correlation2d`` scheme the kernel accepts.

        Raises
        ------
        InvalidInputError
            For a scheme of another kind or an input tile larger than
            :data:`MAX_TILE` x :data:`MAX_TILE`.

        Examples
        --------
        >>> from discovery.winograd.cooktoom import best_known
        >>> t = TileTransforms.from_scheme(best_known((6, 6), (3, 3)))
        >>> t.tile, t.rank, t.separable
        ((8, 8), 64, True)
        """
        if not isinstance(scheme, Scheme):
            raise InvalidInputError(f"the fused kernel needs a Scheme, got {type(scheme).__name__}")
        p = scheme.problem
        if not isinstance(p, Correlation2D):
            raise InvalidInputError(f"the fused kernel needs a correlation2d scheme, got {p.kind} {p.spec}")
        a1, a2 = p.m[0] + p.r[0] - 1, p.m[1] + p.r[1] - 1
        if a1 > MAX_TILE or a2 > MAX_TILE:
            raise InvalidInputError(
                f"the fused kernel handles input tiles up to {MAX_TILE}x{MAX_TILE}; {p.spec} has {a1}x{a2} "
                "tiles: use backend='torch'")
        try:
            tr = to_transforms(scheme)
        except InvalidInputError:
            tr = None
        if isinstance(tr, Winograd2D):
            bt1, bt2 = _exact(tr.rows.BT), _exact(tr.cols.BT)
            at1, at2 = _exact(tr.rows.AT), _exact(tr.cols.AT)
            if (_kron(bt1, bt2).tolist() == _exact(scheme.V).tolist()
                    and _kron(at1, at2).tolist() == _exact(scheme.W.T).tolist()):
                return cls(tuple(p.m), tuple(p.r), scheme.rank, True, (bt1, bt2), (at1, at2))
        return cls(tuple(p.m), tuple(p.r), scheme.rank, False, (_exact(scheme.V),), (_exact(scheme.W.T),))


# ------------------------------------------------------------ code generation
def _literal(c) -> str:
    c = Fraction(c)
    if c.denominator == 1:
        return f"T({c.numerator})"
    return f"(T({c.numerator}) / T({c.denominator}))"


def _term(coef, name: str) -> tuple[str, str]:
    """(sign, body) of ``coef * name``."""
    c = Fraction(coef)
    sign = "-" if c < 0 else "+"
    mag = -c if c < 0 else c
    return sign, name if mag == 1 else f"{_literal(mag)} * {name}"


def _sum(terms: list[tuple]) -> str:
    if not terms:
        return "V{}"
    parts = []
    for i, (coef, name) in enumerate(sorted(terms, key=lambda t: Fraction(t[0]) < 0)):
        sign, body = _term(coef, name)
        parts.append((f"-{body}" if sign == "-" else body) if i == 0 else f" {sign} {body}")
    return "".join(parts)


def _program(mat: np.ndarray) -> Program:
    # deterministic: the greedy and its transpose, no random restarts
    return minimize(mat, methods=("greedy",), time_limit=10).program


def _emit(program: Program, inputs: list[str], outputs: list[str], prefix: str,
          bias: Optional[str] = None) -> list[str]:
    """Lines computing ``outputs`` (names) from ``inputs`` by ``program`` (plus ``bias`` in each output)."""
    names = list(inputs) + [f"{prefix}{k}" for k in range(len(program.ops))]
    lines = []
    for t, ca, a, cb, b in program.ops:
        lines.append(f"const V {names[t]} = {_sum([(ca, names[a]), (cb, names[b])])};")
    for name, terms in zip(outputs, program.outputs):
        expr = _sum([(c, names[v]) for c, v in terms]) if terms else None
        if bias is not None:
            value = f"{bias} + ({expr})" if expr else bias
        else:
            value = expr or "V{}"
        lines.append(f"const V {name} = {value};")
    return lines


def _data_body(tr: TileTransforms) -> list[str]:
    a1, a2 = tr.tile
    loads = [f"const V d{i}_{j} = ld<T>(xb + ({i} * wt + q * {tr.m[1]} + {j}) * C + c0);"
             for i in range(a1) for j in range(a2)]
    lines = list(loads)
    if tr.separable:
        bt1, bt2 = tr.data
        n1, n2 = bt1.shape[0], bt2.shape[0]
        p2, p1 = _program(bt2), _program(bt1)
        for i in range(a1):  # B2^T along each row: e_i_v
            lines += _emit(p2, [f"d{i}_{j}" for j in range(a2)], [f"e{i}_{v}" for v in range(n2)], f"s{i}_")
        for v in range(n2):  # B1^T down each column: V[u * n2 + v]
            lines += _emit(p1, [f"e{i}_{v}" for i in range(a1)], [f"o{u}_{v}" for u in range(n1)], f"c{v}_")
        outs = [(u * n2 + v, f"o{u}_{v}") for u in range(n1) for v in range(n2)]
    else:
        (vmat,) = tr.data
        p = _program(vmat)
        lines += _emit(p, [f"d{i}_{j}" for i in range(a1) for j in range(a2)],
                       [f"o{r}" for r in range(tr.rank)], "s")
        outs = [(r, f"o{r}") for r in range(tr.rank)]
    lines += [f"st<T>(vb + ({r} * tw + q) * C + c0, {name});" for r, name in outs]
    return lines


def _output_body(tr: TileTransforms) -> list[str]:
    m1, m2 = tr.m
    lines = []
    if tr.separable:
        at1, at2 = tr.output
        n1, n2 = at1.shape[1], at2.shape[1]
        lines += [f"const V M{u}_{v} = ld<T>(mb + ({u * n2 + v} * tw + q) * K + k0);"
                  for u in range(n1) for v in range(n2)]
        p2, p1 = _program(at2), _program(at1)
        for u in range(n1):  # A2^T along each row of M: t_u_mj
            lines += _emit(p2, [f"M{u}_{v}" for v in range(n2)], [f"t{u}_{j}" for j in range(m2)], f"s{u}_")
        for j in range(m2):  # A1^T down each column, plus the bias
            lines += _emit(p1, [f"t{u}_{j}" for u in range(n1)], [f"y{i}_{j}" for i in range(m1)], f"c{j}_",
                           bias="b0")
    else:
        (wt,) = tr.output
        lines += [f"const V M{r} = ld<T>(mb + ({r} * tw + q) * K + k0);" for r in range(tr.rank)]
        lines += _emit(_program(wt), [f"M{r}" for r in range(tr.rank)],
                       [f"y{i}_{j}" for i in range(m1) for j in range(m2)], "s", bias="b0")
    lines += [f"st<T>(yb + ({i} * wo_pad + q * {m2} + {j}) * K + k0, y{i}_{j});"
              for i in range(m1) for j in range(m2)]
    return lines


_TEMPLATE = r"""
// Generated by bilinear-discovery (discovery.layers.winograd_kernel, version @VERSION@):
// fused Winograd convolution for @SPEC@, rank @RANK@, @FORM@ transforms.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>
#include <omp.h>

namespace {
constexpr int A1 = @A1@, A2 = @A2@, M1 = @M1@, M2 = @M2@, R = @RANK@;

typedef float vf __attribute__((vector_size(64)));
typedef float vfu __attribute__((vector_size(64), aligned(4)));
typedef double vd __attribute__((vector_size(64)));
typedef double vdu __attribute__((vector_size(64), aligned(8)));
template <typename T> struct Lanes;
template <> struct Lanes<float> { typedef vf V; typedef vfu U; static constexpr int L = 16; };
template <> struct Lanes<double> { typedef vd V; typedef vdu U; static constexpr int L = 8; };

template <typename T> static inline typename Lanes<T>::V ld(const T* p) {
  return *reinterpret_cast<const typename Lanes<T>::U*>(p);
}
template <typename T> static inline void st(T* p, typename Lanes<T>::V v) {
  *reinterpret_cast<typename Lanes<T>::U*>(p) = v;
}

typedef int v16i __attribute__((vector_size(64)));
#if defined(__clang__)
#define SHUF(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUF(a, b, ...) __builtin_shuffle(a, b, v16i{__VA_ARGS__})
#endif

// r[i][l] <- r[l][i] for 16 x 16 floats: swap off-diagonal blocks of 8, 4, 2, 1
static inline void transpose16(vf* r) {
  for (int i = 0; i < 16; ++i) if (!(i & 8)) {
    const vf a = r[i], b = r[i + 8];
    r[i] = SHUF(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    r[i + 8] = SHUF(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  }
  for (int i = 0; i < 16; ++i) if (!(i & 4)) {
    const vf a = r[i], b = r[i + 4];
    r[i] = SHUF(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    r[i + 4] = SHUF(a, b, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
  }
  for (int i = 0; i < 16; ++i) if (!(i & 2)) {
    const vf a = r[i], b = r[i + 2];
    r[i] = SHUF(a, b, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
    r[i + 2] = SHUF(a, b, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
  }
  for (int i = 0; i < 16; ++i) if (!(i & 1)) {
    const vf a = r[i], b = r[i + 1];
    r[i] = SHUF(a, b, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    r[i + 1] = SHUF(a, b, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  }
}

// the A1 input rows of row ti of tiles, channels last, zero padded: xb[i][w][c]
static void gather_rows(const float* xin, float* xb, int64_t C, int64_t H, int64_t W,
                        int64_t ti, int64_t top, int64_t left, int64_t wt) {
  for (int64_t i = 0; i < A1; ++i) {
    const int64_t row = ti * M1 + i - top;
    float* dst = xb + i * wt * C;
    if (row < 0 || row >= H) { std::fill(dst, dst + wt * C, 0.f); continue; }
    for (int64_t c0 = 0; c0 < C; c0 += 16)
      for (int64_t w0 = 0; w0 < wt; w0 += 16) {
        vf r[16];
        const int64_t col0 = w0 - left;
        const float* s = xin + (c0 * H + row) * W + col0;
        if (col0 >= 0 && col0 + 16 <= W) {
          for (int cc = 0; cc < 16; ++cc) r[cc] = ld<float>(s + cc * H * W);
        } else {
          const int64_t j0 = std::max<int64_t>(0, -col0), j1 = std::min<int64_t>(16, W - col0);
          for (int cc = 0; cc < 16; ++cc) {
            float tmp[16] = {};
            for (int64_t j = j0; j < j1; ++j) tmp[j] = s[cc * H * W + j];
            r[cc] = ld<float>(tmp);
          }
        }
        transpose16(r);
        const int64_t jn = std::min<int64_t>(16, wt - w0);
        for (int64_t j = 0; j < jn; ++j) st<float>(dst + (w0 + j) * C + c0, r[j]);
      }
  }
}

static void gather_rows(const double* xin, double* xb, int64_t C, int64_t H, int64_t W,
                        int64_t ti, int64_t top, int64_t left, int64_t wt) {
  for (int64_t i = 0; i < A1; ++i) {
    const int64_t row = ti * M1 + i - top;
    double* dst = xb + i * wt * C;
    for (int64_t w = 0; w < wt; ++w) {
      const int64_t col = w - left;
      const bool inside = row >= 0 && row < H && col >= 0 && col < W;
      for (int64_t c = 0; c < C; ++c) dst[w * C + c] = inside ? xin[(c * H + row) * W + col] : 0.0;
    }
  }
}

// channels-last output rows back to (K, Ho, Wo)
static void scatter_rows(const float* yb, float* yout, int64_t K, int64_t Ho, int64_t Wo,
                         int64_t ti, int64_t wo_pad) {
  for (int64_t mi = 0; mi < M1; ++mi) {
    const int64_t row = ti * M1 + mi;
    if (row >= Ho) break;
    for (int64_t k0 = 0; k0 < K; k0 += 16)
      for (int64_t col0 = 0; col0 < Wo; col0 += 16) {
        vf r[16];
        for (int j = 0; j < 16; ++j) r[j] = ld<float>(yb + (mi * wo_pad + col0 + j) * K + k0);
        transpose16(r);
        float* o = yout + (k0 * Ho + row) * Wo + col0;
        if (col0 + 16 <= Wo) {
          for (int kk = 0; kk < 16; ++kk) st<float>(o + kk * Ho * Wo, r[kk]);
        } else {
          for (int kk = 0; kk < 16; ++kk) {
            float tmp[16];
            st<float>(tmp, r[kk]);
            for (int64_t j = 0; j < Wo - col0; ++j) o[kk * Ho * Wo + j] = tmp[j];
          }
        }
      }
  }
}

static void scatter_rows(const double* yb, double* yout, int64_t K, int64_t Ho, int64_t Wo,
                         int64_t ti, int64_t wo_pad) {
  for (int64_t mi = 0; mi < M1; ++mi) {
    const int64_t row = ti * M1 + mi;
    if (row >= Ho) break;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t col = 0; col < Wo; ++col) yout[(k * Ho + row) * Wo + col] = yb[(mi * wo_pad + col) * K + k];
  }
}

// data transform of a row of tiles, L channels per vector: V[r][q][c]
template <typename T>
static void data_row(const T* xb, T* vb, int64_t C, int64_t tw, int64_t wt) {
  typedef typename Lanes<T>::V V;
  for (int64_t q = 0; q < tw; ++q)
    for (int64_t c0 = 0; c0 < C; c0 += Lanes<T>::L) {
@DATA@
    }
}

// output transform of a row of tiles, L output channels per vector, plus bias: yb[mi][col][k]
template <typename T>
static void output_row(const T* mb, T* yb, const T* bias, int64_t K, int64_t tw, int64_t wo_pad) {
  typedef typename Lanes<T>::V V;
  for (int64_t q = 0; q < tw; ++q)
    for (int64_t k0 = 0; k0 < K; k0 += Lanes<T>::L) {
      const V b0 = bias ? ld<T>(bias + k0) : V{};
@OUTPUT@
    }
}

// the R channel products M[r][q][k] = sum_c V[r][q][c] G[r][c][k], register-blocked
template <typename T, int TT, int NK>
static inline void micro(const T* Vp, const T* G, T* M, int64_t C, int64_t K) {
  typedef typename Lanes<T>::V V;
  constexpr int L = Lanes<T>::L;
  V acc[TT][NK];
  for (int t = 0; t < TT; ++t) for (int j = 0; j < NK; ++j) acc[t][j] = V{};
  for (int64_t c = 0; c < C; ++c) {
    V g[NK];
    for (int j = 0; j < NK; ++j) g[j] = ld<T>(G + c * K + L * j);
    for (int t = 0; t < TT; ++t) {
      const T s = Vp[t * C + c];
      for (int j = 0; j < NK; ++j) acc[t][j] += s * g[j];
    }
  }
  for (int t = 0; t < TT; ++t) for (int j = 0; j < NK; ++j) st<T>(M + t * K + L * j, acc[t][j]);
}

template <typename T, int NK>
static inline void micro_rows(const T* Vp, const T* G, T* M, int64_t tiles, int64_t C, int64_t K) {
  constexpr int TT = NK == 4 ? 7 : (NK == 2 ? 12 : 14);
  int64_t t = 0;
  for (; t + TT <= tiles; t += TT) micro<T, TT, NK>(Vp + t * C, G, M + t * K, C, K);
  for (; t < tiles; ++t) micro<T, 1, NK>(Vp + t * C, G, M + t * K, C, K);
}

template <typename T>
static void products(const T* vb, const T* g, T* mb, int64_t C, int64_t K, int64_t tw) {
  constexpr int L = Lanes<T>::L;
  for (int64_t r = 0; r < R; ++r) {
    const T* Vp = vb + r * tw * C;
    const T* G = g + r * C * K;
    T* M = mb + r * tw * K;
    int64_t k0 = 0;
    for (; k0 + 4 * L <= K; k0 += 4 * L) micro_rows<T, 4>(Vp, G + k0, M + k0, tw, C, K);
    for (; k0 + 2 * L <= K; k0 += 2 * L) micro_rows<T, 2>(Vp, G + k0, M + k0, tw, C, K);
    for (; k0 < K; k0 += L) micro_rows<T, 1>(Vp, G + k0, M + k0, tw, C, K);
  }
}

template <typename T>
static void forward(const T* x, const T* g, const T* bias, T* y, int64_t N, int64_t C, int64_t H, int64_t W,
                    int64_t K, int64_t Ho, int64_t Wo, int64_t top, int64_t left, int64_t th, int64_t tw,
                    int threads) {
  const int64_t wt = (tw - 1) * M2 + A2, wo_pad = (tw * M2 + 15) / 16 * 16;
  #pragma omp parallel num_threads(threads)
  {
    std::vector<T> xb(A1 * (wt + 16) * C), vb(R * tw * C), mb(R * tw * K), yb(M1 * (wo_pad + 16) * K);
    #pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < N * th; ++task) {
      const int64_t n = task / th, ti = task % th;
      gather_rows(x + n * C * H * W, xb.data(), C, H, W, ti, top, left, wt);
      data_row<T>(xb.data(), vb.data(), C, tw, wt);
      products<T>(vb.data(), g, mb.data(), C, K, tw);
      output_row<T>(mb.data(), yb.data(), bias, K, tw, wo_pad);
      scatter_rows(yb.data(), y + n * K * Ho * Wo, K, Ho, Wo, ti, wo_pad);
    }
  }
}
}  // namespace

extern "C" {
int bilinear_kernel_version() { return @VERSION@; }
int bilinear_kernel_shape(int* out) { out[0] = A1; out[1] = A2; out[2] = M1; out[3] = M2; out[4] = R; return 0; }
void bilinear_forward_f32(const float* x, const float* g, const float* bias, float* y, int64_t N, int64_t C,
                          int64_t H, int64_t W, int64_t K, int64_t Ho, int64_t Wo, int64_t top, int64_t left,
                          int64_t th, int64_t tw, int threads) {
  forward<float>(x, g, bias, y, N, C, H, W, K, Ho, Wo, top, left, th, tw, threads);
}
void bilinear_forward_f64(const double* x, const double* g, const double* bias, double* y, int64_t N,
                          int64_t C, int64_t H, int64_t W, int64_t K, int64_t Ho, int64_t Wo, int64_t top,
                          int64_t left, int64_t th, int64_t tw, int threads) {
  forward<double>(x, g, bias, y, N, C, H, W, K, Ho, Wo, top, left, th, tw, threads);
}
}
"""


def kernel_source(transforms: TileTransforms) -> str:
    """The C++ source of the fused kernel for these transforms (deterministic).

    Examples
    --------
    >>> from discovery.winograd.cooktoom import best_known
    >>> src = kernel_source(TileTransforms.from_scheme(best_known((4, 4), (3, 3))))
    >>> "constexpr int A1 = 6, A2 = 6, M1 = 4, M2 = 4, R = 36;" in src
    True
    """
    tr = transforms
    indent = " " * 6
    spec = f"F({tr.m[0]}x{tr.m[1]},{tr.r[0]}x{tr.r[1]})"
    values = {
        "@VERSION@": str(KERNEL_VERSION), "@SPEC@": spec, "@RANK@": str(tr.rank),
        "@FORM@": "separable" if tr.separable else "dense",
        "@A1@": str(tr.tile[0]), "@A2@": str(tr.tile[1]), "@M1@": str(tr.m[0]), "@M2@": str(tr.m[1]),
        "@DATA@": "\n".join(indent + line for line in _data_body(tr)),
        "@OUTPUT@": "\n".join(indent + line for line in _output_body(tr)),
    }
    src = _TEMPLATE
    for key, value in values.items():
        src = src.replace(key, value)
    return src


# ---------------------------------------------------------------- building
def compiler() -> Optional[str]:
    """The C++ compiler used (``$CXX``, default ``g++``), or None when there is none."""
    name = os.environ.get("CXX", "g++")
    return shutil.which(name)


def cache_dir() -> Path:
    """``$BILINEAR_KERNEL_CACHE``, else ``~/.cache/bilinear-discovery/kernels``."""
    env = os.environ.get("BILINEAR_KERNEL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "bilinear-discovery" / "kernels"


def _cpu_identity() -> str:
    """The CPU's feature flags and model (what ``-march=native`` code depends on)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.machine() + platform.processor()
    flags = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("flags")), "")
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "")
    return f"{platform.machine()}|{model}|{' '.join(sorted(flags.split()))}"


_compiler_ids: dict = {}


def _compiler_identity(cxx: str) -> str:
    if cxx not in _compiler_ids:
        try:
            out = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            raise KernelError(f"the C++ compiler {cxx!r} does not run: {exc}") from None
        if out.returncode != 0:
            raise KernelError(f"the C++ compiler {cxx!r} does not run ({out.stderr.strip()[:200]})")
        _compiler_ids[cxx] = out.stdout.splitlines()[0] if out.stdout else cxx
    return _compiler_ids[cxx]


def _key(source: str, cxx: str) -> str:
    payload = "\n".join([source, cxx, _compiler_identity(cxx), " ".join(_FLAGS), _cpu_identity(),
                         torch.__version__, str(KERNEL_VERSION)])
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


class FusedKernel:
    """A compiled fused kernel for one scheme's transforms.

    Call :meth:`forward`; build with :func:`build`.
    """

    def __init__(self, transforms: TileTransforms, path: Path):
        self.transforms = transforms
        self.path = path
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as exc:
            raise KernelError(f"cannot load the fused kernel {path}: {exc}") from None
        shape = (ctypes.c_int * 5)()
        lib.bilinear_kernel_shape(shape)
        a1, a2 = transforms.tile
        if (lib.bilinear_kernel_version() != KERNEL_VERSION
                or list(shape) != [a1, a2, transforms.m[0], transforms.m[1], transforms.rank]):
            raise KernelError(f"the cached kernel {path} does not match its scheme; delete {path.parent}")
        args = [ctypes.c_void_p] * 4 + [ctypes.c_int64] * 11 + [ctypes.c_int]
        for fn in (lib.bilinear_forward_f32, lib.bilinear_forward_f64):
            fn.argtypes = args
            fn.restype = None
        self._lib = lib

    def __reduce__(self):  # copies and pickles rebuild from the cache (a ctypes library cannot be pickled)
        return (build, (self.transforms,))

    def forward(self, x: torch.Tensor, g: torch.Tensor, bias: Optional[torch.Tensor], out: torch.Tensor,
                top: int, left: int, th: int, tw: int) -> torch.Tensor:
        """The layer into ``out`` ``(N, K, Ho, Wo)``.

        ``x`` is ``(N, C, H, W)``; ``g`` the filter transform ``(R, C, K)``;
        ``top``/``left`` the padding; ``th``/``tw`` the tile rows/columns.
        float32 or float64, CPU, contiguous (channel counts are padded to
        the vector width here when they do not divide it).

        Raises
        ------
        KernelError
            For tensors the kernel cannot take (dtype, device, shapes).
        """
        if x.dtype not in (torch.float32, torch.float64) or x.device.type != "cpu":
            raise KernelError(f"the fused kernel runs float32/float64 on the CPU, got {x.dtype} on {x.device}")
        if not (g.dtype == out.dtype == x.dtype and (bias is None or bias.dtype == x.dtype)):
            raise KernelError("the fused kernel needs x, g, bias and out of one dtype")
        n, c, h, w = x.shape
        k, ho, wo = out.shape[1], out.shape[2], out.shape[3]
        if g.shape != (self.transforms.rank, c, k) or out.shape[0] != n:
            raise KernelError(f"the fused kernel got g {tuple(g.shape)} and out {tuple(out.shape)} for x "
                              f"{tuple(x.shape)}: expected g ({self.transforms.rank}, {c}, K)")
        lanes = 16 if x.dtype == torch.float32 else 8
        cp, kp = -(-c // lanes) * lanes, -(-k // lanes) * lanes
        x = x.contiguous()
        if cp != c:
            x = torch.nn.functional.pad(x, [0, 0, 0, 0, 0, cp - c])
        gp = g.contiguous()
        if (cp, kp) != (c, k):
            gp = torch.nn.functional.pad(gp, [0, kp - k, 0, cp - c])
        bp = None if bias is None else bias.contiguous()
        if bp is not None and kp != k:
            bp = torch.nn.functional.pad(bp, [0, kp - k])
        target = out if (kp == k and out.is_contiguous()) else torch.empty((n, kp, ho, wo), dtype=x.dtype)
        fn = self._lib.bilinear_forward_f32 if x.dtype == torch.float32 else self._lib.bilinear_forward_f64
        fn(x.data_ptr(), gp.data_ptr(), None if bp is None else bp.data_ptr(), target.data_ptr(),
           n, cp, h, w, kp, ho, wo, top, left, th, tw, torch.get_num_threads())
        if target is not out:
            out.copy_(target[:, :k])
        return out


_lock = threading.Lock()
_kernels: dict = {}


def build(transforms: TileTransforms) -> FusedKernel:
    """The compiled kernel for ``transforms`` (built on first use, then cached on disk and in memory).

    Raises
    ------
    KernelError
        No compiler, a failed build, a binary that does not load.  Nothing
        is remembered about a failure: the next call tries again.
    """
    if not isinstance(transforms, TileTransforms):
        raise InvalidInputError(f"build needs TileTransforms, got {type(transforms).__name__}")
    source = kernel_source(transforms)
    cxx = compiler()
    if cxx is None:
        raise KernelError(f"no C++ compiler ({os.environ.get('CXX', 'g++')!r} not found; set CXX)")
    with _lock:
        key = _key(source, cxx)
        if key in _kernels:
            return _kernels[key]
        folder = cache_dir() / key
        lib = folder / "kernel.so"
        if not lib.is_file():
            _compile(source, cxx, folder, lib)
        kernel = FusedKernel(transforms, lib)
        _kernels[key] = kernel
        return kernel


def _compile(source: str, cxx: str, folder: Path, lib: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KernelError(f"cannot create the kernel cache {folder}: {exc}") from None
    (folder / "kernel.cpp").write_text(source)
    fd, tmp = tempfile.mkstemp(prefix=".kernel.", suffix=".so", dir=folder)
    os.close(fd)
    try:
        try:
            res = subprocess.run([cxx, *_FLAGS, "-o", tmp, str(folder / "kernel.cpp")], capture_output=True,
                                 text=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            raise KernelError(f"the C++ compiler {cxx!r} failed to run: {exc}") from None
        if res.returncode != 0:
            first = (res.stderr.strip().splitlines() or ["(no message)"])[0]
            raise KernelError(f"building the fused kernel failed ({cxx}): {first[:300]}")
        os.replace(tmp, lib)  # atomic: concurrent builders never see a partial library
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
