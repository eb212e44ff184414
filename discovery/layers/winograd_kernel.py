"""Fused CPU kernels for the data and output transforms of ``WinogradConv2d``.

The transforms of a Winograd convolution are memory-bound: done as separate
torch operations (pad, unfold, permute, small matrix products) they read and
write the tiles many times.  These two C++ kernels do each transform in one
pass over cache-resident rows of tiles:

* :func:`data_transform` reads the input ``(N, C, H, W)`` once (padding
  handled by bounds checks) and writes ``D`` of shape ``(R, C, P)``, with
  ``P = N * tiles_h * tiles_w``, the separable ``B1^T d B2`` of every tile;
* :func:`output_transform` reads ``M = G~ @ D`` of shape ``(R, K, P)`` once
  and writes the cropped output ``(N, K, Ho, Wo)`` plus bias, ``A1^T M A2``.

The channel sums in between are one ``torch.bmm``.

For float32 with channel counts divisible by 16 and 6x6 (F(4x4, 3x3)) or
4x4 (F(2x2, 3x3)) tiles, :func:`winograd_fused` does the whole layer in one
parallel region instead, one task per (image, row of tiles): the row's input
is transposed to channels-last (16x16 register transposes), transformed with
16 channels per vector, multiplied by the cached filters ``(R, C, K)`` with a
register-blocked 7x64 micro-kernel, output-transformed and transposed back,
so that everything a task touches stays in the core's L2 cache.  Other
cases use :func:`winograd_forward` or the separate transforms.

The kernels are compiled on first use with
:func:`torch.utils.cpp_extension.load_inline` (needs a C++ compiler; cached
by torch between runs), so they are opt-in:
``WinogradConv2d(..., backend="cpp")``.
"""

import threading

import torch

__all__ = ["load", "available", "data_transform", "output_transform", "winograd_forward", "winograd_fused"]

_SOURCE = r"""
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

template <typename T>
static void data_kernel(const T* x, T* d, const T* bt1, const T* bt2,
                        int64_t N, int64_t C, int64_t H, int64_t W,
                        int64_t n1, int64_t a1, int64_t m1, int64_t n2, int64_t a2, int64_t m2,
                        int64_t top, int64_t left, int64_t th, int64_t tw) {
  const int64_t P = N * th * tw, S = th * tw;
  const int64_t wt = (tw - 1) * m2 + a2;
  // one channel per task, images in order: each of the R output streams
  // D[r, c, :] is written sequentially, one image (th * tw tiles) at a time
  at::parallel_for(0, C, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> rows(a1 * wt), tmp(n1 * wt), cols(n1 * a2 * S);
    for (int64_t c = begin; c < end; ++c)
    for (int64_t nb = 0; nb < N; ++nb) {
      const T* xin = x + (nb * C + c) * H * W;
      for (int64_t ti = 0; ti < th; ++ti) {
        for (int64_t i = 0; i < a1; ++i) {
          const int64_t y = ti * m1 + i - top;
          T* row = rows.data() + i * wt;
          if (y < 0 || y >= H) { for (int64_t w = 0; w < wt; ++w) row[w] = 0; continue; }
          const T* src = xin + y * W - left;  // row[w] = x[y, w - left] inside the image
          const int64_t w0 = std::min(std::max<int64_t>(left, 0), wt);
          const int64_t w1 = std::max(std::min<int64_t>(W + left, wt), w0);
          for (int64_t w = 0; w < w0; ++w) row[w] = 0;
          for (int64_t w = w0; w < w1; ++w) row[w] = src[w];
          for (int64_t w = w1; w < wt; ++w) row[w] = 0;
        }
        for (int64_t u = 0; u < n1; ++u) {  // B1^T along the rows
          T* t = tmp.data() + u * wt;
          for (int64_t w = 0; w < wt; ++w) t[w] = 0;
          for (int64_t i = 0; i < a1; ++i) {
            const T b = bt1[u * a1 + i];
            if (b == T(0)) continue;
            const T* row = rows.data() + i * wt;
            for (int64_t w = 0; w < wt; ++w) t[w] += b * row[w];
          }
          for (int64_t j = 0; j < a2; ++j) {  // de-interleave the tiles' columns
            T* col = cols.data() + (u * a2 + j) * S + ti * tw;
            for (int64_t q = 0; q < tw; ++q) col[q] = t[q * m2 + j];
          }
        }
      }
      for (int64_t u = 0; u < n1; ++u) {  // B2 along the columns, all tiles of the image
        for (int64_t v = 0; v < n2; ++v) {
          T* out = d + ((u * n2 + v) * C + c) * P + nb * S;
          bool first = true;
          for (int64_t j = 0; j < a2; ++j) {
            const T b = bt2[v * a2 + j];
            if (b == T(0)) continue;
            const T* col = cols.data() + (u * a2 + j) * S;
            if (first) { for (int64_t q = 0; q < S; ++q) out[q] = b * col[q]; first = false; }
            else { for (int64_t q = 0; q < S; ++q) out[q] += b * col[q]; }
          }
          if (first) for (int64_t q = 0; q < S; ++q) out[q] = 0;
        }
      }
    }
  });
}

template <typename T>
static void output_kernel(const T* mm, T* y, const T* at1, const T* at2, const T* bias,
                          int64_t N, int64_t K, int64_t Ho, int64_t Wo,
                          int64_t n1, int64_t m1, int64_t n2, int64_t m2, int64_t th, int64_t tw) {
  const int64_t P = N * th * tw, S = th * tw;
  // one output channel per task, images in order: each of the R input
  // streams M[r, k, :] is read sequentially
  at::parallel_for(0, K, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> tmp(n1 * m2 * S), acc(S);
    for (int64_t k = begin; k < end; ++k)
    for (int64_t nb = 0; nb < N; ++nb) {
      const T b0 = bias ? bias[k] : T(0);
      T* yout = y + (nb * K + k) * Ho * Wo;
      for (int64_t u = 0; u < n1; ++u) {  // A2 along the columns
        for (int64_t mj = 0; mj < m2; ++mj) {
          T* t = tmp.data() + (u * m2 + mj) * S;
          for (int64_t q = 0; q < S; ++q) t[q] = 0;
          for (int64_t v = 0; v < n2; ++v) {
            const T a = at2[mj * n2 + v];
            if (a == T(0)) continue;
            const T* src = mm + ((u * n2 + v) * K + k) * P + nb * S;
            for (int64_t q = 0; q < S; ++q) t[q] += a * src[q];
          }
        }
      }
      for (int64_t mi = 0; mi < m1; ++mi) {  // A1^T along the rows, then scatter
        for (int64_t mj = 0; mj < m2; ++mj) {
          for (int64_t q = 0; q < S; ++q) acc[q] = b0;
          for (int64_t u = 0; u < n1; ++u) {
            const T a = at1[mi * n1 + u];
            if (a == T(0)) continue;
            const T* t = tmp.data() + (u * m2 + mj) * S;
            for (int64_t q = 0; q < S; ++q) acc[q] += a * t[q];
          }
          for (int64_t ti = 0; ti < th; ++ti) {
            const int64_t row = ti * m1 + mi;
            if (row >= Ho) break;
            T* dst = yout + row * Wo + mj;
            const T* src = acc.data() + ti * tw;
            const int64_t qmax = (Wo - mj + m2 - 1) / m2;
            for (int64_t q = 0; q < qmax && q < tw; ++q) dst[q * m2] = src[q];
          }
        }
      }
    }
  });
}

void data_transform(torch::Tensor x, torch::Tensor bt1, torch::Tensor bt2, int64_t m1, int64_t m2,
                    int64_t top, int64_t left, int64_t th, int64_t tw, torch::Tensor d) {
  TORCH_CHECK(x.is_contiguous() && d.is_contiguous() && bt1.is_contiguous() && bt2.is_contiguous(),
              "data_transform needs contiguous tensors");
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t n1 = bt1.size(0), a1 = bt1.size(1), n2 = bt2.size(0), a2 = bt2.size(1);
  TORCH_CHECK(d.size(0) == n1 * n2 && d.size(1) == C && d.size(2) == N * th * tw, "data_transform: bad D shape");
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "data_transform", [&] {
    data_kernel<scalar_t>(x.data_ptr<scalar_t>(), d.data_ptr<scalar_t>(), bt1.data_ptr<scalar_t>(),
                          bt2.data_ptr<scalar_t>(), N, C, H, W, n1, a1, m1, n2, a2, m2, top, left, th, tw);
  });
}

void output_transform(torch::Tensor mm, torch::Tensor at1, torch::Tensor at2,
                      c10::optional<torch::Tensor> bias, torch::Tensor y, int64_t th, int64_t tw) {
  TORCH_CHECK(mm.is_contiguous() && y.is_contiguous() && at1.is_contiguous() && at2.is_contiguous(),
              "output_transform needs contiguous tensors");
  const int64_t N = y.size(0), K = y.size(1), Ho = y.size(2), Wo = y.size(3);
  const int64_t m1 = at1.size(0), n1 = at1.size(1), m2 = at2.size(0), n2 = at2.size(1);
  TORCH_CHECK(mm.size(0) == n1 * n2 && mm.size(1) == K && mm.size(2) == N * th * tw, "output_transform: bad M shape");
  torch::Tensor b;
  if (bias.has_value()) b = bias->contiguous();
  AT_DISPATCH_FLOATING_TYPES(mm.scalar_type(), "output_transform", [&] {
    output_kernel<scalar_t>(mm.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), at1.data_ptr<scalar_t>(),
                            at2.data_ptr<scalar_t>(), b.defined() ? b.data_ptr<scalar_t>() : nullptr,
                            N, K, Ho, Wo, n1, m1, n2, m2, th, tw);
  });
}

// The whole layer, images in parallel: each thread transforms its image,
// multiplies (single-threaded bmm inside the parallel region) and writes
// the output, so D and M of one image stay in that core's cache and there is
// one parallel region per call.
void winograd_forward(torch::Tensor x, torch::Tensor g, torch::Tensor bt1, torch::Tensor bt2,
                      torch::Tensor at1, torch::Tensor at2, c10::optional<torch::Tensor> bias,
                      torch::Tensor y, int64_t top, int64_t left, int64_t th, int64_t tw) {
  TORCH_CHECK(x.is_contiguous() && y.is_contiguous() && bt1.is_contiguous() && bt2.is_contiguous()
              && at1.is_contiguous() && at2.is_contiguous(), "winograd_forward needs contiguous tensors");
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t K = y.size(1), Ho = y.size(2), Wo = y.size(3);
  const int64_t n1 = bt1.size(0), a1 = bt1.size(1), n2 = bt2.size(0), a2 = bt2.size(1);
  const int64_t m1 = at1.size(0), m2 = at2.size(0);
  const int64_t R = n1 * n2, S = th * tw;
  TORCH_CHECK(g.size(0) == R && g.size(1) == K && g.size(2) == C, "winograd_forward: bad G~ shape");
  torch::Tensor b;
  if (bias.has_value()) b = bias->contiguous();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "winograd_forward", [&] {
    at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
      auto d = torch::empty({R, C, S}, x.options());
      auto mm = torch::empty({R, K, S}, x.options());
      for (int64_t n = begin; n < end; ++n) {
        data_kernel<scalar_t>(x.data_ptr<scalar_t>() + n * C * H * W, d.data_ptr<scalar_t>(),
                              bt1.data_ptr<scalar_t>(), bt2.data_ptr<scalar_t>(), 1, C, H, W,
                              n1, a1, m1, n2, a2, m2, top, left, th, tw);
        at::bmm_out(mm, g, d);
        output_kernel<scalar_t>(mm.data_ptr<scalar_t>(), y.data_ptr<scalar_t>() + n * K * Ho * Wo,
                                at1.data_ptr<scalar_t>(), at2.data_ptr<scalar_t>(),
                                b.defined() ? b.data_ptr<scalar_t>() : nullptr,
                                1, K, Ho, Wo, n1, m1, n2, m2, th, tw);
      }
    });
  });
}

// ---------------------------------------------------------------- fused float32 path
// One task per (image, row of tiles): the row's input is transposed to
// channels-last in a small buffer, transformed with the channels as vector
// lanes into V[R][tiles][C], multiplied by the cached filters G[R][C][K] with a
// register-blocked micro-kernel into M[R][tiles][K], output-transformed into a
// channels-last row buffer and transposed into y.  Everything a task touches
// (about 0.4 MB plus G) stays in the core's L2 cache.
#define NOINL __attribute__((noinline))  // keeps the stages apart in profiles
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

static inline v16 ld(const float* p) { return *reinterpret_cast<const v16u*>(p); }
static inline void st(float* p, v16 v) { *reinterpret_cast<v16u*>(p) = v; }
static inline v16 splat(float s) { return v16{s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s}; }

typedef int v16i __attribute__((vector_size(64)));
#if defined(__clang__)
#define SHUF(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUF(a, b, ...) __builtin_shuffle(a, b, v16i{__VA_ARGS__})
#endif

// r[i][l] <- r[l][i]: swap off-diagonal blocks of 8, 4, 2, 1
static inline void transpose16(v16* r) {
  for (int i = 0; i < 16; ++i) if (!(i & 8)) {
    const v16 a = r[i], b = r[i + 8];
    r[i] = SHUF(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    r[i + 8] = SHUF(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  }
  for (int i = 0; i < 16; ++i) if (!(i & 4)) {
    const v16 a = r[i], b = r[i + 4];
    r[i] = SHUF(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    r[i + 4] = SHUF(a, b, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
  }
  for (int i = 0; i < 16; ++i) if (!(i & 2)) {
    const v16 a = r[i], b = r[i + 2];
    r[i] = SHUF(a, b, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
    r[i + 2] = SHUF(a, b, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
  }
  for (int i = 0; i < 16; ++i) if (!(i & 1)) {
    const v16 a = r[i], b = r[i + 1];
    r[i] = SHUF(a, b, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
    r[i + 1] = SHUF(a, b, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
  }
}

template <int TT, int NK>
static inline void micro(const float* V, const float* G, float* M, int64_t C, int64_t K) {
  v16 acc[TT][NK];
  for (int t = 0; t < TT; ++t) for (int j = 0; j < NK; ++j) acc[t][j] = v16{};
  for (int64_t c = 0; c < C; ++c) {
    v16 g[NK];
    for (int j = 0; j < NK; ++j) g[j] = ld(G + c * K + 16 * j);
    for (int t = 0; t < TT; ++t) {
      const v16 b = splat(V[t * C + c]);
      for (int j = 0; j < NK; ++j) acc[t][j] += b * g[j];
    }
  }
  for (int t = 0; t < TT; ++t) for (int j = 0; j < NK; ++j) st(M + t * K + 16 * j, acc[t][j]);
}

template <int NK>
static inline void micro_rows(const float* V, const float* G, float* M, int64_t tiles, int64_t C, int64_t K) {
  constexpr int TT = NK == 4 ? 7 : (NK == 2 ? 12 : 14);
  int64_t t = 0;
  for (; t + TT <= tiles; t += TT) micro<TT, NK>(V + t * C, G, M + t * K, C, K);
  for (; t < tiles; ++t) micro<1, NK>(V + t * C, G, M + t * K, C, K);
}

// the NA input rows of row ti of tiles, channels last, zero padded: xb[i][w][c]
template <int NA, int MO>
NOINL static void gather_rows(const float* xin, float* xb, int64_t C, int64_t H, int64_t W,
                              int64_t ti, int64_t top, int64_t left, int64_t wt) {
  for (int64_t i = 0; i < NA; ++i) {
    const int64_t row = ti * MO + i - top;
    float* dst = xb + i * wt * C;
    if (row < 0 || row >= H) { std::fill(dst, dst + wt * C, 0.f); continue; }
    for (int64_t c0 = 0; c0 < C; c0 += 16)
      for (int64_t w0 = 0; w0 < wt; w0 += 16) {
        v16 r[16];
        const int64_t col0 = w0 - left;
        const float* s = xin + (c0 * H + row) * W + col0;
        if (col0 >= 0 && col0 + 16 <= W) {
          for (int cc = 0; cc < 16; ++cc) r[cc] = ld(s + cc * H * W);
        } else {
          const int64_t j0 = std::max<int64_t>(0, -col0), j1 = std::min<int64_t>(16, W - col0);
          for (int cc = 0; cc < 16; ++cc) {
#ifdef __AVX512F__
            const __mmask16 m = j1 > j0 ? static_cast<__mmask16>(((1u << j1) - 1) & ~((1u << j0) - 1)) : 0;
            r[cc] = (v16)_mm512_maskz_loadu_ps(m, s + cc * H * W);
#else
            float tmp[16] = {};
            for (int64_t j = j0; j < j1; ++j) tmp[j] = s[cc * H * W + j];
            r[cc] = ld(tmp);
#endif
          }
        }
        transpose16(r);
        const int64_t jn = std::min<int64_t>(16, wt - w0);
        for (int64_t j = 0; j < jn; ++j) st(dst + (w0 + j) * C + c0, r[j]);
      }
  }
}

// data transform of a row of tiles, 16 channels per vector: V[r][q][c]
template <int NA, int MO>
NOINL static void data_row(const float* xb, float* vb, const float* bt1, const float* bt2,
                           int64_t C, int64_t tw, int64_t wt) {
  for (int64_t q = 0; q < tw; ++q)
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
      v16 e[NA][NA];  // e[i][v] = sum_j d[i][j] bt2[v][j], then V[u][v] = sum_i bt1[u][i] e[i][v]
      for (int i = 0; i < NA; ++i) {
        v16 d[NA];
        for (int j = 0; j < NA; ++j) d[j] = ld(xb + (i * wt + q * MO + j) * C + c0);
        for (int v = 0; v < NA; ++v) {
          v16 s = bt2[v * NA] * d[0];
          for (int j = 1; j < NA; ++j) s += bt2[v * NA + j] * d[j];
          e[i][v] = s;
        }
      }
      for (int v = 0; v < NA; ++v)
        for (int u = 0; u < NA; ++u) {
          v16 s = bt1[u * NA] * e[0][v];
          for (int i = 1; i < NA; ++i) s += bt1[u * NA + i] * e[i][v];
          st(vb + ((u * NA + v) * tw + q) * C + c0, s);
        }
    }
}

// the R channel products: M[r][q][k] = sum_c V[r][q][c] G[r][c][k]
NOINL static void products(const float* vb, const float* g, float* mb, int64_t R, int64_t C, int64_t K,
                           int64_t tw) {
  for (int64_t r = 0; r < R; ++r) {
    const float* V = vb + r * tw * C;
    const float* G = g + r * C * K;
    float* M = mb + r * tw * K;
    int64_t k0 = 0;
    for (; k0 + 64 <= K; k0 += 64) micro_rows<4>(V, G + k0, M + k0, tw, C, K);
    for (; k0 + 32 <= K; k0 += 32) micro_rows<2>(V, G + k0, M + k0, tw, C, K);
    for (; k0 < K; k0 += 16) micro_rows<1>(V, G + k0, M + k0, tw, C, K);
  }
}

// output transform of a row of tiles, 16 output channels per vector: yb[mi][col][k]
template <int NA, int MO>
NOINL static void output_row(const float* mb, float* yb, const float* at1, const float* at2,
                             const float* bias, int64_t K, int64_t tw, int64_t wo_pad) {
  for (int64_t q = 0; q < tw; ++q)
    for (int64_t k0 = 0; k0 < K; k0 += 16) {
      v16 t[NA][MO];  // t[u][mj] = sum_v M[u][v] at2[mj][v], then out[mi][mj] = sum_u at1[mi][u] t[u][mj]
      for (int u = 0; u < NA; ++u) {
        v16 m[NA];
        for (int v = 0; v < NA; ++v) m[v] = ld(mb + ((u * NA + v) * tw + q) * K + k0);
        for (int mj = 0; mj < MO; ++mj) {
          v16 s = at2[mj * NA] * m[0];
          for (int v = 1; v < NA; ++v) s += at2[mj * NA + v] * m[v];
          t[u][mj] = s;
        }
      }
      const v16 b0 = bias ? ld(bias + k0) : v16{};
      for (int mi = 0; mi < MO; ++mi)
        for (int mj = 0; mj < MO; ++mj) {
          v16 s = b0;
          for (int u = 0; u < NA; ++u) s += at1[mi * NA + u] * t[u][mj];
          st(yb + (mi * wo_pad + q * MO + mj) * K + k0, s);
        }
    }
}

// channels-last output rows back to (K, Ho, Wo); yb has room for whole blocks of 16 columns
template <int MO>
NOINL static void scatter_rows(const float* yb, float* yout, int64_t K, int64_t Ho, int64_t Wo,
                               int64_t ti, int64_t wo_pad) {
  for (int64_t mi = 0; mi < MO; ++mi) {
    const int64_t row = ti * MO + mi;
    if (row >= Ho) break;
    for (int64_t k0 = 0; k0 < K; k0 += 16)
      for (int64_t col0 = 0; col0 < Wo; col0 += 16) {
        v16 r[16];
        for (int j = 0; j < 16; ++j) r[j] = ld(yb + (mi * wo_pad + col0 + j) * K + k0);
        transpose16(r);
        float* o = yout + (k0 * Ho + row) * Wo + col0;
        if (col0 + 16 <= Wo) {
          for (int kk = 0; kk < 16; ++kk) st(o + kk * Ho * Wo, r[kk]);
        } else {
          for (int kk = 0; kk < 16; ++kk) {
            float tmp[16];
            st(tmp, r[kk]);
            for (int64_t j = 0; j < Wo - col0; ++j) o[kk * Ho * Wo + j] = tmp[j];
          }
        }
      }
  }
}

// ask for the next task's new input rows and its output rows while this task computes
template <int NA, int MO>
static inline void prefetch_rows(const float* x, float* y, int64_t task, int64_t C, int64_t H, int64_t W,
                                 int64_t K, int64_t Ho, int64_t Wo, int64_t th, int64_t top) {
  const int64_t n = task / th, ti = task % th;
  const int64_t first = ti == 0 ? 0 : NA - MO;  // rows the previous task did not read
  for (int64_t i = first; i < NA; ++i) {
    const int64_t row = ti * MO + i - top;
    if (row < 0 || row >= H) continue;
    for (int64_t c = 0; c < C; ++c) {
      const char* p = reinterpret_cast<const char*>(x + ((n * C + c) * H + row) * W);
      for (int64_t b = 0; b < W * 4; b += 64) __builtin_prefetch(p + b, 0, 2);
    }
  }
  for (int64_t mi = 0; mi < MO && ti * MO + mi < Ho; ++mi)
    for (int64_t k = 0; k < K; ++k) {
      const char* p = reinterpret_cast<const char*>(y + ((n * K + k) * Ho + ti * MO + mi) * Wo);
      for (int64_t b = 0; b < Wo * 4; b += 64) __builtin_prefetch(p + b, 1, 2);
    }
}

template <int NA, int MO>
static void fused_kernel(const float* x, const float* g, const float* bt1, const float* bt2,
                         const float* at1, const float* at2, const float* bias, float* y,
                         int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t Ho, int64_t Wo,
                         int64_t top, int64_t left, int64_t th, int64_t tw) {
  constexpr int R = NA * NA;
  const int64_t wt = (tw - 1) * MO + NA, wo_pad = (tw * MO + 15) / 16 * 16;
  at::parallel_for(0, N * th, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> xb(NA * wt * C), vb(R * tw * C), mb(R * tw * K), yb(MO * wo_pad * K);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t n = task / th, ti = task % th;
      gather_rows<NA, MO>(x + n * C * H * W, xb.data(), C, H, W, ti, top, left, wt);
      if (task + 1 < end) prefetch_rows<NA, MO>(x, y, task + 1, C, H, W, K, Ho, Wo, th, top);
      data_row<NA, MO>(xb.data(), vb.data(), bt1, bt2, C, tw, wt);
      products(vb.data(), g, mb.data(), R, C, K, tw);
      output_row<NA, MO>(mb.data(), yb.data(), at1, at2, bias, K, tw, wo_pad);
      scatter_rows<MO>(yb.data(), y + n * K * Ho * Wo, K, Ho, Wo, ti, wo_pad);
    }
  });
}

// The fused float32 path; returns false (and does nothing) where it does not apply.
bool winograd_fused(torch::Tensor x, torch::Tensor g, torch::Tensor bt1, torch::Tensor bt2,
                    torch::Tensor at1, torch::Tensor at2, c10::optional<torch::Tensor> bias,
                    torch::Tensor y, int64_t top, int64_t left, int64_t th, int64_t tw) {
  if (x.scalar_type() != at::kFloat || !x.is_contiguous() || !y.is_contiguous() || !g.is_contiguous()) return false;
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t K = y.size(1), Ho = y.size(2), Wo = y.size(3);
  const int64_t n1 = bt1.size(0), a1 = bt1.size(1), n2 = bt2.size(0), a2 = bt2.size(1);
  const int64_t m1 = at1.size(0), m2 = at2.size(0);
  if (C % 16 || K % 16 || n1 != a1 || n2 != a2 || n1 != n2 || m1 != m2) return false;
  if (!((n1 == 6 && m1 == 4) || (n1 == 4 && m1 == 2))) return false;
  TORCH_CHECK(g.size(0) == n1 * n2 && g.size(1) == C && g.size(2) == K, "winograd_fused: bad G shape");
  auto b1 = bt1.contiguous(), b2 = bt2.contiguous(), c1 = at1.contiguous(), c2 = at2.contiguous();
  torch::Tensor b;
  if (bias.has_value()) b = bias->contiguous();
  const float* bp = b.defined() ? b.data_ptr<float>() : nullptr;
  if (n1 == 6)
    fused_kernel<6, 4>(x.data_ptr<float>(), g.data_ptr<float>(), b1.data_ptr<float>(), b2.data_ptr<float>(),
                       c1.data_ptr<float>(), c2.data_ptr<float>(), bp, y.data_ptr<float>(),
                       N, C, H, W, K, Ho, Wo, top, left, th, tw);
  else
    fused_kernel<4, 2>(x.data_ptr<float>(), g.data_ptr<float>(), b1.data_ptr<float>(), b2.data_ptr<float>(),
                       c1.data_ptr<float>(), c2.data_ptr<float>(), bp, y.data_ptr<float>(),
                       N, C, H, W, K, Ho, Wo, top, left, th, tw);
  return true;
}
"""

_lock = threading.Lock()
_module = None
_error = None


def load():
    """Compile (first time) and return the extension module; raises on failure."""
    global _module, _error
    with _lock:
        if _module is None and _error is None:
            try:
                from torch.utils.cpp_extension import load_inline

                _module = load_inline(
                    name="bilinear_winograd_cpu_v10",
                    cpp_sources=[_SOURCE],
                    functions=["data_transform", "output_transform", "winograd_forward", "winograd_fused"],
                    extra_cflags=["-O3", "-march=native", "-fopenmp"],
                    extra_ldflags=["-fopenmp"],
                    verbose=False,
                )
            except Exception as exc:  # no compiler, no ninja, ...
                _error = exc
        if _module is None:
            raise RuntimeError(f"the fused Winograd kernels could not be built: {_error}")
        return _module


def available() -> bool:
    """Whether the kernels are built or can be built here (builds them)."""
    try:
        load()
    except RuntimeError:
        return False
    return True


def data_transform(x, bt1, bt2, m1: int, m2: int, top: int, left: int, th: int, tw: int, out=None):
    """``D`` (R, C, P) of the padded input's tiles (written into ``out`` if given)."""
    x = x.contiguous()
    if out is None:
        out = torch.empty((bt1.shape[0] * bt2.shape[0], x.shape[1], x.shape[0] * th * tw),
                          dtype=x.dtype, device=x.device)
    load().data_transform(x, bt1.contiguous(), bt2.contiguous(), m1, m2, top, left, th, tw, out)
    return out


def output_transform(mm, at1, at2, bias, n: int, ho: int, wo: int, th: int, tw: int, out=None):
    """The output ``(N, K, Ho, Wo)`` from ``M`` (R, K, P), plus ``bias`` (into ``out`` if given)."""
    if out is None:
        out = torch.empty((n, mm.shape[1], ho, wo), dtype=mm.dtype, device=mm.device)
    load().output_transform(mm.contiguous(), at1.contiguous(), at2.contiguous(), bias, out, th, tw)
    return out


def winograd_forward(x, g, bt1, bt2, at1, at2, bias, out, top: int, left: int, th: int, tw: int):
    """The whole layer into ``out`` (N, K, Ho, Wo), one image per task.

    ``g`` is the transformed filter ``(R, K, C)``; the other arguments as for
    :func:`data_transform` and :func:`output_transform`.
    """
    load().winograd_forward(x.contiguous(), g, bt1.contiguous(), bt2.contiguous(), at1.contiguous(),
                            at2.contiguous(), bias, out, top, left, th, tw)
    return out


def winograd_fused(x, g, bt1, bt2, at1, at2, bias, out, top: int, left: int, th: int, tw: int) -> bool:
    """The whole layer into ``out`` by the fused float32 kernel; ``False`` where it does not apply.

    It applies to float32 with channel counts divisible by 16 and square
    F(4x4, 3x3)- or F(2x2, 3x3)-sized nested transforms.  ``g`` is the
    transformed filter ``(R, C, K)``; the other arguments as for
    :func:`winograd_forward`.  One task per (image, row of tiles), so that the
    transformed tiles and products stay in the core's cache.
    """
    return load().winograd_fused(x.contiguous(), g.contiguous(), bt1, bt2, at1, at2, bias, out,
                                 top, left, th, tw)
