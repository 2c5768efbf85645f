// Dense Double products for the small matrices of the inner problem (m x p
// images times p x C weights, C about 10). Three shapes, each with the loop
// that vectorises well for it:
//  - nt: C = A B^T, dot products over the shared (long, contiguous) depth;
//        AVX-512 tiles of 4 rows of A x 5 rows of B, the depth in chunks that
//        keep B's rows in L1;
//  - tn: C = A^T B, vectorised over the rows of C (contiguous in A's rows);
//        AVX-512 tiles of 16 rows x up to 10 columns held in registers;
//  - nn: C = A B, vectorised over the columns of C (contiguous in B's rows);
//        AVX-512 tiles of 4 rows x 16 columns.
// Each has a portable version (plain loops). None reads outside its operands:
// tails use masked loads, and tiles at the edge repeat a valid row whose
// results are dropped.

#include "distill_kernels.h"
#include "kernel_support.h"

#include <stddef.h>

static inline long min_long(long a, long b) { return a < b ? a : b; }

// ---------------------------------------------------------------------------
// Portable kernels.

DISPATCH_CLONES
static void nt_portable(long m, long n, long k, const double *a, long lda, const double *b, long ldb,
                        double *c, long ldc) {
    for (long i = 0; i < m; i++) {
        const double *ai = a + i * lda;
        for (long j = 0; j < n; j++) {
            const double *bj = b + j * ldb;
            double s[8] = {0};
            long t = 0;
            for (; t + 8 <= k; t += 8)
                for (int u = 0; u < 8; u++) s[u] += ai[t + u] * bj[t + u];
            for (; t < k; t++) s[0] += ai[t] * bj[t];
            c[i * ldc + j] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        }
    }
}

DISPATCH_CLONES
static void tn_portable(long m, long n, long k, const double *a, long lda, const double *b, long ldb,
                        double *c, long ldc) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) c[i * ldc + j] = 0;
    for (long t = 0; t < k; t++) {
        const double *at = a + t * lda, *bt = b + t * ldb;
        for (long i = 0; i < m; i++) {
            const double ati = at[i];
            double *ci = c + i * ldc;
            for (long j = 0; j < n; j++) ci[j] += ati * bt[j];
        }
    }
}

DISPATCH_CLONES
static void nn_portable(long m, long n, long k, const double *a, long lda, const double *b, long ldb,
                        double *c, long ldc) {
    for (long i = 0; i < m; i++) {
        double *ci = c + i * ldc;
        for (long j = 0; j < n; j++) ci[j] = 0;
        for (long t = 0; t < k; t++) {
            const double ait = a[i * lda + t];
            const double *bt = b + t * ldb;
            for (long j = 0; j < n; j++) ci[j] += ait * bt[j];
        }
    }
}

// ---------------------------------------------------------------------------
// AVX-512 kernels.

#if defined(__x86_64__)
#include <immintrin.h>

#define NT_ROWS 4
#define NT_COLS 5
#define NT_DEPTH_CHUNK 512
#define TN_COLS 10
#define NN_ROWS 4

INLINE __mmask8 mask8(long n) { return n >= 8 ? (__mmask8)0xFF : n <= 0 ? (__mmask8)0 : (__mmask8)((1u << n) - 1u); }

/// One depth step of 8 for the nt tile: every row of A times every row of B.
AVX512 INLINE void nt_step(const double *const *ap, const double *const *bp, long t, __mmask8 mask,
                           __m512d acc[NT_ROWS][NT_COLS]) {
    __m512d va[NT_ROWS];
    for (int r = 0; r < NT_ROWS; r++) va[r] = _mm512_maskz_loadu_pd(mask, ap[r] + t);
    for (int s = 0; s < NT_COLS; s++) {
        const __m512d vb = _mm512_maskz_loadu_pd(mask, bp[s] + t);
        for (int r = 0; r < NT_ROWS; r++) acc[r][s] = _mm512_fmadd_pd(va[r], vb, acc[r][s]);
    }
}

AVX512 static void nt_avx512(long m, long n, long k, const double *a, long lda, const double *b, long ldb,
                             double *c, long ldc) {
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) c[i * ldc + j] = 0;
    for (long k0 = 0; k0 < k; k0 += NT_DEPTH_CHUNK) {
        const long kc = min_long(NT_DEPTH_CHUNK, k - k0);
        for (long j0 = 0; j0 < n; j0 += NT_COLS) {
            const double *bp[NT_COLS];
            for (int s = 0; s < NT_COLS; s++) bp[s] = b + min_long(j0 + s, n - 1) * ldb + k0;
            for (long i0 = 0; i0 < m; i0 += NT_ROWS) {
                const double *ap[NT_ROWS];
                for (int r = 0; r < NT_ROWS; r++) ap[r] = a + min_long(i0 + r, m - 1) * lda + k0;
                __m512d acc[NT_ROWS][NT_COLS];
                for (int r = 0; r < NT_ROWS; r++)
                    for (int s = 0; s < NT_COLS; s++) acc[r][s] = _mm512_setzero_pd();
                long t = 0;
                for (; t + 8 <= kc; t += 8) nt_step(ap, bp, t, 0xFF, acc);
                if (t < kc) nt_step(ap, bp, t, mask8(kc - t), acc);
                for (int r = 0; r < NT_ROWS && i0 + r < m; r++)
                    for (int s = 0; s < NT_COLS && j0 + s < n; s++)
                        c[(i0 + r) * ldc + j0 + s] += _mm512_reduce_add_pd(acc[r][s]);
            }
        }
    }
}

/// Rows i0..<i0+16 (lanes outside m0, m1 zero) and columns j0..<j0+nc of A^T B.
AVX512 INLINE void tn_tile(long rows, long k, const double *a, long lda, const double *b, long ldb,
                           long i0, long j0, int nc, double *c, long ldc) {
    const __mmask8 m0 = mask8(rows - i0), m1 = mask8(rows - i0 - 8);
    __m512d acc0[TN_COLS], acc1[TN_COLS];
    for (int s = 0; s < nc; s++) { acc0[s] = _mm512_setzero_pd(); acc1[s] = _mm512_setzero_pd(); }
    for (long t = 0; t < k; t++) {
        const double *at = a + t * lda + i0, *bt = b + t * ldb + j0;
        const __m512d v0 = _mm512_maskz_loadu_pd(m0, at);
        const __m512d v1 = _mm512_maskz_loadu_pd(m1, at + 8);
        for (int s = 0; s < nc; s++) {
            const __m512d w = _mm512_set1_pd(bt[s]);
            acc0[s] = _mm512_fmadd_pd(v0, w, acc0[s]);
            acc1[s] = _mm512_fmadd_pd(v1, w, acc1[s]);
        }
    }
    double out[16];
    const long valid = min_long(16, rows - i0);
    for (int s = 0; s < nc; s++) {
        _mm512_storeu_pd(out, acc0[s]);
        _mm512_storeu_pd(out + 8, acc1[s]);
        for (long r = 0; r < valid; r++) c[(i0 + r) * ldc + j0 + s] = out[r];
    }
}

#define TN_CASE(NC) case NC: tn_tile(m, k, a, lda, b, ldb, i0, j0, NC, c, ldc); break;

AVX512 static void tn_avx512(long m, long n, long k, const double *a, long lda, const double *b, long ldb,
                             double *c, long ldc) {
    for (long i0 = 0; i0 < m; i0 += 16) {
        for (long j0 = 0; j0 < n; j0 += TN_COLS) {
            // A compile-time column count per case keeps the accumulators in registers.
            switch (min_long(TN_COLS, n - j0)) {
                TN_CASE(1) TN_CASE(2) TN_CASE(3) TN_CASE(4) TN_CASE(5)
                TN_CASE(6) TN_CASE(7) TN_CASE(8) TN_CASE(9) TN_CASE(10)
            }
        }
    }
}

AVX512 static void nn_avx512(long m, long n, long k, const double *a, long lda, const double *b, long ldb,
                             double *c, long ldc) {
    for (long j0 = 0; j0 < n; j0 += 16) {
        const __mmask8 m0 = mask8(n - j0), m1 = mask8(n - j0 - 8);
        for (long i0 = 0; i0 < m; i0 += NN_ROWS) {
            const double *ap[NN_ROWS];
            for (int r = 0; r < NN_ROWS; r++) ap[r] = a + min_long(i0 + r, m - 1) * lda;
            __m512d acc0[NN_ROWS], acc1[NN_ROWS];
            for (int r = 0; r < NN_ROWS; r++) { acc0[r] = _mm512_setzero_pd(); acc1[r] = _mm512_setzero_pd(); }
            for (long t = 0; t < k; t++) {
                const double *bt = b + t * ldb + j0;
                const __m512d v0 = _mm512_maskz_loadu_pd(m0, bt);
                const __m512d v1 = _mm512_maskz_loadu_pd(m1, bt + 8);
                for (int r = 0; r < NN_ROWS; r++) {
                    const __m512d w = _mm512_set1_pd(ap[r][t]);
                    acc0[r] = _mm512_fmadd_pd(v0, w, acc0[r]);
                    acc1[r] = _mm512_fmadd_pd(v1, w, acc1[r]);
                }
            }
            for (int r = 0; r < NN_ROWS && i0 + r < m; r++) {
                _mm512_mask_storeu_pd(c + (i0 + r) * ldc + j0, m0, acc0[r]);
                _mm512_mask_storeu_pd(c + (i0 + r) * ldc + j0 + 8, m1, acc1[r]);
            }
        }
    }
}

#define NNB_ROWS 8
#define NNB_DEPTH 128

/// nn for larger products (m x k by k x n, n >= 16): tiles of 8 rows x 16
/// columns (16 accumulators), the depth in blocks of NNB_DEPTH so that the
/// block of B a column strip reads stays in L1 while every row tile passes over
/// it. Each entry takes exactly nn_avx512's operations: acc = +0, then
/// acc = fma(b_tj, a_it, acc) for t in increasing order, the accumulator carried
/// through c between depth blocks (a store and a load change no bit).
AVX512 static void nn_blocked_avx512(long m, long n, long k, const double *a, long lda, const double *b, long ldb,
                                     double *c, long ldc) {
    if (k <= 0) {
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = 0;
        return;
    }
    for (long t0 = 0; t0 < k; t0 += NNB_DEPTH) {
        const long t1 = min_long(k, t0 + NNB_DEPTH);
        for (long j0 = 0; j0 < n; j0 += 16) {
            const __mmask8 m0 = mask8(n - j0), m1 = mask8(n - j0 - 8);
            for (long i0 = 0; i0 < m; i0 += NNB_ROWS) {
                const double *ap[NNB_ROWS];
                double *cp[NNB_ROWS];
                for (int r = 0; r < NNB_ROWS; r++) {
                    const long row = min_long(i0 + r, m - 1);
                    ap[r] = a + row * lda;
                    cp[r] = c + row * ldc + j0;
                }
                __m512d acc0[NNB_ROWS], acc1[NNB_ROWS];
                for (int r = 0; r < NNB_ROWS; r++) {
                    if (t0 == 0) {
                        acc0[r] = _mm512_setzero_pd();
                        acc1[r] = _mm512_setzero_pd();
                    } else {
                        acc0[r] = _mm512_maskz_loadu_pd(m0, cp[r]);
                        acc1[r] = _mm512_maskz_loadu_pd(m1, cp[r] + 8);
                    }
                }
                for (long t = t0; t < t1; t++) {
                    const double *bt = b + t * ldb + j0;
                    const __m512d v0 = _mm512_maskz_loadu_pd(m0, bt);
                    const __m512d v1 = _mm512_maskz_loadu_pd(m1, bt + 8);
                    for (int r = 0; r < NNB_ROWS; r++) {
                        const __m512d w = _mm512_set1_pd(ap[r][t]);
                        acc0[r] = _mm512_fmadd_pd(v0, w, acc0[r]);
                        acc1[r] = _mm512_fmadd_pd(v1, w, acc1[r]);
                    }
                }
                for (int r = 0; r < NNB_ROWS && i0 + r < m; r++) {
                    _mm512_mask_storeu_pd(cp[r], m0, acc0[r]);
                    _mm512_mask_storeu_pd(cp[r] + 8, m1, acc1[r]);
                }
            }
        }
    }
}
#endif

// ---------------------------------------------------------------------------

void distill_matrix_transpose(long m, long n, const double *a, long lda, double *b, long ldb) {
    // Blocks of 8 x 8 keep both the reads and the writes within a few cache lines.
    for (long i0 = 0; i0 < m; i0 += 8) {
        const long i1 = min_long(i0 + 8, m);
        for (long j0 = 0; j0 < n; j0 += 8) {
            const long j1 = min_long(j0 + 8, n);
            for (long i = i0; i < i1; i++)
                for (long j = j0; j < j1; j++) b[j * ldb + i] = a[i * lda + j];
        }
    }
}

typedef void (*product_fn)(long, long, long, const double *, long, const double *, long, double *, long);

static void run(product_fn fast, product_fn portable, int kernel, long m, long n, long k,
                const double *a, long lda, const double *b, long ldb, double *c, long ldc) {
    if (m <= 0 || n <= 0) return;
#if defined(__x86_64__)
    if (kernel == DISTILL_KERNEL_AVX512 && distill_outer_has_avx512()) {
        fast(m, n, k, a, lda, b, ldb, c, ldc);
        return;
    }
#else
    (void)fast;
#endif
    portable(m, n, k, a, lda, b, ldb, c, ldc);
}

#if defined(__x86_64__)
#define FAST(name) name##_avx512
#else
#define FAST(name) NULL
#endif

void distill_matrix_nt(int kernel, long m, long n, long k, const double *a, long lda, const double *b, long ldb,
                       double *c, long ldc) {
    run(FAST(nt), nt_portable, kernel, m, n, k, a, lda, b, ldb, c, ldc);
}

void distill_matrix_tn(int kernel, long m, long n, long k, const double *a, long lda, const double *b, long ldb,
                       double *c, long ldc) {
    run(FAST(tn), tn_portable, kernel, m, n, k, a, lda, b, ldb, c, ldc);
}

void distill_matrix_nn(int kernel, long m, long n, long k, const double *a, long lda, const double *b, long ldb,
                       double *c, long ldc) {
    run(FAST(nn), nn_portable, kernel, m, n, k, a, lda, b, ldb, c, ldc);
}

void distill_matrix_nn_blocked(int kernel, long m, long n, long k, const double *a, long lda, const double *b,
                               long ldb, double *c, long ldc) {
    run(FAST(nn_blocked), nn_portable, kernel, m, n, k, a, lda, b, ldb, c, ldc);
}
