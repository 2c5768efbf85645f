// The fused pass of the NNGP / NTK kernel ridge model (see distill_neural_kernel.h).
// Per block of DISTILL_NK_BLOCK_ROWS rows:
//   1. the stored pixels as Float32 (xf, zero-padded to ldp), converted once,
//      and each row's Σx, Σx² (exact sums for bytes; the narrow sweep copies them from
//      the problem's row statistics where it has them, block_statistics);
//   2. A = xf Sᵀ (Float32, block x ldm), Σ_1 = dot_scale A + offset
//      (AVX-512, bytes, m <= 16, VNNI: 1 and 2 in one sweep, load_forward_narrow, or
//      load_forward_narrow_skip for sparse images, which leaves xf unwritten);
// then per group of rows (AVX-512: GROUP rows, the layers outermost; portable: the block):
//   3. the arc-cosine recursion over the rows' ldm entries -> K_i, keeping each
//      layer's state (c, sin, ∂K̇/∂c, K̇, Θ) for the reverse sweep (a group:
//      GROUP x 5 x depth x ldm floats, in L1); with packed lanes (below), per unit of
//      PACK_ROWS rows (two groups) before the groups' steps 4-5, its reverse sweep after;
//   4. predictions f_i = K_i α, loss, arg-max, g_i = ∂loss/∂f_i;
//   5. backward: d_alpha += K_iᵀ g_i, the entry cotangents G_i αᵀ, and the
//      recursion's reverse sweep from the stored state -> g^σ_i (row i of D, Float32)
//      and ∂/∂q_1(s_j);
// and per block:
//   6. d_dot += Dᵀ xf (Float32 per block, added in Double).
// Two implementations: AVX-512 (register-tiled products: lanes over support
// columns, or over pixels with a reduction for the columns that would leave a
// vector mostly idle; when Sᵀ and the Double sums of Dᵀ xf exceed 1.5 MiB
// (m above 160), steps 1, 2 and 6 run over a super-block of a few blocks,
// so that each sweep of Sᵀ (packed panel by panel) and of those sums serves more
// rows, with the same additions as block by block; the recursion on 16 Float32 lanes with a polynomial arccos
// and rsqrt + one Newton step, the first cosine formed in Double; predictions and
// d_alpha in Double over αᵀ) and portable loops in Double (libm acos / sqrt;
// steps 3-5 per block, the forward recomputed in the reverse sweep).
//
// Packed lanes (AVX-512, m = 1..12 and 17..24, where rows of ldm lanes would leave at least
// a quarter of the recursion's lanes padding; MNIST at 1 image per class: m = 10, 6 of 16):
// the recursion and its reverse sweep run over a unit of PACK_ROWS = 8 rows' rows x m
// entries as one sequence, 16 lanes a vector (m = 10: 80 entries in 5 vectors, not 8),
// lane e holding entry (row e / m, column e % m) with that row's √q_l(x), 1/√q_l(x) (the
// rows' values gathered into 8 lanes, then per lane by vpermps on its row number) and that
// column's √q_l(s), 1/√q_l(s), 1/q_l(s), column offset (tables with the period m, made once a
// call). A's rows and the cotangents on K are packed by masked stores of each row's m
// entries, K, D and the ∂/∂q_1 rows unpacked by masked loads. Each
// entry sees the same Float32 (and, for the first cosine, Double) operations as in rows of
// ldm lanes, and D's rows, d_sum and d_q are still added row by row in order: the same bits.
//
// Sparse byte images (AVX-512; MNIST: 19% of the pixels nonzero): when the call's first
// super-block is below NK_SPARSE_BELOW nonzero, both products leave out the zero pixels,
// with the same bits as the dense products (see "Sparse byte images" below: every
// accumulator is a chain of FMAs from +0 in a fixed order, and a term x = 0 times a
// finite value leaves it unchanged). Per super-block each row's nonzero pixels are
// listed (vpcompressw on 32-byte masks); step 2's GEMM then runs per row over its
// nonzeros in 128-pixel chunks of each panel of Sᵀ (the dot-product tiles and one-vector
// panels stay dense), and step 6 per block and pixel over the rows where it is nonzero,
// support columns in registers (dot_sum then laid out by column chunks, pixel-major).
// At m <= 16 (the narrow sweep: bytes, VNNI; MNIST at 1 image per class), where the
// products have lanes over pixels, whole 16-pixel chunks are skipped instead, when the
// call's first super-block has below NK_NARROW_CHUNKS_BELOW of its tiles' chunks nonzero
// (MNIST: 58% of a row's chunks, 69% of a pair's): byte_sums (or, where the problem has
// them, the image set's row statistics: its distill_outer_chunk_masks, the same bits) also
// gives each row's nonzero chunks as bits, the dot-product tiles (2 rows up to 12 columns) run over the
// chunks nonzero in either row, listed by vpcompressb, and step 6 (gemm_backward_rows)
// per strip of two chunks over the block's rows nonzero there (row bits per strip, from
// the rows' chunk bits by vptestmq), converting those rows' bytes again rather than reading xf,
// which this path does not write. Every lane keeps its chain of FMAs in its order, the
// reductions their trees: the same bits.
// This holds for finite support values and finite cotangents D: with an infinite or NaN
// one the dense products would have made 0 x inf = NaN where the sparse ones skip it.
// distill_nk_rows_with's options force either path (tests) and count the multiply-adds done.
//
// AMX tiles (byte images, NK_AMX_FROM <= m <= 16, a CPU and OS with AMX-INT8; the default
// unless the options ask for the FMA loops): the narrow sweep's two products run on the
// tiles instead (neural_kernel_amx.c: exact integer products, each rounded once; not the
// FMA loops' bits), over super-blocks of two blocks; the rest of the pass is unchanged.
// The cross-entropy (AVX-512) takes e^x and log on Double lanes (exp_pd, log_pd, within
// 2 ulp of glibc) for a group of rows at once (group_loss_ce).

#include "distill_kernels.h"
#include "distill_neural_kernel.h"
#include "kernel_support.h"
#include "neural_kernel_amx.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NB DISTILL_NK_BLOCK_ROWS

// NK_PROFILE (tools' builds only): cycles per phase of the AVX-512 kernel, one thread.
// NK_SKIP=mask (tools' builds only, timing only: the results are then wrong): phase i
// of the AVX-512 kernel is left out when bit i is set, to time what it costs in place.
// PROFILE_KEPT: counted in phase i but never left out (the sparse paths' index lists, which
// the later phases need to run at all).
#ifdef NK_PROFILE
#include <x86intrin.h>
unsigned long long nk_profile[8];
#define PROFILE(i, stmt) do { const unsigned long long t0_ = __rdtsc(); stmt; nk_profile[i] += __rdtsc() - t0_; } while (0)
#define PROFILE_KEPT(i, stmt) PROFILE(i, stmt)
#elif defined(NK_SKIP)
#define PROFILE(i, stmt) do { if (!((NK_SKIP >> (i)) & 1)) { stmt; } } while (0)
#define PROFILE_KEPT(i, stmt) stmt
#else
#define PROFILE(i, stmt) stmt
#define PROFILE_KEPT(i, stmt) stmt
#endif
#define TWO_PI 6.283185307179586
#define PI 3.141592653589793

long distill_nk_ldm(long count) { return (count + 15) / 16 * 16; }

static long ld16(long n) { return (n + 15) / 16 * 16; }

/// Per-row layer data: q_l(x), √q_l(x), 1/√q_l(x).
typedef struct {
    double q[DISTILL_NK_MAX_DEPTH], sq[DISTILL_NK_MAX_DEPTH], rq[DISTILL_NK_MAX_DEPTH];
} row_layers;

/// Per-support layer data, layer-major (depth x ldm): q, √q, 1/√q, 1/q, slope (w/2)^l.
typedef struct {
    double *q, *sq, *rq, *iq;
    double slope[DISTILL_NK_MAX_DEPTH];
} support_layers;

static void layers_of(const distill_nk_problem *pb, double q1, row_layers *r) {
    double q = q1;
    for (int l = 0; l < pb->depth; l++) {
        r->q[l] = q; r->sq[l] = sqrt(q); r->rq[l] = 1.0 / r->sq[l];
        q = pb->weight_variance * q / 2 + pb->bias_variance;
    }
}

// ---------------------------------------------------------------------------
// Scalar recursion (portable kernel; exact libm acos and sqrt).

static double entry_forward(const distill_nk_problem *pb, double sigma, const row_layers *r,
                            const support_layers *s, long j, long ldm) {
    const double w = pb->weight_variance, b = pb->bias_variance;
    double theta = sigma;
    for (int l = 0; l < pb->depth; l++) {
        const double norm = r->sq[l] * s->sq[l * ldm + j];
        double c = sigma * r->rq[l] * s->rq[l * ldm + j];
        c = c > 1 ? 1 : (c < -1 ? -1 : c);
        const double t = acos(c), sine = sqrt((1 - c) * (1 + c));
        const double k = norm * (sine + (PI - t) * c) / TWO_PI, kd = (PI - t) / TWO_PI;
        sigma = w * k + b;
        theta = sigma + w * kd * theta;
    }
    return pb->kind == DISTILL_NK_NTK ? theta : sigma;
}

/// The reverse sweep of entry_forward for the cotangent g: returns ∂/∂Σ_1 and adds ∂/∂q_1(s_j) to *gq.
static double entry_backward(const distill_nk_problem *pb, double sigma, const row_layers *r,
                             const support_layers *s, long j, long ldm, double g, double *gq) {
    const double w = pb->weight_variance, b = pb->bias_variance;
    double thetas[DISTILL_NK_MAX_DEPTH], cs[DISTILL_NK_MAX_DEPTH], sines[DISTILL_NK_MAX_DEPTH], kds[DISTILL_NK_MAX_DEPTH];
    double theta = sigma;
    for (int l = 0; l < pb->depth; l++) {
        thetas[l] = theta;
        const double norm = r->sq[l] * s->sq[l * ldm + j];
        double c = sigma * r->rq[l] * s->rq[l * ldm + j];
        c = c > 1 ? 1 : (c < -1 ? -1 : c);
        const double t = acos(c), sine = sqrt((1 - c) * (1 + c));
        const double k = norm * (sine + (PI - t) * c) / TWO_PI, kd = (PI - t) / TWO_PI;
        cs[l] = c; sines[l] = sine; kds[l] = kd;
        sigma = w * k + b;
        theta = sigma + w * kd * theta;
    }
    double gs = pb->kind == DISTILL_NK_NNGP ? g : 0, gt = pb->kind == DISTILL_NK_NTK ? g : 0, acc = 0;
    for (int l = pb->depth - 1; l >= 0; l--) {
        gs += gt;
        const double gkd = w * thetas[l] * gt, gtl = w * kds[l] * gt, gk = w * gs;
        const double c = cs[l], sine = sines[l];
        const double dkd = (1 - c * c) < pb->cone_epsilon ? 0 : 1 / (TWO_PI * sine);
        const double gc = gkd * dkd;
        const double norm = r->sq[l] * s->sq[l * ldm + j], iq = s->iq[l * ldm + j];
        gs = gk * kds[l] + gc * r->rq[l] * s->rq[l * ldm + j];
        acc += s->slope[l] * (gk * norm * sine * iq / (2 * TWO_PI) - gc * c * iq / 2);
        gt = gtl;
    }
    *gq += acc;
    return gs + gt;
}

// ---------------------------------------------------------------------------
// Loss of one row of predictions f (c values), its gradient into f.

/// The first arg-max of f[0..<c], without a branch on the data.
static inline long first_argmax(const double *f, long c) {
    long arg = 0;
    double best = f[0];
    for (long q = 1; q < c; q++) {
        const int above = f[q] > best;
        arg = above ? q : arg;
        best = above ? f[q] : best;
    }
    return arg;
}

static void row_loss(const distill_nk_problem *pb, double *f, long label, double *loss, long *correct, int want_g) {
    const long c = pb->classes, arg = first_argmax(f, c);
    *correct += arg == label;
    if (pb->loss == DISTILL_NK_LOSS_MSE) {
        const double off = 1.0 / (double)c;
        double s = 0;
        for (long q = 0; q < c; q++) {
            const double e = f[q] - ((q == label ? 1.0 : 0.0) - off);
            s += e * e;
            if (want_g) f[q] = e;
        }
        *loss += 0.5 * s;
    } else {
        const double fmax = f[arg];
        double e[DISTILL_NK_MAX_CLASSES], sum = 0;
        for (long q = 0; q < c; q++) { e[q] = exp(f[q] - fmax); sum += e[q]; }
        *loss += fmax + log(sum) - f[label];
        if (want_g) {
            for (long q = 0; q < c; q++) f[q] = e[q] / sum - (q == label ? 1.0 : 0.0);
        }
    }
}

// ---------------------------------------------------------------------------
// Shared block bookkeeping.

typedef struct {
    float *xf;        // NB x ldp
    float *a;         // NB x ldm: raw dots, then (backward) g^σ as Float32
    double *k;        // NB x ldm
    double *f;        // NB x classes (predictions, then their gradient)
    double *rowsum, *rowsq;
    float *gx;        // ldm x ldp (AVX-512 block accumulator)
    row_layers *rows; // NB
} scratch;

static void load_block(const distill_nk_problem *pb, long b0, long nb, long ldp, scratch *sc) {
    const long p = pb->features;
    for (long i = 0; i < NB; i++) {
        float *x = sc->xf + i * ldp;
        double s = 0, s2 = 0;
        if (i < nb) {
            if (pb->pixel_kind == DISTILL_PIXELS_U8) {
                const uint8_t *src = (const uint8_t *)pb->pixels + (b0 + i) * p;
                long si = 0, s2i = 0;
                for (long k = 0; k < p; k++) { x[k] = (float)src[k]; si += src[k]; s2i += (long)src[k] * src[k]; }
                s = (double)si; s2 = (double)s2i;
            } else {
                const float *src = (const float *)pb->pixels + (b0 + i) * p;
                for (long k = 0; k < p; k++) { x[k] = src[k]; s += src[k]; s2 += (double)src[k] * src[k]; }
            }
        } else {
            for (long k = 0; k < p; k++) x[k] = 0;
        }
        for (long k = p; k < ldp; k++) x[k] = 0;
        sc->rowsum[i] = s; sc->rowsq[i] = s2;
        layers_of(pb, pb->row_square * s2 + pb->row_linear * s + pb->row_constant, &sc->rows[i]);
    }
}

/// Predictions, loss, accuracy and (want_g) their gradient for the block, from K.
static void block_predictions(const distill_nk_problem *pb, long b0, long nb, long ldm, scratch *sc,
                              double *loss, long *correct, int want_g) {
    const long m = pb->count, c = pb->classes;
    for (long i = 0; i < nb; i++) {
        double *f = sc->f + i * c;
        for (long q = 0; q < c; q++) f[q] = 0;
        const double *ki = sc->k + i * ldm;
        for (long j = 0; j < m; j++) {
            const double kij = ki[j];
            const double *aj = pb->alpha + j * c;
            for (long q = 0; q < c; q++) f[q] += kij * aj[q];
        }
        row_loss(pb, f, pb->labels[b0 + i], loss, correct, want_g);
    }
}

/// d_alpha += Kᵀ G and the entry cotangents g_ij = G_i · α_j into `gk` (NB x ldm).
static void block_alpha_gradient(const distill_nk_problem *pb, long nb, long ldm, scratch *sc,
                                 double *d_alpha, double *gk) {
    const long m = pb->count, c = pb->classes;
    for (long i = 0; i < nb; i++) {
        const double *g = sc->f + i * c, *ki = sc->k + i * ldm;
        for (long j = 0; j < m; j++) {
            const double *aj = pb->alpha + j * c;
            double *dj = d_alpha + j * c;
            double s = 0;
            for (long q = 0; q < c; q++) { dj[q] += ki[j] * g[q]; s += g[q] * aj[q]; }
            gk[i * ldm + j] = s;
        }
    }
}

// ---------------------------------------------------------------------------
// Portable kernel.

DISPATCH_CLONES
static void gemm_forward_portable(const float *xf, long ldp, const float *st, long ldm, long p, float *a) {
    for (long i = 0; i < NB; i++) {
        float *ai = a + i * ldm;
        for (long j = 0; j < ldm; j++) ai[j] = 0;
        for (long k = 0; k < p; k++) {
            const float x = xf[i * ldp + k];
            const float *sk = st + k * ldm;
            for (long j = 0; j < ldm; j++) ai[j] += x * sk[j];
        }
    }
}

DISPATCH_CLONES
static void gemm_backward_portable(const float *d, long ldm, const float *xf, long ldp, long m, long nb,
                                   float *gx, double *d_dot, long p) {
    for (long j = 0; j < m; j++) {
        float *g = gx;
        for (long k = 0; k < ldp; k++) g[k] = 0;
        for (long i = 0; i < nb; i++) {
            const float dij = d[i * ldm + j];
            const float *x = xf + i * ldp;
            for (long k = 0; k < ldp; k++) g[k] += dij * x[k];
        }
        for (long k = 0; k < p; k++) d_dot[j * p + k] += (double)g[k];
    }
}

static void rows_portable(const distill_nk_problem *pb, long begin, long end, scratch *sc, const support_layers *sl,
                          double *loss, long *correct, double *d_alpha, double *d_dot, double *d_sum, double *d_q,
                          double *gk) {
    const long p = pb->features, m = pb->count, ldm = pb->ldm, ldp = ld16(p);
    for (long b0 = begin; b0 < end; b0 += NB) {
        const long nb = (end - b0 < NB) ? end - b0 : NB;
        load_block(pb, b0, nb, ldp, sc);
        gemm_forward_portable(sc->xf, ldp, pb->support_t, ldm, p, sc->a);
        for (long i = 0; i < nb; i++)
            for (long j = 0; j < m; j++) {
                const double sigma = pb->dot_scale * sc->a[i * ldm + j] + pb->column_offset[j];
                sc->k[i * ldm + j] = entry_forward(pb, sigma, &sc->rows[i], sl, j, ldm);
            }
        block_predictions(pb, b0, nb, ldm, sc, loss, correct, d_alpha != NULL);
        if (!d_alpha) continue;
        block_alpha_gradient(pb, nb, ldm, sc, d_alpha, gk);
        for (long i = 0; i < nb; i++)
            for (long j = 0; j < ldm; j++) {
                float d = 0;
                if (j < m) {
                    const double sigma = pb->dot_scale * sc->a[i * ldm + j] + pb->column_offset[j];
                    const double gs = entry_backward(pb, sigma, &sc->rows[i], sl, j, ldm, gk[i * ldm + j], &d_q[j]);
                    d_sum[j] += gs;
                    d = (float)gs;
                }
                sc->a[i * ldm + j] = d;
            }
        gemm_backward_portable(sc->a, ldm, sc->xf, ldp, m, nb, sc->gx, d_dot, p);
    }
}

// ---------------------------------------------------------------------------
// AVX-512 kernel.

#if defined(__x86_64__)
#include <immintrin.h>

/// Pixels per k-chunk of the forward GEMM: a chunk of the support (KC x up to 7
/// vectors of 16 columns, at most 28 KiB) stays in L1 while every row tile of the
/// block uses it; the accumulators go through `a` between chunks (same order of
/// additions, so the same results as one sweep over all pixels).
#define KC 64

/// Forward GEMM tile: ROWS rows of xf x NV vectors of 16 support columns, pixels
/// k0..<k1, starting from zero (`first`) or from the partial sums in `a`.
#define FWD_TILE(ROWS, NV)                                                                              \
    AVX512 static void fwd_tile_##ROWS##_##NV(const float *xf, long ldp, const float *st, long lds,    \
                                              long k0, long k1, float *a, long lda, int first) {       \
        __m512 acc[ROWS][NV];                                                                           \
        for (int r = 0; r < ROWS; r++)                                                                  \
            for (int v = 0; v < NV; v++)                                                                \
                acc[r][v] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(a + r * lda + 16 * v);        \
        for (long k = k0; k < k1; k++) {                                                                \
            __m512 s[NV];                                                                               \
            for (int v = 0; v < NV; v++) s[v] = _mm512_loadu_ps(st + k * lds + 16 * v);                 \
            for (int r = 0; r < ROWS; r++) {                                                            \
                const __m512 x = _mm512_set1_ps(xf[r * ldp + k]);                                       \
                for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(x, s[v], acc[r][v]);           \
            }                                                                                           \
        }                                                                                               \
        for (int r = 0; r < ROWS; r++)                                                                  \
            for (int v = 0; v < NV; v++) _mm512_storeu_ps(a + r * lda + 16 * v, acc[r][v]);             \
    }
_Static_assert(NB % 24 == 0, "the forward tiles' row counts (3, 4, 6, 8, 12, 24) must divide the block");
// Row counts divide NB (96); ROWS x NV accumulators + NV support vectors + 1 fit in 32 registers.
FWD_TILE(3, 7)
FWD_TILE(4, 6)
FWD_TILE(4, 5)
FWD_TILE(6, 4)
FWD_TILE(8, 3)
FWD_TILE(12, 2)
FWD_TILE(12, 1)

/// Forward GEMM for ldm = 16 (at most 16 support images), lanes over pixels: ROWS rows
/// x J support images of dot products, 16 pixels at a time (every lane used, where
/// lanes over support columns would leave 16 - m of 16 idle), then each row's J sums
/// reduced into one vector of 16 columns (columns J..<16 zero), rows lda apart. `s_rows`
/// is J x ldp. Also the last, partly used vector of columns when m > 16 (see gemm_forward_avx512).
#define DOT_TILE(ROWS, J)                                                                                  \
    AVX512 static void dot_tile_##ROWS##_##J(const float *xf, long ldp, const float *s_rows, long p, float *a, long lda) { \
        __m512 acc[ROWS][16];                                                                              \
        for (int r = 0; r < ROWS; r++)                                                                     \
            for (int j = 0; j < 16; j++) acc[r][j] = _mm512_setzero_ps();                                  \
        for (long k = 0; k < p; k += 16) {                                                                 \
            __m512 x[ROWS];                                                                                \
            for (int r = 0; r < ROWS; r++) x[r] = _mm512_load_ps(xf + r * ldp + k);                        \
            for (int j = 0; j < J; j++) {                                                                  \
                const __m512 sv = _mm512_load_ps(s_rows + j * ldp + k);                                    \
                for (int r = 0; r < ROWS; r++) acc[r][j] = _mm512_fmadd_ps(x[r], sv, acc[r][j]);           \
            }                                                                                              \
        }                                                                                                  \
        for (int r = 0; r < ROWS; r++) _mm512_store_ps(a + r * lda, sum16_ps(acc[r]));                        \
    }


// Up to 12 images: 2 rows (2 J accumulators + 2 pixel vectors + 1); above: 1 row.
DOT_TILE(2, 1) DOT_TILE(2, 2) DOT_TILE(2, 3) DOT_TILE(2, 4) DOT_TILE(2, 5) DOT_TILE(2, 6)
DOT_TILE(2, 7) DOT_TILE(2, 8) DOT_TILE(2, 9) DOT_TILE(2, 10) DOT_TILE(2, 11) DOT_TILE(2, 12)
DOT_TILE(1, 13) DOT_TILE(1, 14) DOT_TILE(1, 15) DOT_TILE(1, 16)

/// Columns j0..<j0+J of A (rows lda apart, the vector of 16 columns from j0; J <= 16)
/// by dot-product tiles; `s_rows`: J x ldp, zero past p.
AVX512 static void gemm_forward_dots(const float *xf, long ldp, const float *s_rows, long J, long p, float *a, long lda,
                                     long rows) {
#define DOTS(R, J) case J: for (long i = 0; i < rows; i += R) dot_tile_##R##_##J(xf + i * ldp, ldp, s_rows, p, a + i * lda, lda); break;
    switch (J) {
    DOTS(2, 1) DOTS(2, 2) DOTS(2, 3) DOTS(2, 4) DOTS(2, 5) DOTS(2, 6) DOTS(2, 7) DOTS(2, 8)
    DOTS(2, 9) DOTS(2, 10) DOTS(2, 11) DOTS(2, 12) DOTS(1, 13) DOTS(1, 14) DOTS(1, 15)
    default: for (long i = 0; i < rows; i++) dot_tile_1_16(xf + i * ldp, ldp, s_rows, p, a + i * lda, lda); break;
    }
#undef DOTS
}

/// The sum of v's 16 lanes in Double: exact for lanes that are integers below 2^24.
AVX512 INLINE double sum16_exact(__m512 v) {
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)),
                                              _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))));
}

#include <cpuid.h>

/// Whether CPUID leaf 7 (subleaf 0) sets bit `bit` of ECX, asked once per feature
/// (`cached`: -1 until asked; CPUID traps to the hypervisor in a VM). Only consulted
/// where distill_outer_has_avx512() holds (the OS saves the ZMM state).
static int has_leaf7_ecx_feature(int bit, int *cached) {
    int v = __atomic_load_n(cached, __ATOMIC_RELAXED);
    if (v < 0) {
        unsigned a, b, c, d;
        v = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << bit)) ? 1 : 0;
        __atomic_store_n(cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

/// Whether the CPU has AVX512_VNNI (CPUID leaf 7, ECX bit 11).
static int has_avx512_vnni(void) {
    static int cached = -1;
    return has_leaf7_ecx_feature(11, &cached);
}

/// The AVX-512 target plus VNNI (vpdpbusd), for the narrow sweep's integer sums.
#define AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma")))

/// Bits 0, 2, 4, ..., 62 of x packed into bits 0 ..< 32.
static inline uint64_t compress_even(uint64_t x) {
    x &= 0x5555555555555555ull;
    x = (x | x >> 1) & 0x3333333333333333ull;
    x = (x | x >> 2) & 0x0f0f0f0f0f0f0f0full;
    x = (x | x >> 4) & 0x00ff00ff00ff00ffull;
    x = (x | x >> 8) & 0x0000ffff0000ffffull;
    return (x | x >> 16) & 0xffffffffull;
}

/// Σx and Σx² of n rows of p <= 4096 bytes (row i at src + i p) into sums[i], squares[i],
/// exact: in integers, 64 bytes at a time, Σx by vpsadbw and Σx² = Σ x (x - 128) + 128 Σx
/// by vpdpbusd (x unsigned, x - 128 = x XOR 0x80 signed; products at most 255 x 127 in
/// magnitude, four a lane per step: below 2^31 for p <= 4096). Four rows at a time, so
/// that four rows' chains of dependent additions overlap. With `chunks` (sparse byte
/// images), also each row's 16-pixel chunks with a nonzero pixel: bit c % 64 of
/// chunks[(c / 64) ldw + i] for chunk c (pixels 16c ..< 16c + 16) of row i: per 64
/// bytes one vptestmq's 8 bits (nonzero 8-byte words) stored, then per 128 such bits
/// the pairs ORed and packed into 64 chunk bits (compress_even).
AVX512_VNNI static void byte_sums(const uint8_t *src, long p, long n, double *sums, double *squares, uint64_t *chunks,
                                  long ldw) {
    const __m512i zero = _mm512_setzero_si512(), flip = _mm512_set1_epi8((char)0x80);
    for (long i0 = 0; i0 < n; i0 += 4) {
        const int rows = n - i0 < 4 ? (int)(n - i0) : 4;
        __m512i s[4], d[4];
        uint64_t words[4][8];   // 8-byte words' bits: p <= 4096, at most 512 bits a row
        if (chunks)
            for (int r = 0; r < 4; r++)
                for (int w = 0; w < 8; w++) words[r][w] = 0;
        for (int r = 0; r < 4; r++) { s[r] = zero; d[r] = zero; }
        for (long k = 0; k < p; k += 64) {
            const __mmask64 live = p - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1) << (p - k)) - 1;
            for (int r = 0; r < 4; r++) {
                if (r >= rows) break;
                const __m512i bytes = _mm512_maskz_loadu_epi8(live, src + (i0 + r) * p + k);
                s[r] = _mm512_add_epi64(s[r], _mm512_sad_epu8(bytes, zero));
                d[r] = _mm512_dpbusd_epi32(d[r], bytes, _mm512_xor_si512(bytes, flip));
                if (chunks) _store_mask8((__mmask8 *)words[r] + (k >> 6), _mm512_test_epi64_mask(bytes, bytes));
            }
        }
        for (int r = 0; r < rows; r++) {
            const long si = _mm512_reduce_add_epi64(s[r]);
            sums[i0 + r] = (double)si;
            squares[i0 + r] = (double)(_mm512_reduce_add_epi32(d[r]) + 128 * si);
            if (chunks)
                for (long w = 0; w < (p + 1023) / 1024; w++)
                    chunks[w * ldw + i0 + r] = compress_even(words[r][2 * w] | words[r][2 * w] >> 1)
                                               | compress_even(words[r][2 * w + 1] | words[r][2 * w + 1] >> 1) << 32;
        }
    }
}

/// Σx, Σx² (into sc->rowsum, sc->rowsq) and, with `chunks`, the nonzero-chunk bits (as
/// byte_sums lays them out) of rows b0 ..< b0 + nb: copied from the problem's row
/// statistics (distill_nk_row_statistics and distill_outer_chunk_masks, found once for
/// the image set) when it has them, else found by byte_sums; the same values either way.
AVX512_VNNI static void block_statistics(const distill_nk_problem *pb, long b0, long nb, scratch *sc, uint64_t *chunks,
                                         long ldw) {
    const long p = pb->features;
    if (!pb->row_sums) {
        byte_sums((const uint8_t *)pb->pixels + b0 * p, p, nb, sc->rowsum, sc->rowsq, chunks, ldw);
        return;
    }
    memcpy(sc->rowsum, pb->row_sums + b0, sizeof(double) * (size_t)nb);
    memcpy(sc->rowsq, pb->row_squares + b0, sizeof(double) * (size_t)nb);
    if (chunks) {
        const long words = distill_outer_mask_words(p);
        for (long i = 0; i < nb; i++)
            for (long w = 0; w < words; w++) chunks[w * ldw + i] = pb->row_chunks[(b0 + i) * words + w];
    }
}

/// layers_of for n rows (q_1 of row i: q1[i]), 8 rows at a time on Double lanes: the
/// same correctly rounded operations (√, 1/√, w q / 2 + b), so the same bits, with the
/// rows' square roots and divisions overlapping instead of one row's chain at a time.
AVX512 static void layers_avx512(const distill_nk_problem *pb, const double *q1, long n, row_layers *rows) {
    const __m512d w = _mm512_set1_pd(pb->weight_variance), b = _mm512_set1_pd(pb->bias_variance);
    const __m512d one = _mm512_set1_pd(1.0), two = _mm512_set1_pd(2.0);
    for (long i0 = 0; i0 < n; i0 += 8) {
        const long lanes = n - i0 < 8 ? n - i0 : 8;
        __m512d q = _mm512_mask_loadu_pd(one, (__mmask8)((1u << lanes) - 1u), q1 + i0);
        for (int l = 0; l < pb->depth; l++) {
            const __m512d sq = _mm512_sqrt_pd(q), rq = _mm512_div_pd(one, sq);
            double qs[8], sqs[8], rqs[8];
            _mm512_storeu_pd(qs, q); _mm512_storeu_pd(sqs, sq); _mm512_storeu_pd(rqs, rq);
            for (long t = 0; t < lanes; t++) { rows[i0 + t].q[l] = qs[t]; rows[i0 + t].sq[l] = sqs[t]; rows[i0 + t].rq[l] = rqs[t]; }
            q = _mm512_add_pd(_mm512_div_pd(_mm512_mul_pd(w, q), two), b);
        }
    }
}

/// The layer data of rows 0..<padded from their sums (sc->rowsum, sc->rowsq, rows < nb);
/// padding rows get sums 0 and q_1 = row_constant, as load_block_avx512 gives them.
AVX512 static void rows_layers(const distill_nk_problem *pb, long nb, long padded, scratch *sc) {
    double q1[4 * NB];   // padded <= 4 NB (super_blocks)
    for (long row = 0; row < padded; row++) {
        if (row >= nb) { sc->rowsum[row] = 0; sc->rowsq[row] = 0; q1[row] = pb->row_constant; }
        else q1[row] = pb->row_square * sc->rowsq[row] + pb->row_linear * sc->rowsum[row] + pb->row_constant;
    }
    layers_avx512(pb, q1, padded, sc->rows);
}

/// Byte rows converted and multiplied in one sweep (m <= 16, the support as rows): ROWS
/// rows' stored bytes (src[r], p of them) converted 16 at a time to Float32 and stored
/// into xf (rows ldp apart, zero past p) and each converted vector multiplied with the J
/// support rows while in registers: the same A and xf (bits) as load_block_avx512
/// followed by dot_tile_ROWS_J, without the converted pixels' round trip through memory
/// before the products.
#define LOAD_DOT_TILE(ROWS, J)                                                                             \
    AVX512_VNNI __attribute__((noinline)) static void load_dot_tile_##ROWS##_##J(                          \
        const uint8_t *const *src, long p, long ldp, const float *s_rows, float *xf, float *a, long lda) { \
        __m512 acc[ROWS][16];                                                                              \
        for (int r = 0; r < ROWS; r++)                                                                     \
            for (int j = 0; j < 16; j++) acc[r][j] = _mm512_setzero_ps();                                  \
        for (long k = 0; k < p; k += 16) {                                                                 \
            __m512 x[ROWS];                                                                                \
            for (int r = 0; r < ROWS; r++) {                                                               \
                const __m128i bytes = p - k >= 16 ? _mm_loadu_si128((const __m128i *)(src[r] + k))         \
                                                  : _mm_maskz_loadu_epi8((__mmask16)((1u << (p - k)) - 1u), src[r] + k); \
                x[r] = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes));                                    \
                _mm512_store_ps(xf + r * ldp + k, x[r]);                                                   \
            }                                                                                              \
            for (int j = 0; j < J; j++) {                                                                  \
                const __m512 sv = _mm512_load_ps(s_rows + j * ldp + k);                                    \
                for (int r = 0; r < ROWS; r++) acc[r][j] = _mm512_fmadd_ps(x[r], sv, acc[r][j]);           \
            }                                                                                              \
        }                                                                                                  \
        for (int r = 0; r < ROWS; r++) {                                                                   \
            for (long k = (p + 15) / 16 * 16; k < ldp; k += 16) _mm512_store_ps(xf + r * ldp + k, _mm512_setzero_ps()); \
            _mm512_store_ps(a + r * lda, sum16_ps(acc[r]));                                                \
        }                                                                                                  \
    }
LOAD_DOT_TILE(2, 1) LOAD_DOT_TILE(2, 2) LOAD_DOT_TILE(2, 3) LOAD_DOT_TILE(2, 4) LOAD_DOT_TILE(2, 5) LOAD_DOT_TILE(2, 6)
LOAD_DOT_TILE(2, 7) LOAD_DOT_TILE(2, 8) LOAD_DOT_TILE(2, 9) LOAD_DOT_TILE(2, 10) LOAD_DOT_TILE(2, 11) LOAD_DOT_TILE(2, 12)
LOAD_DOT_TILE(1, 13) LOAD_DOT_TILE(1, 14) LOAD_DOT_TILE(1, 15) LOAD_DOT_TILE(1, 16)

/// Zero bytes standing in for the pixels of padding rows (features <= 4096).
static const uint8_t zero_row[4096];

/// load_block_avx512 and gemm_forward_dots in one sweep for byte pixels, m <= 16 and
/// p <= 4096: rows b0..<b0+nb converted, their A rows (rows lda apart) and layer data;
/// rows nb..<padded zero (as load_block_avx512 leaves them). The next `ahead` rows' bytes
/// (those before `end`) prefetched into L2 meanwhile, as there.
AVX512_VNNI static void load_forward_narrow(const distill_nk_problem *pb, long b0, long nb, long padded, long ldp, scratch *sc,
                                       const float *s_rows, long J, float *a, long lda, long ahead, long end) {
    const long p = pb->features, rows = J <= 12 ? 2 : 1;
    for (long i = 0; i < padded; i += rows) {
        const uint8_t *src[2];
        for (long r = 0; r < rows; r++) {
            const long row = i + r;
            src[r] = row < nb ? (const uint8_t *)pb->pixels + (b0 + row) * p : zero_row;
            if (row < nb && row < ahead && b0 + nb + row < end)   // a prefetch never faults; + 63 reaches the row's last line
                for (long k = 0; k < p + 63; k += 64) _mm_prefetch((const char *)(src[r] + nb * p + k), _MM_HINT_T1);
        }
        float *x = sc->xf + i * ldp, *ai = a + i * lda;
#define LOAD_DOTS(R, J) case J: load_dot_tile_##R##_##J(src, p, ldp, s_rows, x, ai, lda); break;
        switch (J) {
        LOAD_DOTS(2, 1) LOAD_DOTS(2, 2) LOAD_DOTS(2, 3) LOAD_DOTS(2, 4) LOAD_DOTS(2, 5) LOAD_DOTS(2, 6) LOAD_DOTS(2, 7)
        LOAD_DOTS(2, 8) LOAD_DOTS(2, 9) LOAD_DOTS(2, 10) LOAD_DOTS(2, 11) LOAD_DOTS(2, 12) LOAD_DOTS(1, 13)
        LOAD_DOTS(1, 14) LOAD_DOTS(1, 15)
        default: load_dot_tile_1_16(src, p, ldp, s_rows, x, ai, lda); break;
        }
#undef LOAD_DOTS
    }
    block_statistics(pb, b0, nb, sc, NULL, 0);
    rows_layers(pb, nb, padded, sc);
}

/// load_forward_narrow on AMX-INT8 tiles (distill_amx_forward: A exact in integers,
/// rounded once to Float32, not the FMA chain's bits): rows b0..<b0+nb's A rows (lda
/// apart; rows nb..<padded +0), sums and layer data; rows up to `end` may be read.
AVX512_VNNI static void load_forward_amx(const distill_nk_problem *pb, long b0, long nb, long padded, scratch *sc,
                                         const distill_amx *tiles, float *a, long lda, long end) {
    distill_amx_forward(tiles, (const uint8_t *)pb->pixels + b0 * pb->features, nb, padded, end - b0, a, lda);
    block_statistics(pb, b0, nb, sc, NULL, 0);
    rows_layers(pb, nb, padded, sc);
}

/// How many support images the dot-product tiles take: all of them when m <= 16,
/// else the last m mod 16 when that is at most 12 (the GEMM's last vector of columns
/// would be mostly padding), else none.
static long dot_columns(long m) {
    const long r = m % 16;
    return m <= 16 ? m : (r != 0 && r <= 12 ? r : 0);
}


/// A = xf Sᵀ for the block's first nv vectors of 16 support columns (rows ldm apart):
/// panels of up to 7 vectors (one panel when nv <= 7, else panels of 6 and a narrower last one),
/// each in k-chunks of KC pixels swept by every row tile.
/// The width in vectors of 16 columns of the forward GEMM's panel that starts at vector v0 of nv.
static long panel_vectors(long nv, long v0) { return nv <= 7 ? nv : (nv - v0 >= 6 ? 6 : nv - v0); }

/// Sᵀ's first nv vectors of columns (st: p x ldm) packed panel by panel: the panel at
/// vector v0 of width w vectors is p x 16w contiguous Float32 at packed + 16 p v0.
static void pack_panels(const float *st, long ldm, long nv, long p, float *packed) {
    for (long v0 = 0; v0 < nv; v0 += panel_vectors(nv, v0)) {
        const long w = 16 * panel_vectors(nv, v0);
        float *panel = packed + 16 * p * v0;
        for (long k = 0; k < p; k++) memcpy(panel + k * w, st + k * ldm + 16 * v0, sizeof(float) * (size_t)w);
    }
}

/// One panel of the forward GEMM (nvp vectors of columns; st: the packed panel, a: its
/// first column), in k-chunks of KC pixels swept by every row tile.
AVX512 static void forward_panel(const float *xf, long ldp, const float *st, long nvp, long p, float *a, long lda, long rows) {
    const long lds = 16 * nvp;
    for (long k0 = 0; k0 < p; k0 += KC) {
        const long k1 = p - k0 < KC ? p : k0 + KC;
        const int first = k0 == 0;
        switch (nvp) {
        case 7: for (long i = 0; i < rows; i += 3) fwd_tile_3_7(xf + i * ldp, ldp, st, lds, k0, k1, a + i * lda, lda, first); break;
        case 6: for (long i = 0; i < rows; i += 4) fwd_tile_4_6(xf + i * ldp, ldp, st, lds, k0, k1, a + i * lda, lda, first); break;
        case 5: for (long i = 0; i < rows; i += 4) fwd_tile_4_5(xf + i * ldp, ldp, st, lds, k0, k1, a + i * lda, lda, first); break;
        case 4: for (long i = 0; i < rows; i += 6) fwd_tile_6_4(xf + i * ldp, ldp, st, lds, k0, k1, a + i * lda, lda, first); break;
        case 3: for (long i = 0; i < rows; i += 8) fwd_tile_8_3(xf + i * ldp, ldp, st, lds, k0, k1, a + i * lda, lda, first); break;
        case 2: for (long i = 0; i < rows; i += 12) fwd_tile_12_2(xf + i * ldp, ldp, st, lds, k0, k1, a + i * lda, lda, first); break;
        default: for (long i = 0; i < rows; i += 12) fwd_tile_12_1(xf + i * ldp, ldp, st, lds, k0, k1, a + i * lda, lda, first); break;
        }
    }
}

AVX512 static void gemm_forward_avx512(const float *xf, long ldp, const float *packed, long nv, long p, float *a, long lda,
                                       long rows) {
    for (long v0 = 0; v0 < nv; v0 += panel_vectors(nv, v0))
        forward_panel(xf, ldp, packed + 16 * p * v0, panel_vectors(nv, v0), p, a + 16 * v0, lda, rows);
}

/// Backward GEMM tile: out[j0..j0+JT][k..k+16 NV] += Σ_i D[i][j] xf[i][k..] (the sum in
/// Float32 over the block's rows, added in Double); `prefetch`: out's lines are requested
/// first (when they come from L3, the additions at the end do not wait for them). `out`: rows ldo apart, 64-byte
/// aligned, with room for all JT rows and NV vectors (padding rows and columns take
/// sums of zeros).
#define BWD_TILE(JT, NV)                                                                                    \
    AVX512 static void bwd_tile_##JT##_##NV(const float *d, long ldm, const float *xf, long ldp, long nb, \
                                            double *out, long ldo, int prefetch) {                         \
        __m512 acc[JT][NV];                                                                                 \
        if (prefetch)                                                                                       \
            for (int j = 0; j < JT; j++)                                                                    \
                for (int v = 0; v < 2 * NV; v++) _mm_prefetch((const char *)(out + j * ldo + 8 * v), _MM_HINT_T0); \
        for (int j = 0; j < JT; j++)                                                                        \
            for (int v = 0; v < NV; v++) acc[j][v] = _mm512_setzero_ps();                                   \
        for (long i = 0; i < nb; i++) {                                                                     \
            __m512 x[NV];                                                                                   \
            for (int v = 0; v < NV; v++) x[v] = _mm512_load_ps(xf + i * ldp + 16 * v);                      \
            for (int j = 0; j < JT; j++) {                                                                  \
                const __m512 dj = _mm512_set1_ps(d[i * ldm + j]);                                           \
                for (int v = 0; v < NV; v++) acc[j][v] = _mm512_fmadd_ps(dj, x[v], acc[j][v]);              \
            }                                                                                               \
        }                                                                                                   \
        for (int j = 0; j < JT; j++)                                                                        \
            for (int v = 0; v < NV; v++) {                                                                  \
                const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(acc[j][v]));                      \
                const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(                                        \
                                                   _mm512_extractf64x4_pd(_mm512_castps_pd(acc[j][v]), 1))); \
                double *o = out + j * ldo + 16 * v;                                                         \
                _mm512_store_pd(o, _mm512_add_pd(_mm512_load_pd(o), lo));                                   \
                _mm512_store_pd(o + 8, _mm512_add_pd(_mm512_load_pd(o + 8), hi));                           \
            }                                                                                               \
    }
BWD_TILE(6, 4)
BWD_TILE(6, 1)
BWD_TILE(4, 4)
BWD_TILE(4, 1)
BWD_TILE(2, 4)
BWD_TILE(2, 1)

/// dot_sum (ldm x ldp, Double, 64-byte aligned) += Dᵀ xf over the `nsub` blocks of a
/// super-block (block t: rows t NB ..< t NB + block_rows[t] of D, rows lda apart, and
/// of xf): strips of 64 pixels (the last 16 in a narrower strip), and per strip each
/// block's rows in turn, kept in L1 while tiles of 6 support columns x the strip (24
/// accumulators; the last columns in tiles of 4 or 2) sweep them; each block's sum
/// is added to dot_sum in block order (the same additions as block by block), while
/// the strip of dot_sum stays in L2; `prefetch` when dot_sum is too large for L2. Tiles may cover padding rows (j >= m, D's
/// columns there are 0) and padding pixels (k >= p, xf is 0 there): no masks.
AVX512 static void gemm_backward_avx512(const float *d, long lda, const float *xf, long ldp, long m,
                                        const long *block_rows, long nsub, double *dot_sum, int prefetch) {
    for (long k = 0; k < ldp;) {
        const int wide = ldp - k >= 64;
        for (long t = 0; t < nsub; t++) {
            const long nb = block_rows[t];
            for (long j = 0; j < m;) {
                // m - j is even below 4 unless m < ldm: a tile never reaches past row ldm.
                const long jn = m - j, jt = jn >= 6 ? 6 : (jn >= 4 ? 4 : 2);
                const float *dj = d + t * NB * lda + j, *xk = xf + t * NB * ldp + k;
                double *out = dot_sum + j * ldp + k;
                if (wide) {
                    if (jt == 6) bwd_tile_6_4(dj, lda, xk, ldp, nb, out, ldp, prefetch);
                    else if (jt == 4) bwd_tile_4_4(dj, lda, xk, ldp, nb, out, ldp, prefetch);
                    else bwd_tile_2_4(dj, lda, xk, ldp, nb, out, ldp, prefetch);
                } else {
                    if (jt == 6) bwd_tile_6_1(dj, lda, xk, ldp, nb, out, ldp, prefetch);
                    else if (jt == 4) bwd_tile_4_1(dj, lda, xk, ldp, nb, out, ldp, prefetch);
                    else bwd_tile_2_1(dj, lda, xk, ldp, nb, out, ldp, prefetch);
                }
                j += jt;
            }
        }
        k += wide ? 64 : 16;
    }
}

/// √x and 1/√x in Float32 for x >= 0 (0 and 0 where x is below 1e-30): rsqrt14
/// (relative error 2⁻¹⁴) and one Newton step (about 1e-8, below Float32's 6e-8).
AVX512 INLINE void sqrt_and_inverse_ps(__m512 x, __m512 *root, __m512 *inverse) {
    const __mmask16 ok = _mm512_cmp_ps_mask(x, _mm512_set1_ps(1e-30f), _CMP_GT_OQ);
    __m512 y = _mm512_maskz_rsqrt14_ps(ok, x);
    const __m512 hx = _mm512_mul_ps(_mm512_set1_ps(0.5f), x);
    y = _mm512_mul_ps(y, _mm512_fnmadd_ps(hx, _mm512_mul_ps(y, y), _mm512_set1_ps(1.5f)));
    *inverse = y;
    *root = _mm512_mul_ps(x, y);
}

/// arccos(c) for c in [-1, 1] on 16 Float32 lanes, with sin(arccos c) = √(1 - c²)
/// and its inverse (0 at |c| = 1): arcsin by the odd polynomial s + s z P(z)
/// (Cephes' single-precision coefficients: about 1e-7 relative), on |c| or on
/// √((1 - |c|)/2) above 0.5.
AVX512 INLINE __m512 acos_ps(__m512 c, __m512 *sine, __m512 *inv_sine) {
    const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
    const __m512 a = _mm512_abs_ps(c);
    const __mmask16 big = _mm512_cmp_ps_mask(a, half, _CMP_GT_OQ);
    const __m512 omc = _mm512_sub_ps(one, a);
    const __m512 zbig = _mm512_mul_ps(half, omc);
    __m512 rbig, ibig;
    sqrt_and_inverse_ps(zbig, &rbig, &ibig);
    const __m512 z = _mm512_mask_blend_ps(big, _mm512_mul_ps(a, a), zbig);
    const __m512 s = _mm512_mask_blend_ps(big, a, rbig);
    __m512 poly = _mm512_set1_ps(4.2163199048E-2f);
    poly = _mm512_fmadd_ps(poly, z, _mm512_set1_ps(2.4181311049E-2f));
    poly = _mm512_fmadd_ps(poly, z, _mm512_set1_ps(4.5470025998E-2f));
    poly = _mm512_fmadd_ps(poly, z, _mm512_set1_ps(7.4953002686E-2f));
    poly = _mm512_fmadd_ps(poly, z, _mm512_set1_ps(1.6666752422E-1f));
    const __m512 r = _mm512_fmadd_ps(_mm512_mul_ps(s, z), poly, s);
    // acos|c| = 2 r (big) or π/2 - r; acos c = π - acos|c| for c < 0.
    const __m512 t_abs = _mm512_mask_blend_ps(big, _mm512_sub_ps(_mm512_set1_ps((float)(PI / 2)), r), _mm512_add_ps(r, r));
    const __mmask16 neg = _mm512_cmp_ps_mask(c, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 t = _mm512_mask_sub_ps(t_abs, neg, _mm512_set1_ps((float)PI), t_abs);
    sqrt_and_inverse_ps(_mm512_mul_ps(omc, _mm512_add_ps(one, a)), sine, inv_sine);
    return t;
}

/// Rows whose recursions run interleaved: the layers are the outer loop and the
/// group's rows x ldm/16 vectors the inner one, so that independent chains (not
/// one row's dependent layers) fill the pipeline, also when ldm is 16.
#define GROUP 4

/// Per-thread data of the AVX-512 kernel, Float32 unless named: the support
/// images' layer data (depth x ldm: √q, 1/√q, 1/q), αᵀ (classes x ldm, Double and
/// Float32), the accumulators of d_alpha (classes x ldm), d_sum and d_q (ldm, Double),
/// and, per row of a group, the forward state per layer (GROUP x depth x ldm: c, sin,
/// ∂K̇/∂c, K̇, Θ before the layer) and the running values of the sweeps (GROUP x ldm);
/// with packed lanes, per unit of PACK_ROWS rows (depth x lp and lp: see below).
typedef struct {
    float *sq, *rq, *iq;
    double *alpha_t;
    float *alpha_tf;
    double *d_alpha_t, *d_sum, *d_q;
    float *c, *sine, *dkd, *kd, *theta;
    float *sigma, *run_theta;   // forward: Σ_l and Θ_l; backward: the cotangents on Σ and Θ
    float *acc;                 // backward: the row's ∂/∂q_1(s_j) before it is added to d_q
    float *k;              // the group's kernel values (GROUP x ldm)
    double *k_double;      // the same in Double
    float *gk;             // the group's cotangents on K (GROUP x ldm)
    // Packed lanes (packs(m)): lane e of a unit of PACK_ROWS rows holds the entry (row e / m,
    // column e % m); lp = PACK_ROWS m rounded up to 16 lanes (those past PACK_ROWS m: row 0,
    // column 0). The state arrays above then hold depth x lp per array, layer-major, and the
    // running values lp.
    int32_t *lane_row;          // lp: each lane's row in the unit
    double *lane_offset;        // lp: column_offset of each lane's column
    float *lane_sq, *lane_rq, *lane_iq;   // depth x lp: √q_l(s_j), 1/√q_l(s_j), 1/q_l(s_j) of each lane's column
    float *row_sq, *row_rq;     // depth x lp: √q_l(x), 1/√q_l(x) of each lane's row (per unit)
    float *packed_gk;           // lp: the unit's cotangents on K, packed
} avx_scratch;


/// Stored pixels of rows b0..<b0+nb as Float32 (zero-padded to ldp and to `padded`
/// rows) and each row's layer data; byte pixels converted 16 at a time, with Σx and
/// Σx² exact (integer-valued Float32 lanes, added in Double). The next `ahead` rows' bytes (those before `end`) are prefetched
/// into L2 meanwhile: they arrive while these rows are multiplied, instead of
/// stalling their conversion.
AVX512 static void load_block_avx512(const distill_nk_problem *pb, long b0, long nb, long padded, long ldp, scratch *sc,
                                     long ahead, long end) {
    if (pb->pixel_kind != DISTILL_PIXELS_U8) {
        for (long t = 0; t < padded; t += NB) {
            scratch part = {.xf = sc->xf + t * ldp, .rowsum = sc->rowsum + t, .rowsq = sc->rowsq + t, .rows = sc->rows + t};
            load_block(pb, b0 + t, nb - t < 0 ? 0 : (nb - t < NB ? nb - t : NB), ldp, &part);
        }
        return;
    }
    const long p = pb->features;
    for (long i = 0; i < padded; i++) {
        float *x = sc->xf + i * ldp;
        if (i >= nb) {
            for (long k = 0; k < ldp; k += 16) _mm512_storeu_ps(x + k, _mm512_setzero_ps());
            sc->rowsum[i] = 0; sc->rowsq[i] = 0;
            layers_of(pb, pb->row_constant, &sc->rows[i]);
            continue;
        }
        const uint8_t *src = (const uint8_t *)pb->pixels + (b0 + i) * p;
        if (i < ahead && b0 + nb + i < end)   // a prefetch never faults; + 63 reaches the row's last line
            for (long k = 0; k < p + 63; k += 64) _mm_prefetch((const char *)(src + nb * p + k), _MM_HINT_T1);
        // Σx and Σx² per lane in Float32 over at most 4096 pixels (256 per lane) are exact:
        // integers below 2^24 (255² 256 < 2^24); then added in Double (exact).
        double s = 0, s2 = 0;
        for (long k0 = 0; k0 < ldp; k0 += 4096) {
            const long k1 = ldp - k0 < 4096 ? ldp : k0 + 4096;
            __m512 sum = _mm512_setzero_ps(), squares = _mm512_setzero_ps();
            for (long k = k0; k < k1; k += 16) {
                // Lanes past p read nothing and are zero.
                const __m128i bytes = p - k >= 16 ? _mm_loadu_si128((const __m128i *)(src + k))
                                                  : _mm_maskz_loadu_epi8((__mmask16)((1u << (p - k)) - 1u), src + k);
                const __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes));
                sum = _mm512_add_ps(sum, v);
                squares = _mm512_fmadd_ps(v, v, squares);
                _mm512_storeu_ps(x + k, v);
            }
            s += sum16_exact(sum); s2 += sum16_exact(squares);
        }
        sc->rowsum[i] = s; sc->rowsq[i] = s2;
        layers_of(pb, pb->row_square * s2 + pb->row_linear * s + pb->row_constant, &sc->rows[i]);
    }
}

/// Layer 1 on 16 lanes (group_forward, packed_forward), in Double from the Float32 dot
/// products a: Σ_1 = scale a + offset (offset: 16 Doubles), c = Σ_1 · 1/√q_1(x) (rq0_lo,
/// rq0_hi: lanes 0-7 and 8-15) · 1/√q_1(s) (rq_s); c stored at c_out, Σ_1 at sigma_out and
/// theta_out (Θ_1 = Σ_1), all as Float32.
AVX512 INLINE void first_layer(__m512 a, const double *offset, __m512 rq_s, __m512d rq0_lo, __m512d rq0_hi, __m512d scale,
                               float *c_out, float *sigma_out, float *theta_out) {
    const __m512d a_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
    const __m512d a_hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    const __m512d s_lo = _mm512_fmadd_pd(scale, a_lo, _mm512_loadu_pd(offset));
    const __m512d s_hi = _mm512_fmadd_pd(scale, a_hi, _mm512_loadu_pd(offset + 8));
    const __m512d c_lo = _mm512_mul_pd(_mm512_mul_pd(s_lo, rq0_lo), _mm512_cvtps_pd(_mm512_castps512_ps256(rq_s)));
    const __m512d c_hi = _mm512_mul_pd(_mm512_mul_pd(s_hi, rq0_hi),
                                       _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(rq_s), 1))));
    const __m512 sigma = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(s_lo)), _mm512_cvtpd_ps(s_hi), 1);
    _mm512_storeu_ps(c_out, _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(c_lo)), _mm512_cvtpd_ps(c_hi), 1));
    _mm512_storeu_ps(sigma_out, sigma);
    _mm512_storeu_ps(theta_out, sigma);
}

/// One layer of the recursion on 16 lanes (group_forward, packed_forward): the cosine c
/// (clipped to [-1, 1] here), Θ before the layer (theta) and √(q_l(x) q_l(s)) (norm) give
/// K_l and K̇_l; Σ_{l+1} = w K_l + b is stored at sigma_out, Θ_{l+1} = w K̇_l Θ + Σ_{l+1} at
/// theta_out, and, when `state` >= 0, the layer's state for the reverse sweep at that
/// offset of av's c, sine, dkd, kd and theta.
AVX512 INLINE void layer_step(avx_scratch *av, long state, __m512 c, __m512 theta, __m512 norm, __m512 w, __m512 b,
                              __m512 eps, float *sigma_out, float *theta_out) {
    const __m512 one = _mm512_set1_ps(1.0f), inv_two_pi = _mm512_set1_ps((float)(1 / TWO_PI)), pi = _mm512_set1_ps((float)PI);
    c = _mm512_max_ps(_mm512_min_ps(c, one), _mm512_sub_ps(_mm512_setzero_ps(), one));
    __m512 sine, inv_sine;
    const __m512 t = acos_ps(c, &sine, &inv_sine);
    const __m512 pmt = _mm512_sub_ps(pi, t);
    const __m512 k = _mm512_mul_ps(_mm512_mul_ps(norm, inv_two_pi), _mm512_fmadd_ps(pmt, c, sine));
    const __m512 kd = _mm512_mul_ps(pmt, inv_two_pi);
    if (state >= 0) {
        // ∂K̇/∂c = 1 / (2π sin), taken as 0 on the cone (1 - c² below epsilon).
        const __mmask16 smooth = _mm512_cmp_ps_mask(_mm512_fnmadd_ps(c, c, one), eps, _CMP_GE_OQ);
        _mm512_storeu_ps(av->c + state, c);
        _mm512_storeu_ps(av->sine + state, sine);
        _mm512_storeu_ps(av->dkd + state, _mm512_maskz_mul_ps(smooth, inv_sine, inv_two_pi));
        _mm512_storeu_ps(av->kd + state, kd);
        _mm512_storeu_ps(av->theta + state, theta);
    }
    const __m512 sigma_next = _mm512_fmadd_ps(w, k, b);
    _mm512_storeu_ps(sigma_out, sigma_next);
    _mm512_storeu_ps(theta_out, _mm512_fmadd_ps(_mm512_mul_ps(w, kd), theta, sigma_next));
}

/// The recursion of a group of `rows` rows (<= GROUP; A rows a_rows, ldm apart) over
/// all ldm support columns (16 at a time, Float32), layer by layer over the group;
/// each layer's state stored for the reverse sweep when `keep`; the kernel values into
/// av->k (row g at g ldm). Σ_1 and the first cosine are formed in Double from the
/// Float32 dot products. Per entry the same operations as a row-by-row sweep.
AVX512 INLINE void group_forward(const distill_nk_problem *pb, const float *a_rows, long lda, const row_layers *r, long rows,
                                 avx_scratch *av, long ldm, int keep) {
    const int depth = pb->depth;
    const long state = (long)depth * ldm;   // one row's state per array
    const __m512 w = _mm512_set1_ps((float)pb->weight_variance), b = _mm512_set1_ps((float)pb->bias_variance);
    const __m512 eps = _mm512_set1_ps((float)pb->cone_epsilon);
    const __m512d scale = _mm512_set1_pd(pb->dot_scale);
    for (long g = 0; g < rows; g++) {
        // Layer 1's cosine in Double: Σ_1 = dot_scale A + offset, c = Σ_1 / √(q_x q_s); kept in av->c's layer 0.
        const __m512d rq0 = _mm512_set1_pd(r[g].rq[0]);
        const float *a_row = a_rows + g * lda;
        for (long j = 0; j < ldm; j += 16) {
            first_layer(_mm512_loadu_ps(a_row + j), pb->column_offset + j, _mm512_loadu_ps(av->rq + j), rq0, rq0, scale,
                        av->c + g * state + j, av->sigma + g * ldm + j, av->run_theta + g * ldm + j);
        }
    }
    for (int l = 0; l < depth; l++) {
        for (long g = 0; g < rows; g++) {
            const __m512 sqx = _mm512_set1_ps((float)r[g].sq[l]), rqx = _mm512_set1_ps((float)r[g].rq[l]);
            float *sig = av->sigma + g * ldm, *th = av->run_theta + g * ldm;
            const long base = g * state + l * ldm;
            for (long j = 0; j < ldm; j += 16) {
                const long o = l * ldm + j;
                const __m512 sigma = _mm512_loadu_ps(sig + j), theta = _mm512_loadu_ps(th + j);
                __m512 c = l > 0 ? _mm512_mul_ps(sigma, _mm512_mul_ps(rqx, _mm512_loadu_ps(av->rq + o)))
                                 : _mm512_loadu_ps(av->c + base + j);
                layer_step(av, keep ? base + j : -1, c, theta, _mm512_mul_ps(sqx, _mm512_loadu_ps(av->sq + o)), w, b, eps,
                           sig + j, th + j);
            }
        }
    }
    for (long g = 0; g < rows; g++)
        for (long j = 0; j < ldm; j += 16)
            _mm512_storeu_ps(av->k + g * ldm + j, _mm512_loadu_ps((pb->kind == DISTILL_NK_NTK ? av->run_theta : av->sigma) + g * ldm + j));
}

/// dst[0..16) += v's 16 lanes, each widened to Double (the low eight lanes, then the high).
AVX512 INLINE void add_widened(double *dst, __m512 v) {
    _mm512_storeu_pd(dst, _mm512_add_pd(_mm512_loadu_pd(dst), _mm512_cvtps_pd(_mm512_castps512_ps256(v))));
    _mm512_storeu_pd(dst + 8, _mm512_add_pd(_mm512_loadu_pd(dst + 8),
                     _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))));
}

/// The reverse sweep of group_forward for the cotangents av->gk (row g at g ldm):
/// ∂/∂Σ_1 into D's rows d_rows (Float32, ldm apart) and added to av->d_sum; ∂/∂q_1(s_j)
/// added to av->d_q; both added row by row in order.
AVX512 INLINE void group_backward(const distill_nk_problem *pb, const row_layers *r, long rows, avx_scratch *av, long ldm,
                                  const float *slope, float *d_rows, long lda) {
    const int depth = pb->depth;
    const long state = (long)depth * ldm;
    const __m512 w = _mm512_set1_ps((float)pb->weight_variance), zero = _mm512_setzero_ps();
    const __m512 quarter_over_pi = _mm512_set1_ps((float)(0.5 / TWO_PI)), half = _mm512_set1_ps(0.5f);
    // av->sigma: the cotangent on Σ (gs), av->run_theta: on Θ (gt), av->acc: ∂/∂q_1.
    for (long t = 0; t < rows * ldm; t += 16) {
        const __m512 g = _mm512_loadu_ps(av->gk + t);
        _mm512_storeu_ps(av->sigma + t, pb->kind == DISTILL_NK_NNGP ? g : zero);
        _mm512_storeu_ps(av->run_theta + t, pb->kind == DISTILL_NK_NTK ? g : zero);
        _mm512_storeu_ps(av->acc + t, zero);
    }
    for (int l = depth - 1; l >= 0; l--) {
        const __m512 sl = _mm512_set1_ps(slope[l]);
        for (long g = 0; g < rows; g++) {
            const __m512 sqx = _mm512_set1_ps((float)r[g].sq[l]), rqx = _mm512_set1_ps((float)r[g].rq[l]);
            float *gsp = av->sigma + g * ldm, *gtp = av->run_theta + g * ldm, *accp = av->acc + g * ldm;
            const long base = g * state + l * ldm;
            for (long j = 0; j < ldm; j += 16) {
                const long o = l * ldm + j;
                __m512 gt = _mm512_loadu_ps(gtp + j);
                const __m512 gs_in = _mm512_add_ps(_mm512_loadu_ps(gsp + j), gt);
                const __m512 kd = _mm512_loadu_ps(av->kd + base + j), c = _mm512_loadu_ps(av->c + base + j);
                const __m512 gc = _mm512_mul_ps(_mm512_mul_ps(w, _mm512_loadu_ps(av->theta + base + j)),
                                                _mm512_mul_ps(gt, _mm512_loadu_ps(av->dkd + base + j)));
                const __m512 gk = _mm512_mul_ps(w, gs_in);
                gt = _mm512_mul_ps(_mm512_mul_ps(w, kd), gt);
                const __m512 inv = _mm512_mul_ps(rqx, _mm512_loadu_ps(av->rq + o));
                const __m512 norm = _mm512_mul_ps(sqx, _mm512_loadu_ps(av->sq + o));
                const __m512 gs = _mm512_fmadd_ps(gc, inv, _mm512_mul_ps(gk, kd));
                // slope (gk norm sin / 4π - gc c / 2) / q_l(s)
                const __m512 term = _mm512_fmsub_ps(_mm512_mul_ps(gk, norm), _mm512_mul_ps(_mm512_loadu_ps(av->sine + base + j), quarter_over_pi),
                                                    _mm512_mul_ps(_mm512_mul_ps(gc, c), half));
                _mm512_storeu_ps(accp + j, _mm512_fmadd_ps(_mm512_mul_ps(sl, _mm512_loadu_ps(av->iq + o)), term, _mm512_loadu_ps(accp + j)));
                _mm512_storeu_ps(gsp + j, gs);
                _mm512_storeu_ps(gtp + j, gt);
            }
        }
    }
    for (long g = 0; g < rows; g++)
        for (long j = 0; j < ldm; j += 16) {
            const __m512 d = _mm512_add_ps(_mm512_loadu_ps(av->sigma + g * ldm + j), _mm512_loadu_ps(av->run_theta + g * ldm + j));
            const __m512 acc = _mm512_loadu_ps(av->acc + g * ldm + j);
            _mm512_storeu_ps(d_rows + g * lda + j, d);
            add_widened(av->d_sum + j, d);
            add_widened(av->d_q + j, acc);
        }
}

/// Rows of a unit of the packed recursion: two groups (8 rows: their row values in one
/// vector of 8 Double lanes; at m = 10, 80 entries fill 5 vectors of 16 where rows of
/// 16 lanes take 8).
#define PACK_ROWS (2 * GROUP)
/// The recursion and its reverse sweep run on packed lanes for m up to this (tools' builds
/// may change it: -DNK_PACK_MAX=0 turns them off) where that saves at least a quarter of a
/// unit's vectors (m = 1..12 and 17..24): packing, unpacking and the per-lane row values cost
/// about what an eighth saves (measured, tools/nk-pass-ab.sh at m = 13, 7 vectors of 8:
/// the whole pass 1.005 and 1.027 of the unpacked one's time; m = 10, 5 of 8: 0.957, 0.958).
#ifndef NK_PACK_MAX
#define NK_PACK_MAX 32
#endif
static int packs(long m) {
    return m <= NK_PACK_MAX && 4 * ((PACK_ROWS * m + 15) / 16) <= 3 * (PACK_ROWS * ld16(m) / 16);
}

/// The first n of 16 lanes (all of them from 16).
static inline __mmask16 lanes_below(long n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u); }

/// Rows g0..<g0+rows of 16-lane vectors (`in`, rows ld apart, columns m..<16⌈m/16⌉ unused)
/// into a unit's packed values (`packed`: entry g m + j at g m + j) by masked stores of each
/// row's m entries, after zeroing its first `zero` vectors. (Measured against turning each
/// row vector by vpermps and blending it into whole aligned packed vectors, which avoids
/// loads that span several stores: those took 1.010-1.020 of this one's time for the whole
/// pass at m = 10 and 20, tools/nk-pass-ab.sh.)
AVX512 INLINE void pack_rows(const float *in, long ld, long m, long g0, long rows, float *packed, long zero) {
    for (long v = 0; v < zero; v++) _mm512_store_ps(packed + 16 * v, _mm512_setzero_ps());
    for (long g = 0; g < rows; g++)
        for (long j = 0; j < m; j += 16)
            _mm512_mask_storeu_ps(packed + (g0 + g) * m + j, lanes_below(m - j), _mm512_load_ps(in + g * ld + j));
}

/// Rows g0..<g0+rows of a unit's packed values into rows of 16-lane vectors (`out`, ldm
/// apart; columns m..<ldm +0) by masked loads.
AVX512 INLINE void unpack_rows(const float *packed, long m, long ldm, long g0, long rows, float *out) {
    for (long g = 0; g < rows; g++)
        for (long j = 0; j < ldm; j += 16)
            _mm512_store_ps(out + g * ldm + j, _mm512_maskz_loadu_ps(lanes_below(m - j), packed + (g0 + g) * m + j));
}

/// group_forward on packed lanes for a unit of `rows` <= PACK_ROWS rows (A rows a_rows, lda
/// apart): the unit's rows x m entries as one sequence, entry g m + j in lane g m + j, 16 a
/// vector (the last vector's lanes past rows x m take A = 0 and row values 0: finite, unused),
/// each lane with its row's values (av->row_sq, row_rq, from per-lane row numbers by vpermps)
/// and its column's (av->lane_*). Per entry the same operations as group_forward, so the same
/// bits. Leaves K packed in av->sigma (NNGP) or av->run_theta (NTK); the state, when `keep`,
/// layer-major (layer l's lanes at l lp).
AVX512 static void packed_forward(const distill_nk_problem *pb, const float *a_rows, long lda, const row_layers *r, long rows,
                                  avx_scratch *av, long m, long lp, int keep) {
    const int depth = pb->depth;
    const long nv = (rows * m + 15) / 16;
    const __m512 w = _mm512_set1_ps((float)pb->weight_variance), b = _mm512_set1_ps((float)pb->bias_variance);
    const __m512 eps = _mm512_set1_ps((float)pb->cone_epsilon);
    const __m512d scale = _mm512_set1_pd(pb->dot_scale);
    pack_rows(a_rows, lda, m, 0, rows, av->sigma, nv);   // A's rows packed, the tail zero
    // The rows' values (rows past `rows`: 0) in lanes 0..7, then per lane by its row number.
    const __m512i row_bytes = _mm512_mullo_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), _mm512_set1_epi64((long long)sizeof(row_layers)));
    const __mmask8 live = (__mmask8)((1u << rows) - 1u);
    for (int l = 0; l < depth; l++) {
        const __m512 sq = _mm512_castps256_ps512(_mm512_cvtpd_ps(_mm512_mask_i64gather_pd(_mm512_setzero_pd(), live, row_bytes, &r[0].sq[l], 1)));
        const __m512 rq = _mm512_castps256_ps512(_mm512_cvtpd_ps(_mm512_mask_i64gather_pd(_mm512_setzero_pd(), live, row_bytes, &r[0].rq[l], 1)));
        for (long v = 0; v < nv; v++) {
            const __m512i lr = _mm512_loadu_si512(av->lane_row + 16 * v);
            _mm512_storeu_ps(av->row_sq + l * lp + 16 * v, _mm512_permutexvar_ps(lr, sq));
            _mm512_storeu_ps(av->row_rq + l * lp + 16 * v, _mm512_permutexvar_ps(lr, rq));
        }
    }
    const __m512d rq0_rows = _mm512_mask_i64gather_pd(_mm512_setzero_pd(), live, row_bytes, &r[0].rq[0], 1);
    // Layer 1's cosine in Double (as group_forward), kept in av->c's layer 0.
    for (long e = 0; e < 16 * nv; e += 16) {
        const __m512i lr = _mm512_loadu_si512(av->lane_row + e);
        const __m512d rq0_lo = _mm512_permutexvar_pd(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(lr)), rq0_rows);
        const __m512d rq0_hi = _mm512_permutexvar_pd(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(lr, 1)), rq0_rows);
        first_layer(_mm512_loadu_ps(av->sigma + e), av->lane_offset + e, _mm512_loadu_ps(av->lane_rq + e), rq0_lo, rq0_hi, scale,
                    av->c + e, av->sigma + e, av->run_theta + e);
    }
    for (int l = 0; l < depth; l++)
        for (long e = 0; e < 16 * nv; e += 16) {
            const long o = l * lp + e;
            const __m512 sqx = _mm512_loadu_ps(av->row_sq + o), rqx = _mm512_loadu_ps(av->row_rq + o);
            const __m512 sigma = _mm512_loadu_ps(av->sigma + e), theta = _mm512_loadu_ps(av->run_theta + e);
            __m512 c = l > 0 ? _mm512_mul_ps(sigma, _mm512_mul_ps(rqx, _mm512_loadu_ps(av->lane_rq + o)))
                             : _mm512_loadu_ps(av->c + o);
            layer_step(av, keep ? o : -1, c, theta, _mm512_mul_ps(sqx, _mm512_loadu_ps(av->lane_sq + o)), w, b, eps,
                       av->sigma + e, av->run_theta + e);
        }
}

/// group_backward on packed lanes for a unit of `rows` rows (after packed_forward with its
/// state kept; cotangents on K packed in av->packed_gk): per entry the same operations as
/// group_backward, so the same bits; D's rows (d_rows, lda apart; columns m..<ldm +0) and the
/// additions to av->d_sum and av->d_q unpacked row by row in order, as there.
AVX512 static void packed_backward(const distill_nk_problem *pb, long rows, avx_scratch *av, long m, long lp, long ldm,
                                   const float *slope, float *d_rows, long lda) {
    const int depth = pb->depth;
    const long nv = (rows * m + 15) / 16;
    const __m512 w = _mm512_set1_ps((float)pb->weight_variance), zero = _mm512_setzero_ps();
    const __m512 quarter_over_pi = _mm512_set1_ps((float)(0.5 / TWO_PI)), half = _mm512_set1_ps(0.5f);
    for (long e = 0; e < 16 * nv; e += 16) {
        const __m512 g = _mm512_loadu_ps(av->packed_gk + e);
        _mm512_storeu_ps(av->sigma + e, pb->kind == DISTILL_NK_NNGP ? g : zero);
        _mm512_storeu_ps(av->run_theta + e, pb->kind == DISTILL_NK_NTK ? g : zero);
        _mm512_storeu_ps(av->acc + e, zero);
    }
    for (int l = depth - 1; l >= 0; l--) {
        const __m512 sl = _mm512_set1_ps(slope[l]);
        for (long e = 0; e < 16 * nv; e += 16) {
            const long o = l * lp + e;
            const __m512 sqx = _mm512_loadu_ps(av->row_sq + o), rqx = _mm512_loadu_ps(av->row_rq + o);
            __m512 gt = _mm512_loadu_ps(av->run_theta + e);
            const __m512 gs_in = _mm512_add_ps(_mm512_loadu_ps(av->sigma + e), gt);
            const __m512 kd = _mm512_loadu_ps(av->kd + o), c = _mm512_loadu_ps(av->c + o);
            const __m512 gc = _mm512_mul_ps(_mm512_mul_ps(w, _mm512_loadu_ps(av->theta + o)),
                                            _mm512_mul_ps(gt, _mm512_loadu_ps(av->dkd + o)));
            const __m512 gk = _mm512_mul_ps(w, gs_in);
            gt = _mm512_mul_ps(_mm512_mul_ps(w, kd), gt);
            const __m512 inv = _mm512_mul_ps(rqx, _mm512_loadu_ps(av->lane_rq + o));
            const __m512 norm = _mm512_mul_ps(sqx, _mm512_loadu_ps(av->lane_sq + o));
            const __m512 gs = _mm512_fmadd_ps(gc, inv, _mm512_mul_ps(gk, kd));
            const __m512 term = _mm512_fmsub_ps(_mm512_mul_ps(gk, norm), _mm512_mul_ps(_mm512_loadu_ps(av->sine + o), quarter_over_pi),
                                                _mm512_mul_ps(_mm512_mul_ps(gc, c), half));
            _mm512_storeu_ps(av->acc + e, _mm512_fmadd_ps(_mm512_mul_ps(sl, _mm512_loadu_ps(av->lane_iq + o)), term, _mm512_loadu_ps(av->acc + e)));
            _mm512_storeu_ps(av->sigma + e, gs);
            _mm512_storeu_ps(av->run_theta + e, gt);
        }
    }
    for (long e = 0; e < 16 * nv; e += 16)
        _mm512_store_ps(av->sigma + e, _mm512_add_ps(_mm512_load_ps(av->sigma + e), _mm512_load_ps(av->run_theta + e)));
    // Per row and vector of 16 columns, D and the accumulators unpacked as in unpack_rows.
    for (long g = 0; g < rows; g++)
        for (long j = 0; j < ldm; j += 16) {
            const __mmask16 real = lanes_below(m - j);
            const __m512 d = _mm512_maskz_loadu_ps(real, av->sigma + g * m + j), acc = _mm512_maskz_loadu_ps(real, av->acc + g * m + j);
            _mm512_storeu_ps(d_rows + g * lda + j, d);
            add_widened(av->d_sum + j, d);
            add_widened(av->d_q + j, acc);
        }
}

/// d_alpha_t += g ⊗ K_i (Double) and the cotangents on K: gk_j = Σ_q g_q α_jq (Float32).
AVX512 static void row_alpha_gradient(const double *g, long classes, long ldm, avx_scratch *av, const float *k_row,
                                      float *gk_row) {
    for (long j = 0; j < ldm; j += 16) {
        const __m512 kv = _mm512_loadu_ps(k_row + j);
        const __m512d k_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(kv));
        const __m512d k_hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(kv), 1)));
        __m512 gk = _mm512_setzero_ps();
        for (long q = 0; q < classes; q++) {
            const __m512d gq = _mm512_set1_pd(g[q]);
            double *da = av->d_alpha_t + q * ldm + j;
            _mm512_storeu_pd(da, _mm512_fmadd_pd(gq, k_lo, _mm512_loadu_pd(da)));
            _mm512_storeu_pd(da + 8, _mm512_fmadd_pd(gq, k_hi, _mm512_loadu_pd(da + 8)));
            gk = _mm512_fmadd_ps(_mm512_set1_ps((float)g[q]), _mm512_loadu_ps(av->alpha_tf + q * ldm + j), gk);
        }
        _mm512_storeu_ps(gk_row + j, gk);
    }
}

/// f_r = K_r α for all GROUP rows of av->k (Double, 8 support columns at a time over
/// αᵀ, then a sum of the lanes; rows past the group's end hold finite leftovers whose
/// predictions are not used): each αᵀ vector loaded once for the group and each K row
/// converted to Double once (into av->k_double).
AVX512 static void group_predictions(const double *alpha_t, long classes, long ldm, avx_scratch *av,
                                     double (*f)[DISTILL_NK_MAX_CLASSES]) {
    for (int r = 0; r < GROUP; r++)
        for (long j = 0; j < ldm; j += 16) {
            const __m512 kv = _mm512_loadu_ps(av->k + r * ldm + j);
            _mm512_storeu_pd(av->k_double + r * ldm + j, _mm512_cvtps_pd(_mm512_castps512_ps256(kv)));
            _mm512_storeu_pd(av->k_double + r * ldm + j + 8, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(kv), 1))));
        }
    for (long q = 0; q < classes; q++) {
        const double *aq = alpha_t + q * ldm;
        __m512d acc0[GROUP], acc1[GROUP];
        for (int r = 0; r < GROUP; r++) { acc0[r] = _mm512_setzero_pd(); acc1[r] = _mm512_setzero_pd(); }
        for (long j = 0; j < ldm; j += 16) {
            const __m512d a0 = _mm512_loadu_pd(aq + j), a1 = _mm512_loadu_pd(aq + j + 8);
            for (int r = 0; r < GROUP; r++) {
                acc0[r] = _mm512_fmadd_pd(_mm512_loadu_pd(av->k_double + r * ldm + j), a0, acc0[r]);
                acc1[r] = _mm512_fmadd_pd(_mm512_loadu_pd(av->k_double + r * ldm + j + 8), a1, acc1[r]);
            }
        }
        for (int r = 0; r < GROUP; r++) f[r][q] = _mm512_reduce_add_pd(_mm512_add_pd(acc0[r], acc1[r]));
    }
}

/// row_alpha_gradient for a whole group of GROUP rows (g: GROUP x DISTILL_NK_MAX_CLASSES):
/// each d_alpha_t vector loaded and stored once for the group, the rows' products
/// added in row order (the same bits as row by row).
AVX512 static void group_alpha_gradient(const double (*g)[DISTILL_NK_MAX_CLASSES], long classes, long ldm, avx_scratch *av) {
    for (long j = 0; j < ldm; j += 16) {
        __m512d k_lo[GROUP], k_hi[GROUP];
        __m512 gk[GROUP];
        for (int r = 0; r < GROUP; r++) {
            const __m512 kv = _mm512_loadu_ps(av->k + r * ldm + j);
            k_lo[r] = _mm512_cvtps_pd(_mm512_castps512_ps256(kv));
            k_hi[r] = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(kv), 1)));
            gk[r] = _mm512_setzero_ps();
        }
        for (long q = 0; q < classes; q++) {
            double *da = av->d_alpha_t + q * ldm + j;
            __m512d lo = _mm512_loadu_pd(da), hi = _mm512_loadu_pd(da + 8);
            const __m512 a = _mm512_loadu_ps(av->alpha_tf + q * ldm + j);
            for (int r = 0; r < GROUP; r++) {
                const __m512d gq = _mm512_set1_pd(g[r][q]);
                lo = _mm512_fmadd_pd(gq, k_lo[r], lo);
                hi = _mm512_fmadd_pd(gq, k_hi[r], hi);
                gk[r] = _mm512_fmadd_ps(_mm512_set1_ps((float)g[r][q]), a, gk[r]);
            }
            _mm512_storeu_pd(da, lo);
            _mm512_storeu_pd(da + 8, hi);
        }
        for (int r = 0; r < GROUP; r++) _mm512_storeu_ps(av->gk + r * ldm + j, gk[r]);
    }
}

/// row_loss with the mean squared error for a whole group of GROUP rows (lanes: rows):
/// per row the same operations in the same order as row_loss (so the same bits), the
/// rows' losses added to *loss in row order; the rows' dependent chains over the classes
/// (the running maximum, the sum of squares) advance together instead of one row after another.
AVX512 static void group_loss_mse(long classes, double (*f)[DISTILL_NK_MAX_CLASSES], const int32_t *labels,
                                  double *loss, long *correct, int want_g) {
    _Static_assert(GROUP == 4, "group_loss_mse: one row per Double lane of a 256-bit vector");
#define COLUMN(q) _mm256_set_pd(f[3][q], f[2][q], f[1][q], f[0][q])
    const __m256i label = _mm256_set_epi64x(labels[3], labels[2], labels[1], labels[0]);
    __m256d best = COLUMN(0);
    __m256i arg = _mm256_setzero_si256();
    for (long q = 1; q < classes; q++) {   // the first arg-max: replaced only where strictly above
        const __m256d v = COLUMN(q);
        const __mmask8 above = _mm256_cmp_pd_mask(v, best, _CMP_GT_OQ);
        arg = _mm256_mask_blend_epi64(above, arg, _mm256_set1_epi64x(q));
        best = _mm256_mask_blend_pd(above, best, v);
    }
    *correct += __builtin_popcount(_mm256_cmpeq_epi64_mask(arg, label));
    const __m256d off = _mm256_set1_pd(1.0 / (double)classes), one = _mm256_set1_pd(1.0), zero = _mm256_setzero_pd();
    __m256d sum = zero;
    for (long q = 0; q < classes; q++) {
        const __mmask8 is_label = _mm256_cmpeq_epi64_mask(label, _mm256_set1_epi64x(q));
        const __m256d e = _mm256_sub_pd(COLUMN(q), _mm256_sub_pd(_mm256_mask_blend_pd(is_label, zero, one), off));
        sum = _mm256_add_pd(sum, _mm256_mul_pd(e, e));
        if (want_g) {
            double lanes[4];
            _mm256_storeu_pd(lanes, e);
            for (int r = 0; r < 4; r++) f[r][q] = lanes[r];
        }
    }
#undef COLUMN
    double sums[4];
    _mm256_storeu_pd(sums, sum);
    for (int r = 0; r < 4; r++) *loss += 0.5 * sums[r];
}

/// e^x on 8 Double lanes (x <= 0 here; any finite x works below 709): x = k ln 2 + r with k
/// the nearest integer to x / ln 2 and |r| <= ln 2 / 2 (ln 2 in two parts, so r is exact to
/// about 2^-60), e^r by its Taylor polynomial to degree 13 (truncation below 5e-18 relative),
/// then 2^k e^r by vscalefpd (0 for x below about -745, as exp). Measured against glibc's exp:
/// within 2 ulp over [-745, 0] (NeuralKernelAMXTests).
AVX512 static inline __m512d exp_pd(__m512d x) {
    const __m512d k = _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(1.4426950408889634)), _MM_FROUND_TO_NEAREST_INT);
    __m512d r = _mm512_fnmadd_pd(k, _mm512_set1_pd(6.93147180369123816490e-01), x);   // ln 2, high 32 bits
    r = _mm512_fnmadd_pd(k, _mm512_set1_pd(1.90821492927058770002e-10), r);           // ln 2 - high part
    static const double inverse_factorials[14] = {
        1.0, 1.0, 0.5, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
        1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800};
    __m512d p = _mm512_set1_pd(inverse_factorials[13]);
    for (int t = 12; t >= 0; t--) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(inverse_factorials[t]));
    return _mm512_scalef_pd(p, k);
}

/// log y on 8 Double lanes for finite y >= 1 (here: a sum of exponentials whose largest is 1):
/// y = m 2^e with m in [√½, √2), log m = 2 atanh(t), t = (m - 1)/(m + 1), |t| <= 0.172, by its
/// odd series to t^23 (truncation below 1e-19), plus e ln 2 (in two parts). Within 2 ulp of
/// glibc's log over [1, 1e6] (NeuralKernelAMXTests).
AVX512 static inline __m512d log_pd(__m512d y) {
    __m512d m = _mm512_getmant_pd(y, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    __m512d e = _mm512_getexp_pd(y);
    const __mmask8 high = _mm512_cmp_pd_mask(m, _mm512_set1_pd(1.4142135623730951), _CMP_GE_OQ);
    m = _mm512_mask_mul_pd(m, high, m, _mm512_set1_pd(0.5));
    e = _mm512_mask_add_pd(e, high, e, _mm512_set1_pd(1.0));
    const __m512d one = _mm512_set1_pd(1.0);
    const __m512d t = _mm512_div_pd(_mm512_sub_pd(m, one), _mm512_add_pd(m, one)), t2 = _mm512_mul_pd(t, t);
    __m512d p = _mm512_set1_pd(1.0 / 23);
    for (int k = 21; k >= 1; k -= 2) p = _mm512_fmadd_pd(p, t2, _mm512_set1_pd(1.0 / k));
    const __m512d log_m = _mm512_mul_pd(_mm512_add_pd(t, t), p);
    return _mm512_fmadd_pd(e, _mm512_set1_pd(6.93147180369123816490e-01),
                           _mm512_fmadd_pd(e, _mm512_set1_pd(1.90821492927058770002e-10), log_m));
}

/// row_loss with the cross-entropy for rows 0 ..< rows <= GROUP of f (labels[r] each): the
/// first arg-max as there; e^(f_q - f_max) by exp_pd 8 classes at a time, their sum (lanes,
/// then a tree), log of the rows' sums by log_pd at once; the rows' losses added to *loss in
/// row order; with want_g, f_q <- e_q / sum - [q = label]. Not row_loss's bits (libm's exp
/// and log, a sequential sum); within a few ulp of them.
AVX512 static void group_loss_ce(long classes, double (*f)[DISTILL_NK_MAX_CLASSES], const int32_t *labels, long rows,
                                 double *loss, long *correct, int want_g) {
    double sums[8] = {1, 1, 1, 1, 1, 1, 1, 1}, tops[GROUP], at_label[GROUP];   // lanes past `rows`: log 1
    for (long r = 0; r < rows; r++) {
        const long arg = first_argmax(f[r], classes);
        const double best = f[r][arg];
        *correct += arg == labels[r];
        tops[r] = best;
        at_label[r] = f[r][labels[r]];
        const __m512d top = _mm512_set1_pd(best);
        __m512d sum = _mm512_setzero_pd();
        for (long q = 0; q < classes; q += 8) {
            const __mmask8 live = classes - q >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (classes - q)) - 1u);
            const __m512d e = exp_pd(_mm512_sub_pd(_mm512_maskz_loadu_pd(live, f[r] + q), top));
            sum = _mm512_add_pd(sum, _mm512_maskz_mov_pd(live, e));
            if (want_g) _mm512_mask_storeu_pd(f[r] + q, live, e);   // divided by the sum below
        }
        sums[r] = _mm512_reduce_add_pd(sum);
    }
    double logs[8];
    _mm512_storeu_pd(logs, log_pd(_mm512_loadu_pd(sums)));
    for (long r = 0; r < rows; r++) {
        *loss += tops[r] + logs[r] - at_label[r];
        if (!want_g) continue;
        const __m512d sum = _mm512_set1_pd(sums[r]);
        for (long q = 0; q < classes; q += 8) {
            const __mmask8 live = classes - q >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (classes - q)) - 1u);
            _mm512_mask_storeu_pd(f[r] + q, live, _mm512_div_pd(_mm512_maskz_loadu_pd(live, f[r] + q), sum));
        }
        f[r][labels[r]] -= 1.0;
    }
}

/// exp_pd of x[0..<n] and log_pd of y[0..<n] (distill_nk_exp_log).
AVX512 static void exp_log_avx512(const double *x, const double *y, long n, double *exp_x, double *log_y) {
    for (long i = 0; i < n; i += 8) {
        const __mmask8 live = n - i >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_pd(exp_x + i, live, exp_pd(_mm512_maskz_loadu_pd(live, x + i)));
        _mm512_mask_storeu_pd(log_y + i, live, log_pd(_mm512_mask_loadu_pd(_mm512_set1_pd(1.0), live, y + i)));
    }
}

// ---------------------------------------------------------------------------
// Sparse byte images (MNIST: about 19% of the pixels nonzero). For a finite support
// set the products can skip zero pixels without changing a bit: every Float32
// accumulator of the two products is a chain acc = fma(x, s, acc) from +0 in a fixed
// order, and with x = +0 and s finite the product is ±0, so acc + (±0) == acc
// (acc is never -0: a chain from +0 of products of integers with Float32 values is a
// multiple of 2⁻¹⁴⁹, so it never underflows to zero, and an exact zero rounds to +0).
// Leaving such terms out, in the same order otherwise, gives the same bits. (With an
// infinite or NaN support value, 0 x inf would have made the dense result NaN.)

/// Whether the CPU has AVX512_VBMI2 (CPUID leaf 7, ECX bit 6; vpcompressw).
static int has_avx512_vbmi2(void) {
    static int cached = -1;
    return has_leaf7_ecx_feature(6, &cached);
}

#define AVX512_VBMI2 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vbmi2,fma")))

/// Pixels per chunk of the sparse forward product (a multiple of 64): a chunk of a panel
/// of Sᵀ (SKC x at most 7 vectors of 16: 56 KiB, 48 KiB for the usual 6) is used by every
/// row's nonzeros in it before the next. Measured on MNIST (tools/nk-pass-ab.sh, the
/// whole pass): 128 took 0.95-0.98 of the time of 64 at m = 100 and 500 (fewer calls
/// per row), all 784 pixels at once (Sᵀ from L2) 1.02-1.04, 32 pixels 1.07-1.10.
#ifndef NK_SPARSE_KC
#define NK_SPARSE_KC 128
#endif
#define SKC NK_SPARSE_KC
_Static_assert(SKC % 64 == 0, "the sparse forward's chunks are whole 64-pixel steps of nonzero_lists");

/// Per row i < padded of the super-block: its nonzero pixels in increasing order
/// (idx + i ldi, ldi >= p + 32: the last store writes up to 32 entries past them) and
/// where each SKC-pixel chunk's start in that list (chunk + i (nchunks + 1), the last
/// entry the row's count); padding rows i >= nb have none. 32 pixels at a time: a mask
/// of the nonzero bytes compresses the pixel numbers (vpcompressw, branch-free). Returns the total.
AVX512_VBMI2 static long nonzero_lists_vbmi2(const uint8_t *src, long p, long nb, long padded, uint16_t *idx, long ldi,
                                             uint16_t *chunk) {
    const long nchunks = (p + SKC - 1) / SKC;
    const __m512i step = _mm512_set1_epi16(32);
    long total = 0;
    for (long i = 0; i < padded; i++) {
        uint16_t *out = idx + i * ldi, *cs = chunk + i * (nchunks + 1);
        long n = 0;
        if (i < nb) {
            const uint8_t *row = src + i * p;
            __m512i number = _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
                                              15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
            for (long k = 0; k < p; k += 32) {
                if (k % SKC == 0) cs[k / SKC] = (uint16_t)n;
                const __mmask32 live = p - k >= 32 ? ~(__mmask32)0 : (((__mmask32)1) << (p - k)) - 1;
                const __m256i bytes = _mm256_maskz_loadu_epi8(live, row + k);
                const __mmask32 nz = _mm256_test_epi8_mask(bytes, bytes);
                _mm512_storeu_si512(out + n, _mm512_maskz_compress_epi16(nz, number));
                n += __builtin_popcount(nz);
                number = _mm512_add_epi16(number, step);
            }
        } else
            for (long c = 0; c < nchunks; c++) cs[c] = 0;
        cs[nchunks] = (uint16_t)n;
        total += n;
    }
    return total;
}

/// nonzero_lists_vbmi2 without vpcompressw: the mask's bits one at a time.
AVX512 static long nonzero_lists_bits(const uint8_t *src, long p, long nb, long padded, uint16_t *idx, long ldi,
                                      uint16_t *chunk) {
    const long nchunks = (p + SKC - 1) / SKC;
    long total = 0;
    for (long i = 0; i < padded; i++) {
        uint16_t *out = idx + i * ldi, *cs = chunk + i * (nchunks + 1);
        long n = 0;
        for (long k = 0; k < p; k += 64) {
            if (k % SKC == 0) cs[k / SKC] = (uint16_t)n;
            if (i >= nb) continue;
            const __mmask64 live = p - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1) << (p - k)) - 1;
            const __m512i bytes = _mm512_maskz_loadu_epi8(live, src + i * p + k);
            __mmask64 nz = _mm512_test_epi8_mask(bytes, bytes);
            while (nz) { out[n++] = (uint16_t)(k + __builtin_ctzll(nz)); nz &= nz - 1; }
        }
        cs[nchunks] = (uint16_t)n;
        total += n;
    }
    return total;
}

static long nonzero_lists(const uint8_t *src, long p, long nb, long padded, uint16_t *idx, long ldi, uint16_t *chunk) {
#ifdef NK_NO_VBMI2   // tools' builds: the fallback on a CPU that has VBMI2
    return nonzero_lists_bits(src, p, nb, padded, idx, ldi, chunk);
#endif
    return has_avx512_vbmi2() ? nonzero_lists_vbmi2(src, p, nb, padded, idx, ldi, chunk)
                              : nonzero_lists_bits(src, p, nb, padded, idx, ldi, chunk);
}

/// One row's A entries for a panel's NV vectors of columns (a: the row's entries,
/// holding the partial sums over the earlier pixels) += Σ over the row's nonzero
/// pixels k (idx, n of them, increasing) of x_k Sᵀ[k] (st: the panel, rows lds apart):
/// per column the chain of fwd_tile_*_NV without its terms of zero pixels.
#define FWD_SPARSE_ROW(NV)                                                                              \
    AVX512 static void fwd_sparse_row_##NV(const float *x, const uint16_t *idx, long n, const float *st, \
                                           long lds, float *a) {                                        \
        __m512 acc[NV];                                                                                 \
        for (int v = 0; v < NV; v++) acc[v] = _mm512_loadu_ps(a + 16 * v);                              \
        for (long t = 0; t < n; t++) {                                                                  \
            const long k = idx[t];                                                                      \
            const __m512 xk = _mm512_set1_ps(x[k]);                                                     \
            const float *s = st + k * lds;                                                              \
            for (int v = 0; v < NV; v++) acc[v] = _mm512_fmadd_ps(xk, _mm512_loadu_ps(s + 16 * v), acc[v]); \
        }                                                                                               \
        for (int v = 0; v < NV; v++) _mm512_storeu_ps(a + 16 * v, acc[v]);                              \
    }
FWD_SPARSE_ROW(2) FWD_SPARSE_ROW(3) FWD_SPARSE_ROW(4) FWD_SPARSE_ROW(5) FWD_SPARSE_ROW(6) FWD_SPARSE_ROW(7)

/// gemm_forward_avx512 over each row's nonzero pixels only (the same bits): per panel,
/// per chunk of SKC pixels, each row's nonzeros in the chunk (nonzero_lists: idx rows
/// ldi apart, chunk starts). A panel of one vector stays dense (forward_panel): one
/// row's single chain of dependent FMAs measured slower than the dense 12 x 1 tiles
/// (m = 20, one such panel: the pass 1.39x the dense kernel's time).
AVX512 static void gemm_forward_sparse(const float *xf, long ldp, const float *packed, long nv, long p, float *a, long lda,
                                       long rows, const uint16_t *idx, long ldi, const uint16_t *chunk) {
    const long nchunks = (p + SKC - 1) / SKC;
    for (long v0 = 0; v0 < nv;) {
        const long nvp = panel_vectors(nv, v0), j = 16 * v0, lds = 16 * nvp;
        const float *st = packed + 16 * p * v0;
        if (nvp == 1) { forward_panel(xf, ldp, st, 1, p, a + j, lda, rows); v0 += 1; continue; }
        for (long i = 0; i < rows; i++)
            for (long v = 0; v < nvp; v++) _mm512_storeu_ps(a + i * lda + j + 16 * v, _mm512_setzero_ps());
        for (long c = 0; c < nchunks; c++) {
            for (long i = 0; i < rows; i++) {
                const uint16_t *cs = chunk + i * (nchunks + 1);
                const long s = cs[c], n = cs[c + 1] - s;
                if (n == 0) continue;
                const uint16_t *r = idx + i * ldi + s;
                const float *x = xf + i * ldp;
                float *ai = a + i * lda + j;
                switch (nvp) {
                case 7: fwd_sparse_row_7(x, r, n, st, lds, ai); break;
                case 6: fwd_sparse_row_6(x, r, n, st, lds, ai); break;
                case 5: fwd_sparse_row_5(x, r, n, st, lds, ai); break;
                case 4: fwd_sparse_row_4(x, r, n, st, lds, ai); break;
                case 3: fwd_sparse_row_3(x, r, n, st, lds, ai); break;
                default: fwd_sparse_row_2(x, r, n, st, lds, ai); break;
                }
            }
        }
        v0 += nvp;
    }
}

/// A block's rows with a nonzero pixel k, per pixel in row order: list[start[k] ..<
/// start[k + 1]] (start: p + 1 ints; fill: p ints of scratch), from the rows' lists.
static void pixel_lists(const uint16_t *idx, long ldi, long p, const uint16_t *chunk, long nb, int32_t *start, int32_t *fill,
                        uint8_t *list) {
    const long nchunks = (p + SKC - 1) / SKC;
    for (long k = 0; k <= p; k++) start[k] = 0;
    for (long i = 0; i < nb; i++)
        for (long t = 0, n = chunk[i * (nchunks + 1) + nchunks]; t < n; t++) start[idx[i * ldi + t] + 1]++;
    for (long k = 0; k < p; k++) { start[k + 1] += start[k]; fill[k] = start[k]; }
    for (long i = 0; i < nb; i++)
        for (long t = 0, n = chunk[i * (nchunks + 1) + nchunks]; t < n; t++) list[fill[idx[i * ldi + t]]++] = (uint8_t)i;
}

/// The backward product's columns in chunks of at most this many vectors of 16
/// (a block's D chunk: NB x 8 x 64 bytes, 48 KiB).
#define BWD_SPARSE_VECTORS 8

/// The number of vectors of the backward chunk that starts at vector v0 of nv (even widths).
static long bwd_chunk_vectors(long nv, long v0) {
    const long chunks = (nv + BWD_SPARSE_VECTORS - 1) / BWD_SPARSE_VECTORS, w = (nv + chunks - 1) / chunks;
    return nv - v0 < w ? nv - v0 : w;
}

/// One block's Dᵀ xf for NV vectors of 16 support columns (d: D's rows, lda apart,
/// from the chunk's first column), per pixel with a nonzero row: the chain over the
/// pixel's nonzero rows in row order (bwd_tile_*'s chain without its zero terms), its
/// Float32 sum added in Double to out + k W (W = 16 NV; pixels without a nonzero
/// row would add +0 and are skipped).
#define BWD_SPARSE(NV)                                                                                   \
    AVX512 static void bwd_sparse_##NV(const float *d, long lda, const float *xf, long ldp, long p,      \
                                       const int32_t *start, const uint8_t *list, double *out) {         \
        for (long k = 0; k < p; k++) {                                                                   \
            const int32_t s = start[k], e = start[k + 1];                                                \
            if (s == e) continue;                                                                        \
            __m512 acc[NV];                                                                              \
            for (int v = 0; v < NV; v++) acc[v] = _mm512_setzero_ps();                                   \
            for (int32_t t = s; t < e; t++) {                                                            \
                const long i = list[t];                                                                  \
                const __m512 x = _mm512_set1_ps(xf[i * ldp + k]);                                        \
                for (int v = 0; v < NV; v++)                                                             \
                    acc[v] = _mm512_fmadd_ps(_mm512_loadu_ps(d + i * lda + 16 * v), x, acc[v]);           \
            }                                                                                            \
            double *o = out + k * 16 * NV;                                                               \
            for (int v = 0; v < NV; v++) {                                                               \
                const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(acc[v]));                      \
                const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(                                     \
                                                   _mm512_extractf64x4_pd(_mm512_castps_pd(acc[v]), 1))); \
                _mm512_storeu_pd(o + 16 * v, _mm512_add_pd(_mm512_loadu_pd(o + 16 * v), lo));            \
                _mm512_storeu_pd(o + 16 * v + 8, _mm512_add_pd(_mm512_loadu_pd(o + 16 * v + 8), hi));    \
            }                                                                                            \
        }                                                                                                \
    }
BWD_SPARSE(1) BWD_SPARSE(2) BWD_SPARSE(3) BWD_SPARSE(4) BWD_SPARSE(5) BWD_SPARSE(6) BWD_SPARSE(7) BWD_SPARSE(8)

/// gemm_backward_avx512 over the nonzero pixels of each block, into dot_sum laid out by
/// column chunks (bwd_chunk_vectors): the chunk of vectors v0..<v0+w holds its entry
/// (j, k) at dot_sum + 16 v0 ldp + k 16 w + (j - 16 v0). Per chunk, each block in order
/// (block t: block_rows[t] rows; pixel lists start + t (p + 1), list + t NB p), so each
/// entry's additions are those of gemm_backward_avx512, in the same order.
AVX512 static void gemm_backward_sparse(const float *d, long lda, const float *xf, long ldp, long p, long ldm,
                                        const long *block_rows, long nsub, const int32_t *start, const uint8_t *list,
                                        double *dot_sum) {
    const long nv = ldm / 16;
    for (long v0 = 0; v0 < nv;) {
        const long w = bwd_chunk_vectors(nv, v0);
        double *out = dot_sum + 16 * v0 * ldp;
        for (long t = 0; t < nsub; t++) {
            if (block_rows[t] == 0) continue;
            const float *dt = d + t * NB * lda + 16 * v0, *xt = xf + t * NB * ldp;
            const int32_t *st = start + t * (p + 1);
            const uint8_t *lt = list + t * NB * p;
            switch (w) {
            case 8: bwd_sparse_8(dt, lda, xt, ldp, p, st, lt, out); break;
            case 7: bwd_sparse_7(dt, lda, xt, ldp, p, st, lt, out); break;
            case 6: bwd_sparse_6(dt, lda, xt, ldp, p, st, lt, out); break;
            case 5: bwd_sparse_5(dt, lda, xt, ldp, p, st, lt, out); break;
            case 4: bwd_sparse_4(dt, lda, xt, ldp, p, st, lt, out); break;
            case 3: bwd_sparse_3(dt, lda, xt, ldp, p, st, lt, out); break;
            case 2: bwd_sparse_2(dt, lda, xt, ldp, p, st, lt, out); break;
            default: bwd_sparse_1(dt, lda, xt, ldp, p, st, lt, out); break;
            }
        }
        v0 += w;
    }
}

/// The numbers of the set bits of bits[0 ..< words] (bit b of word w: 64 w + b < 256), in
/// increasing order, into list (room for 64 words more than the count); returns the count.
/// VBMI2: one vpcompressb per word.
AVX512_VBMI2 static long chunk_list_vbmi2(const uint64_t *bits, long words, uint8_t *list) {
    const __m512i iota = _mm512_set_epi8(63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44,
                                         43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24,
                                         23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    long n = 0;
    for (long w = 0; w < words; w++) {
        _mm512_storeu_si512(list + n, _mm512_maskz_compress_epi8(bits[w], _mm512_add_epi8(iota, _mm512_set1_epi8((char)(64 * w)))));
        n += __builtin_popcountll(bits[w]);
    }
    return n;
}

/// chunk_list_vbmi2 without vpcompressb: the bits one at a time.
static long chunk_list_bits(const uint64_t *bits, long words, uint8_t *list) {
    long n = 0;
    for (long w = 0; w < words; w++)
        for (uint64_t b = bits[w]; b; b &= b - 1) list[n++] = (uint8_t)(64 * w + __builtin_ctzll(b));
    return n;
}

/// load_dot_tile_ROWS_J over only the 16-pixel chunks where one of the ROWS rows has a
/// nonzero pixel (their chunk bits ORed: `chunks` + r is row r's first word, words
/// `ldw` apart, `words` of them), in increasing order, so each accumulator's chain is
/// the dense one without its terms of zero pixels (the same bits). A partial last chunk
/// (`tail`) goes last, with masked loads. Writes A only (xf is not written on this path).
#define LOAD_DOT_SKIP_TILE(ROWS, J)                                                                        \
    AVX512_VNNI __attribute__((noinline)) static void load_dot_skip_##ROWS##_##J(                          \
        const uint8_t *const *src, long p, long ldp, const float *s_rows, float *a, long lda,              \
        const uint8_t *list, long n, int tail) {                                                           \
        __m512 acc[ROWS][16];                                                                              \
        for (int r = 0; r < ROWS; r++)                                                                     \
            for (int j = 0; j < 16; j++) acc[r][j] = _mm512_setzero_ps();                                  \
        for (long t = 0; t < n; t++) {                                                                     \
            const long k = 16 * (long)list[t];                                                             \
            __m512 x[ROWS];                                                                                \
            for (int r = 0; r < ROWS; r++)                                                                 \
                x[r] = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(src[r] + k)))); \
            for (int j = 0; j < J; j++) {                                                                  \
                const __m512 sv = _mm512_load_ps(s_rows + j * ldp + k);                                    \
                for (int r = 0; r < ROWS; r++) acc[r][j] = _mm512_fmadd_ps(x[r], sv, acc[r][j]);           \
            }                                                                                              \
        }                                                                                                  \
        if (tail) {                                                                                        \
            const long k = 16 * (p / 16);                                                                  \
            __m512 x[ROWS];                                                                                \
            for (int r = 0; r < ROWS; r++) {                                                               \
                x[r] = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8((__mmask16)((1u << (p - k)) - 1u), src[r] + k))); \
            }                                                                                              \
            for (int j = 0; j < J; j++) {                                                                  \
                const __m512 sv = _mm512_load_ps(s_rows + j * ldp + k);                                    \
                for (int r = 0; r < ROWS; r++) acc[r][j] = _mm512_fmadd_ps(x[r], sv, acc[r][j]);           \
            }                                                                                              \
        }                                                                                                  \
        for (int r = 0; r < ROWS; r++) _mm512_store_ps(a + r * lda, sum16_ps(acc[r]));                     \
    }
LOAD_DOT_SKIP_TILE(2, 1) LOAD_DOT_SKIP_TILE(2, 2) LOAD_DOT_SKIP_TILE(2, 3) LOAD_DOT_SKIP_TILE(2, 4)
LOAD_DOT_SKIP_TILE(2, 5) LOAD_DOT_SKIP_TILE(2, 6) LOAD_DOT_SKIP_TILE(2, 7) LOAD_DOT_SKIP_TILE(2, 8)
LOAD_DOT_SKIP_TILE(2, 9) LOAD_DOT_SKIP_TILE(2, 10) LOAD_DOT_SKIP_TILE(2, 11) LOAD_DOT_SKIP_TILE(2, 12)
LOAD_DOT_SKIP_TILE(1, 1) LOAD_DOT_SKIP_TILE(1, 2) LOAD_DOT_SKIP_TILE(1, 3) LOAD_DOT_SKIP_TILE(1, 4)
LOAD_DOT_SKIP_TILE(1, 5) LOAD_DOT_SKIP_TILE(1, 6) LOAD_DOT_SKIP_TILE(1, 7) LOAD_DOT_SKIP_TILE(1, 8)
LOAD_DOT_SKIP_TILE(1, 9) LOAD_DOT_SKIP_TILE(1, 10) LOAD_DOT_SKIP_TILE(1, 11) LOAD_DOT_SKIP_TILE(1, 12)
LOAD_DOT_SKIP_TILE(1, 13) LOAD_DOT_SKIP_TILE(1, 14) LOAD_DOT_SKIP_TILE(1, 15) LOAD_DOT_SKIP_TILE(1, 16)

/// Rows per tile of the sparse narrow sweep for J <= 12 (above, 1): 2 rows share each
/// support vector's load over the union of their nonzero chunks; 1 row runs over its own.
/// Measured on MNIST (tools/nk-pass-ab.sh, the whole pass, 2 rows against 1): 0.979 at
/// m = 5, 0.984 at m = 10.
#ifndef NK_NARROW_SKIP_ROWS
#define NK_NARROW_SKIP_ROWS 2
#endif

/// The share of its tiles' 16-pixel chunks (rows ORed per tile) below which the narrow sweep
/// (m <= 16) skips the all-zero ones (DISTILL_NK_SPARSE_AUTO), measured on the call's first
/// super-block and kept for the call. A tile's chunk costs the same FMAs whether 1 or 16 of
/// its pixels are nonzero, and the lists cost a little, so the pixels' density says little
/// here. Measured at m = 10 (tools/nk-pass-ab.sh, NK_NEW_SPARSE=on against the dense sweep,
/// the whole pass): MNIST (69% of pairs' chunks) 0.94; random bytes 5% nonzero (pairs' chunks
/// about 81%) 1.00; 10% (96%) 1.09.
#ifndef NK_NARROW_CHUNKS_BELOW
#define NK_NARROW_CHUNKS_BELOW 0.75
#endif

/// The share of nonzero 16-pixel chunks of the narrow sweep's tiles (NK_NARROW_SKIP_ROWS rows
/// ORed for m <= 12, else single rows) over rows b0 ..< b0 + nb, from byte_sums' chunk bits
/// (into chunks, ldw; the sums into sc, overwritten later).
AVX512_VNNI static double narrow_chunk_density(const distill_nk_problem *pb, long b0, long nb, long m, scratch *sc,
                                               uint64_t *chunks, long ldw) {
    const long p = pb->features, rows = m <= 12 ? NK_NARROW_SKIP_ROWS : 1, words = (p + 1023) / 1024;
    block_statistics(pb, b0, nb, sc, chunks, ldw);
    double taken = 0;
    for (long i = 0; i < nb; i += rows)
        for (long w = 0; w < words; w++) {
            uint64_t bits = 0;
            for (long r = 0; r < rows && i + r < nb; r++) bits |= chunks[w * ldw + i + r];
            taken += (double)__builtin_popcountll(bits) * (double)(nb - i < rows ? nb - i : rows);
        }
    return taken / ((double)nb * (double)((p + 15) / 16));
}

/// load_forward_narrow for sparse byte images, the same A, sums and layer data (bits):
/// first each row's Σx, Σx² and nonzero 16-pixel chunks (byte_sums; chunk bits into
/// `chunks`, word w of row i at w ldw + i), then the dot-product tiles over only the
/// chunks where a row of the tile is nonzero (their numbers listed by vpcompressb).
/// xf is NOT written: its only reader on this path, gemm_backward_rows, converts the
/// bytes of the rows it needs again (cheaper than the stores of xf: 300 KiB a block,
/// which leave L1; measured at m = 10, the pass with the stores of xf 1.04 of the dense
/// sweep's time, without 0.955). Returns the multiply-adds done (rows < nb).
AVX512_VNNI static double load_forward_narrow_skip(const distill_nk_problem *pb, long b0, long nb, long padded, long ldp,
                                                   scratch *sc, const float *s_rows, long J, float *a, long lda, long ahead,
                                                   long end, uint64_t *chunks, long ldw) {
    const long p = pb->features, rows = J <= 12 ? NK_NARROW_SKIP_ROWS : 1, words = (p + 1023) / 1024;
    const long last = (p - 1) / 16;   // the last chunk, which holds p - 16 last pixels
#ifdef NK_NO_VBMI2   // tools' builds: the fallback on a CPU that has VBMI2
    const int vbmi2 = 0;
#else
    const int vbmi2 = has_avx512_vbmi2();
#endif
    uint8_t list[256 + 64];
    const uint8_t *bytes = (const uint8_t *)pb->pixels + b0 * p;
    block_statistics(pb, b0, nb, sc, chunks, ldw);
    for (long row = nb; row < padded; row++)
        for (long w = 0; w < words; w++) chunks[w * ldw + row] = 0;
    double macs = 0;
    for (long i = 0; i < padded; i += rows) {
        const uint8_t *src[2];
        for (long r = 0; r < rows; r++) {
            const long row = i + r;
            src[r] = row < nb ? bytes + row * p : zero_row;
            if (row < nb && row < ahead && b0 + nb + row < end)   // a prefetch never faults; + 63 reaches the row's last line
                for (long k = 0; k < p + 63; k += 64) _mm_prefetch((const char *)(src[r] + nb * p + k), _MM_HINT_T1);
        }
        float *ai = a + i * lda;
        // The tile's chunks (its rows' bits ORed): a partial last one (p not a multiple of 16) apart.
        uint64_t bits[4];
        for (long w = 0; w < words; w++) {
            bits[w] = 0;
            for (long r = 0; r < rows; r++) bits[w] |= chunks[w * ldw + i + r];
        }
        const int tail = p % 16 && ((bits[last / 64] >> (last % 64)) & 1);
        if (p % 16) bits[last / 64] &= ~(1ull << (last % 64));
        const long n = vbmi2 ? chunk_list_vbmi2(bits, words, list) : chunk_list_bits(bits, words, list);
#define SKIP_DOTS(R, J) case J: load_dot_skip_##R##_##J(src, p, ldp, s_rows, ai, lda, list, n, tail); break;
        if (rows == 2)
            switch (J) {
            SKIP_DOTS(2, 1) SKIP_DOTS(2, 2) SKIP_DOTS(2, 3) SKIP_DOTS(2, 4) SKIP_DOTS(2, 5) SKIP_DOTS(2, 6)
            SKIP_DOTS(2, 7) SKIP_DOTS(2, 8) SKIP_DOTS(2, 9) SKIP_DOTS(2, 10) SKIP_DOTS(2, 11)
            default: load_dot_skip_2_12(src, p, ldp, s_rows, ai, lda, list, n, tail); break;
            }
        else
            switch (J) {
            SKIP_DOTS(1, 1) SKIP_DOTS(1, 2) SKIP_DOTS(1, 3) SKIP_DOTS(1, 4) SKIP_DOTS(1, 5) SKIP_DOTS(1, 6)
            SKIP_DOTS(1, 7) SKIP_DOTS(1, 8) SKIP_DOTS(1, 9) SKIP_DOTS(1, 10) SKIP_DOTS(1, 11) SKIP_DOTS(1, 12)
            SKIP_DOTS(1, 13) SKIP_DOTS(1, 14) SKIP_DOTS(1, 15)
            default: load_dot_skip_1_16(src, p, ldp, s_rows, ai, lda, list, n, tail); break;
            }
#undef SKIP_DOTS
        // Pixels multiplied per real row: 16 per chunk, the partial last one p - 16 last.
        const long pixels = 16 * n + (tail ? p - 16 * last : 0);
        const long real = nb - i < rows ? (nb - i > 0 ? nb - i : 0) : rows;
        macs += (double)(real * pixels) * (double)J;
    }
    rows_layers(pb, nb, padded, sc);
    return macs;
}

/// Rows (bits) of a block's strips for gemm_backward_rows: per strip of two whole 16-pixel
/// chunks c, c + 1 (c even; 16 (c + 2) <= p) the rows with a nonzero pixel in either, per
/// chunk taken alone (a last single or partial one) its rows with a nonzero pixel there:
/// bit i % 64 of out[2 c + i / 64] for row i < nb of the block (NB <= 128), from the rows'
/// chunk bits (`chunks`: word w of the block's row i at w ldw + i, rows >= nb ignored).
/// Per group of 8 rows and strip one vptestmq (on each row's word ORed with itself shifted
/// by one chunk), the groups' 8 bits joined in mask registers. Returns the pixels
/// bwd_rows_* multiply per support column: per strip its rows x 32, per chunk taken alone
/// its rows x its pixels.
AVX512 static double chunk_rows(const uint64_t *chunks, long ldw, long nb, long p, uint64_t *out) {
    _Static_assert(NB <= 128 && NB % 8 == 0, "chunk_rows: two words of row bits per strip, 8 rows a mask");
    const long nch = (p + 15) / 16;
    double pixels = 0;
    for (long w = 0; w < (nch + 63) / 64; w++) {
        __m512i v[NB / 8], pair[NB / 8];   // 8 rows' word w a vector (rows >= nb zero); chunk c | chunk c + 1 at bit c
        for (long g = 0; g < NB / 8; g++) {
            const long left = nb - 8 * g;
            v[g] = _mm512_maskz_loadu_epi64((__mmask8)(left >= 8 ? 0xff : (left > 0 ? (1u << left) - 1u : 0u)), chunks + w * ldw + 8 * g);
            pair[g] = _mm512_or_si512(v[g], _mm512_srli_epi64(v[g], 1));
        }
        // Strips start at even chunks (64 w is even), so a strip's two chunks share a word.
        for (long c = 64 * w; c < nch && c < 64 * w + 64;) {
            const int strip = 16 * (c + 2) <= p;
            const __m512i bit = _mm512_set1_epi64((long long)(1ull << (c % 64)));
            __mmask16 k[16];
            for (int g = 0; g < 16; g++) k[g] = g < NB / 8 ? (__mmask16)_mm512_test_epi64_mask(strip ? pair[g] : v[g], bit) : 0;
            const uint64_t lo = _cvtmask64_u64(_mm512_kunpackd(
                _mm512_kunpackw(_mm512_kunpackb(k[7], k[6]), _mm512_kunpackb(k[5], k[4])),
                _mm512_kunpackw(_mm512_kunpackb(k[3], k[2]), _mm512_kunpackb(k[1], k[0]))));
            const uint64_t hi = _cvtmask64_u64(_mm512_kunpackd(
                _mm512_kunpackw(_mm512_kunpackb(k[15], k[14]), _mm512_kunpackb(k[13], k[12])),
                _mm512_kunpackw(_mm512_kunpackb(k[11], k[10]), _mm512_kunpackb(k[9], k[8]))));
            out[2 * c] = lo;
            out[2 * c + 1] = hi;
            pixels += (double)(__builtin_popcountll(lo) + __builtin_popcountll(hi)) * (double)(strip ? 32 : (p - 16 * c < 16 ? p - 16 * c : 16));
            c += strip ? 2 : 1;
        }
    }
    return pixels;
}

/// One block's Dᵀ xf for support columns 0..<JT (d: D's rows, lda apart; JT <= 14), per
/// strip of two 16-pixel chunks over only the rows with a nonzero pixel in either (rows:
/// chunk_rows' bits), in row order: bwd_tile_*'s chain per column and pixel
/// without its terms of rows that are zero in the strip (the same bits; a row zero in one
/// of the chunks only adds fma(d, 0, acc) = acc there), each x converted from the bytes
/// (src: the block's rows, p apart). Its Float32 sum added in Double to out (rows ldo
/// apart, as in gemm_backward_avx512; a strip without rows adds +0, which changes
/// nothing). A last single chunk, or a partial one (p not a multiple of 16), goes alone
/// with its loads masked.
#define BWD_ROWS_WORD(NV, JT, WORD, BASE, LIVE)                                                            \
    for (uint64_t bits = (WORD); bits; bits &= bits - 1) {                                                 \
        const long i = (BASE) + __builtin_ctzll(bits);                                                     \
        __m512 x[NV];                                                                                      \
        for (int v = 0; v < NV; v++)                                                                       \
            x[v] = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(                                                \
                NV == 2 ? _mm_loadu_si128((const __m128i *)(s0 + i * p + 16 * v)) : _mm_maskz_loadu_epi8((LIVE), s0 + i * p))); \
        for (int j = 0; j < JT; j++) {                                                                     \
            const __m512 dj = _mm512_set1_ps(d[i * lda + j]);                                              \
            for (int v = 0; v < NV; v++) acc[j][v] = _mm512_fmadd_ps(dj, x[v], acc[j][v]);                 \
        }                                                                                                  \
    }
#define BWD_ROWS_STRIP(NV, JT, LIVE)                                                                       \
    {                                                                                                      \
        __m512 acc[JT][NV];                                                                                \
        for (int j = 0; j < JT; j++)                                                                       \
            for (int v = 0; v < NV; v++) acc[j][v] = _mm512_setzero_ps();                                  \
        BWD_ROWS_WORD(NV, JT, rows[2 * c], 0, LIVE)                                                        \
        BWD_ROWS_WORD(NV, JT, rows[2 * c + 1], 64, LIVE)                                                   \
        for (int j = 0; j < JT; j++)                                                                       \
            for (int v = 0; v < NV; v++) {                                                                 \
                const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(acc[j][v]));                     \
                const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[j][v]), 1))); \
                double *o = out + j * ldo + 16 * (c + v);                                                  \
                _mm512_store_pd(o, _mm512_add_pd(_mm512_load_pd(o), lo));                                  \
                _mm512_store_pd(o + 8, _mm512_add_pd(_mm512_load_pd(o + 8), hi));                          \
            }                                                                                              \
    }
#define BWD_ROWS(JT)                                                                                       \
    AVX512 __attribute__((noinline)) static void bwd_rows_##JT(const float *d, long lda, const uint8_t *src, long p, long nch, \
                                                               const uint64_t *rows, double *out, long ldo) { \
        for (long c = 0; c < nch;) {                                                                       \
            const uint8_t *s0 = src + 16 * c;                                                              \
            if (16 * (c + 2) <= p) { BWD_ROWS_STRIP(2, JT, (__mmask16)0xffff) c += 2; }                    \
            else {                                                                                         \
                const __mmask16 live = p - 16 * c >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (p - 16 * c)) - 1u); \
                BWD_ROWS_STRIP(1, JT, live) c += 1;                                                        \
            }                                                                                              \
        }                                                                                                  \
    }
BWD_ROWS(1) BWD_ROWS(2) BWD_ROWS(3) BWD_ROWS(4) BWD_ROWS(5) BWD_ROWS(6) BWD_ROWS(7)
BWD_ROWS(8) BWD_ROWS(9) BWD_ROWS(10) BWD_ROWS(11) BWD_ROWS(12) BWD_ROWS(13) BWD_ROWS(14)

/// bwd_rows_JT for columns j0 ..< j0 + JT (JT <= 14).
AVX512 static void bwd_rows_columns(long jt, const float *d, long lda, const uint8_t *src, long p, long nch,
                                    const uint64_t *rows, double *out, long ldo) {
#define ROWS_CASE(JT) case JT: bwd_rows_##JT(d, lda, src, p, nch, rows, out, ldo); break;
    switch (jt) {
    ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5) ROWS_CASE(6) ROWS_CASE(7)
    ROWS_CASE(8) ROWS_CASE(9) ROWS_CASE(10) ROWS_CASE(11) ROWS_CASE(12) ROWS_CASE(13)
    default: bwd_rows_14(d, lda, src, p, nch, rows, out, ldo); break;
    }
#undef ROWS_CASE
}

/// gemm_backward_avx512 for m <= 16 over only each strip's nonzero rows (chunk_rows per
/// block t: rows + 2 nch t; src: the super-block's bytes), block by block in order: the
/// same bits. Columns in one tile up to 14, else two (8 and m - 8). Measured on MNIST
/// (one block at a time, 30000 rows, m = 10): the dense product 3.3 ms, this 3.1 ms plus
/// 0.35 ms of chunk_rows; strips of one chunk (58% of the rows x pixels, against 72%)
/// took as long: one converted vector per 10 FMAs instead of two per 20 leaves the loads
/// and conversions the limit. gemm_backward_sparse (per pixel) made the whole pass 1.89x
/// the dense one's time at m = 10.
AVX512 static void gemm_backward_rows(const float *d, long lda, const uint8_t *src, long ldp, long p, long m,
                                      const long *block_rows, long nsub, const uint64_t *rows, double *dot_sum) {
    const long nch = (p + 15) / 16;
    for (long t = 0; t < nsub; t++) {
        if (block_rows[t] == 0) continue;
        const float *dt = d + t * NB * lda;
        const uint8_t *xt = src + t * NB * p;
        const uint64_t *rt = rows + 2 * nch * t;
        if (m <= 14) bwd_rows_columns(m, dt, lda, xt, p, nch, rt, dot_sum, ldp);
        else {
            bwd_rows_columns(8, dt, lda, xt, p, nch, rt, dot_sum, ldp);
            bwd_rows_columns(m - 8, dt + 8, lda, xt, p, nch, rt, dot_sum + 8 * ldp, ldp);
        }
    }
}

/// The fewest support images whose narrow sweep (m <= 16) takes AMX tiles for its products:
/// the tiles compute 4 m of their 16 columns (one per digit and image), so at m = 1 or 2 the
/// FMA loops, which skip zero chunks, take less time. Measured on MNIST (tools/nk-pass-ab.sh,
/// depth 2, 30000 rows, one thread, against the FMA pass): new / base 1.12 at m = 1, 1.07 at
/// 2, 0.96 at 3, 0.94 at 4, 0.83 at 6, 0.79 at 8, 0.77 at 10, 0.62 at 16 (load average 3.2).
#ifndef NK_AMX_FROM
#define NK_AMX_FROM 3
#endif

/// Blocks of NB rows per super-block: the forward GEMM sweeps the packed Sᵀ, and the
/// backward one dot_sum, once per super-block, so that when those two exceed 1.5 MiB
/// (they then leave L2, 2 MiB a core here, little room) more rows share each sweep, up
/// to a super-block's xf and A of about 1 MiB (2 blocks at m = 500; 1 at m <= 160,
/// where more blocks measured slower: at m = 100, 3 blocks took 5% longer).
#ifndef NK_SUPER_BLOCKS
static long super_blocks(long ldm, long lda, long ldp) {
    const long swept = ldp * ldm * (long)sizeof(float) + ldm * ldp * (long)sizeof(double);
    if (swept <= (3L << 19)) return 1;
    const long t = (1L << 20) / (NB * (ldp + lda) * (long)sizeof(float));
    return t < 1 ? 1 : (t > 4 ? 4 : t);
}
#else
static long super_blocks(long ldm, long lda, long ldp) { (void)ldm; (void)lda; (void)ldp; return NK_SUPER_BLOCKS; }
#endif

/// The density (nonzero pixels / pixels) below which the products skip zero pixels
/// (DISTILL_NK_SPARSE_AUTO), measured on the call's first super-block and kept for the
/// call (the backward's choice fixes dot_sum's layout). Measured (tools/nk-pass-ab.sh,
/// NK_NEW_SPARSE=on against the dense kernel, random bytes with a given share nonzero),
/// the whole pass skipping / dense: 30% 0.85 (m = 100) and 0.73 (m = 500); 40% 1.01 and
/// 0.91; 50% 1.17 and 1.10; 70% 1.62 and 1.40. MNIST: 19%.
#ifndef NK_SPARSE_BELOW
#define NK_SPARSE_BELOW 0.35
#endif
/// The backward product skips zero pixels (AUTO) from this many vectors of 16 support
/// columns: with fewer, a pixel's few chains of dependent FMAs leave the FMA units idle.
/// (At m <= 16 with the narrow sweep, gemm_backward_rows skips zero chunks instead.)
/// Measured on MNIST, the whole pass against the dense kernel: 2 vectors (m = 20, 32)
/// 1.37 and 0.68 skipping, 1.02 and 0.61 dense; 3 (m = 48) 0.89 / 0.92; 4 (m = 64) 0.77 / 0.86.
#ifndef NK_SPARSE_BACKWARD_VECTORS
#define NK_SPARSE_BACKWARD_VECTORS 3
#endif

AVX512 static int rows_avx512(const distill_nk_problem *pb, long begin, long end, const support_layers *sl,
                              double *loss, long *correct, double *d_alpha, double *d_dot, double *d_sum, double *d_q,
                              int sparse, int products, double *multiply_adds, int *used_amx) {
    const long p = pb->features, m = pb->count, ldm = pb->ldm, ldp = ld16(p), c = pb->classes, depth = pb->depth;
    // A's (and D's) rows: ldm apart unless that is an even number of 64-byte lines, which
    // would map a tile's rows to a few L1 sets (ldm = 512: two); then 16 more.
    const long lda = (ldm / 16) % 2 ? ldm : ldm + 16;
    const long dots = dot_columns(m), dot0 = m - dots, gemm_vectors = dots ? dot0 / 16 : ldm / 16;   // dot0: a multiple of 16 when dots > 0
    // Byte pixels and m <= 16 (and VNNI, for the sums): conversion and forward products in
    // one sweep (load_forward_narrow); else load_block_avx512 and gemm_forward_dots.
    const int narrow = pb->pixel_kind == DISTILL_PIXELS_U8 && dots == m && p <= 4096 && has_avx512_vnni();
    // The narrow sweep's products on AMX-INT8 tiles (load_forward_amx, distill_amx_backward),
    // over super-blocks of DISTILL_AMX_BACKWARD_ROWS rows (the backward's K dimension), from
    // NK_AMX_FROM support images.
    const int amx = narrow && m >= NK_AMX_FROM && products == DISTILL_NK_PRODUCTS_AUTO && distill_amx_usable();
    _Static_assert(DISTILL_AMX_BACKWARD_ROWS == 2 * NB, "the AMX path's super-block is two blocks");
    const long nsub = amx ? 2 : super_blocks(ldm, lda, ldp), rows_max = nsub * NB;
    // Packed lanes (packs(m)): lp lanes a unit of PACK_ROWS rows; the state arrays hold
    // depth x su, the running values su (a group's rows of ldm lanes, or a packed unit).
    const long lp = packs(m) ? ld16(PACK_ROWS * m) : 0, su = lp > GROUP * ldm ? lp : GROUP * ldm;
    const size_t floats = (size_t)(3 * depth * ldm + c * ldm + 5 * depth * su + 3 * su + 2 * GROUP * ldm + 5 * depth * lp + 2 * lp
                                   + p * ldm + dots * ldp + rows_max * ldp + 32 + rows_max * lda);
    const size_t doubles = (size_t)(c * ldm + c * ldm + 2 * ldm + GROUP * ldm + lp + (d_alpha ? ldm * ldp : 0) + 2 * rows_max);
    // Sparse byte images: each row's nonzero pixels (rows_max x p indices, counts and
    // cursors) and per block each pixel's nonzero rows (p + 1 starts, p cursors, NB x p rows).
    // Where they can be used: the forward GEMM's columns (not the dot-product tiles), and
    // the backward product; the latter by AUTO only from NK_SPARSE_BACKWARD_VECTORS vectors
    // of 16 support columns (below, a pixel's chain of dependent FMAs leaves the FMA units idle).
    // The GEMM's columns (< m) and those of them in panels the sparse forward takes (>= 2 vectors).
    const long gemm_columns = 16 * gemm_vectors < m ? 16 * gemm_vectors : m;
    long sparse_columns = 0;
    for (long v0 = 0; v0 < gemm_vectors; v0 += panel_vectors(gemm_vectors, v0))
        if (panel_vectors(gemm_vectors, v0) >= 2) {
            const long j1 = 16 * (v0 + panel_vectors(gemm_vectors, v0));
            sparse_columns += (j1 < m ? j1 : m) - 16 * v0;
        }
    const int forward_can = sparse_columns > 0 && !narrow;
    const int backward_can = d_alpha != NULL && !narrow && (sparse == DISTILL_NK_SPARSE_ON || ldm / 16 >= NK_SPARSE_BACKWARD_VECTORS);
    // The narrow sweep (m <= 16) over each row's nonzero 16-pixel chunks, and the backward over
    // each chunk's nonzero rows: each row's chunk bits (rows_max x words) and per block each
    // chunk's rows (nsub x nch x 2 words).
    const int narrow_can = narrow && !amx && sparse != DISTILL_NK_SPARSE_OFF;
    const long words = (p + 1023) / 1024, nch = ldp / 16;
    const int may_skip = sparse != DISTILL_NK_SPARSE_OFF && pb->pixel_kind == DISTILL_PIXELS_U8 && p <= 65535
                         && (forward_can || backward_can);
    const long ldi = p + 32, nchunks = (p + SKC - 1) / SKC;
    const size_t sparse_bytes = may_skip ? sizeof(uint16_t) * (size_t)(rows_max * (ldi + nchunks + 1)) + sizeof(int32_t) * (size_t)(nsub * (p + 1) + p)
                                           + (size_t)(nsub * NB * p) : 0;
    const size_t narrow_bytes = narrow_can ? sizeof(uint64_t) * (size_t)(rows_max * words + nsub * nch * 2) : 0;
    const size_t amx_bytes = amx ? distill_amx_scratch_bytes(p) : 0;
    char *base = malloc(sizeof(float) * floats + sizeof(double) * doubles + sizeof(row_layers) * (size_t)rows_max + sparse_bytes
                        + narrow_bytes + amx_bytes + 64 * 45);   // 64: alignment slack per carved array (44)
    if (!base) return -1;
    char *cursor = base;
#define CARVE(type, n) ((type *)(cursor = (char *)(((uintptr_t)cursor + 63) & ~(uintptr_t)63), cursor += sizeof(type) * (size_t)(n), cursor - sizeof(type) * (size_t)(n)))
    avx_scratch av;
    av.sq = CARVE(float, depth * ldm); av.rq = CARVE(float, depth * ldm); av.iq = CARVE(float, depth * ldm);
    av.alpha_tf = CARVE(float, c * ldm);
    av.c = CARVE(float, depth * su); av.sine = CARVE(float, depth * su);
    av.dkd = CARVE(float, depth * su); av.kd = CARVE(float, depth * su);
    av.theta = CARVE(float, depth * su);
    av.sigma = CARVE(float, su); av.run_theta = CARVE(float, su); av.acc = CARVE(float, su);
    av.k = CARVE(float, GROUP * ldm); av.gk = CARVE(float, GROUP * ldm);
    av.lane_row = CARVE(int32_t, lp); av.lane_offset = CARVE(double, lp);
    av.lane_sq = CARVE(float, depth * lp); av.lane_rq = CARVE(float, depth * lp); av.lane_iq = CARVE(float, depth * lp);
    av.row_sq = CARVE(float, depth * lp); av.row_rq = CARVE(float, depth * lp); av.packed_gk = CARVE(float, lp);
    av.alpha_t = CARVE(double, c * ldm); av.d_alpha_t = CARVE(double, c * ldm); av.k_double = CARVE(double, GROUP * ldm);
    av.d_sum = CARVE(double, ldm); av.d_q = CARVE(double, ldm);
    // The block sums of Dᵀ xf, ldm x ldp (aligned; padding rows and pixels take sums of zeros), added to d_dot at the end.
    double *dot_sum = d_alpha ? CARVE(double, ldm * ldp) : NULL;
    float *support_t = CARVE(float, p * ldm);   // Sᵀ's GEMM columns packed panel by panel (pack_panels), 64-byte aligned
    float *s_rows = dots ? CARVE(float, dots * ldp) : NULL;   // Sᵀ's columns dot0..<m as rows (dots x ldp)
    // The super-block: xf (rows_max x ldp; + 32: the last row's 32-pixel tile reads past ldp, lanes unused),
    // A then D (rows_max x lda), the rows' sums and layer data.
    scratch sc = {0};
    sc.xf = CARVE(float, rows_max * ldp + 32);
    sc.a = CARVE(float, rows_max * lda);
    sc.rowsum = CARVE(double, rows_max); sc.rowsq = CARVE(double, rows_max);
    sc.rows = CARVE(row_layers, rows_max);
    uint16_t *nz_idx = may_skip ? CARVE(uint16_t, rows_max * ldi) : NULL;
    uint16_t *nz_chunk = may_skip ? CARVE(uint16_t, rows_max * (nchunks + 1)) : NULL;
    int32_t *px_start = may_skip ? CARVE(int32_t, nsub * (p + 1)) : NULL, *px_fill = may_skip ? CARVE(int32_t, p) : NULL;
    uint8_t *px_rows = may_skip ? CARVE(uint8_t, nsub * NB * p) : NULL;
    uint64_t *row_chunks = narrow_can ? CARVE(uint64_t, rows_max * words) : NULL;
    uint64_t *chunk_rows_bits = narrow_can ? CARVE(uint64_t, nsub * nch * 2) : NULL;
    char *amx_scratch = amx ? CARVE(char, amx_bytes) : NULL;
#undef CARVE
    pack_panels(pb->support_t, ldm, gemm_vectors, p, support_t);
    for (long j = 0; j < dots; j++)
        for (long k = 0; k < ldp; k++) s_rows[j * ldp + k] = k < p ? pb->support_t[k * ldm + dot0 + j] : 0.0f;
    distill_amx tiles;
    if (amx) distill_amx_begin(&tiles, s_rows, ldp, m, p, amx_scratch);
    for (long t = 0; t < depth * ldm; t++) { av.sq[t] = (float)sl->sq[t]; av.rq[t] = (float)sl->rq[t]; av.iq[t] = (float)sl->iq[t]; }
    for (long e = 0; e < lp; e++) {   // each packed lane's row and column (lanes past PACK_ROWS m: row 0, column 0)
        const long g = e < PACK_ROWS * m ? e / m : 0, j = e < PACK_ROWS * m ? e % m : 0;
        av.lane_row[e] = (int32_t)g;
        av.lane_offset[e] = pb->column_offset[j];
        for (long l = 0; l < depth; l++) {
            av.lane_sq[l * lp + e] = av.sq[l * ldm + j]; av.lane_rq[l * lp + e] = av.rq[l * ldm + j]; av.lane_iq[l * lp + e] = av.iq[l * ldm + j];
        }
    }
    for (long q = 0; q < c; q++)
        for (long j = 0; j < ldm; j++) {
            const double v = j < m ? pb->alpha[j * c + q] : 0.0;
            av.alpha_t[q * ldm + j] = v; av.alpha_tf[q * ldm + j] = (float)v; av.d_alpha_t[q * ldm + j] = 0;
        }
    for (long j = 0; j < ldm; j++) { av.d_sum[j] = 0; av.d_q[j] = 0; }
    memset(av.k, 0, sizeof(float) * (size_t)(GROUP * ldm));   // a short first group leaves zeros, not garbage
    if (dot_sum) memset(dot_sum, 0, sizeof(double) * (size_t)(ldm * ldp));
    float slope[DISTILL_NK_MAX_DEPTH];
    for (long l = 0; l < depth; l++) slope[l] = (float)sl->slope[l];
    double f[GROUP][DISTILL_NK_MAX_CLASSES];   // the group's predictions, then their gradients
    long block_rows[8];
    int sparse_forward = -1, sparse_backward = -1;   // decided on the first super-block
    int narrow_skip = -1;                            // likewise (the narrow sweep and its backward)
    double macs = 0;            // multiply-adds of the two products (columns < m, pixels < p, rows < end)
    for (long b0 = begin; b0 < end; b0 += rows_max) {
        // Blocks of NB rows b0 + t NB ..< b0 + t NB + block_rows[t]: the same blocks as one at a time.
        const long ns = (end - b0 < rows_max) ? end - b0 : rows_max, used = (ns + NB - 1) / NB, padded = used * NB;
        for (long t = 0; t < used; t++) block_rows[t] = ns - t * NB < NB ? ns - t * NB : NB;
        long nonzeros = ns * p;
        if (may_skip && (sparse_forward != 0 || sparse_backward != 0))
            PROFILE_KEPT(0, nonzeros = nonzero_lists((const uint8_t *)pb->pixels + b0 * p, p, ns, padded, nz_idx, ldi, nz_chunk));
        if (narrow_skip < 0)
            narrow_skip = narrow_can && (sparse == DISTILL_NK_SPARSE_ON
                                         || narrow_chunk_density(pb, b0, ns, m, &sc, row_chunks, rows_max) < NK_NARROW_CHUNKS_BELOW);
        if (sparse_forward < 0) {
            const double density = (double)nonzeros / (double)(ns * p);
            sparse_forward = may_skip && forward_can && (sparse == DISTILL_NK_SPARSE_ON || density < NK_SPARSE_BELOW);
            sparse_backward = may_skip && backward_can && (sparse == DISTILL_NK_SPARSE_ON || density < NK_SPARSE_BELOW);
        }
        if (amx) macs += (double)(ns * p) * (double)m * (d_alpha ? 2.0 : 1.0);
        else if (!narrow_skip)
            macs += (double)(ns * p) * (double)(narrow ? m : gemm_columns + dots - (sparse_forward ? sparse_columns : 0))
                  + (sparse_forward ? (double)nonzeros * (double)sparse_columns : 0.0)
                  + (d_alpha ? (double)(sparse_backward ? nonzeros : ns * p) * (double)m : 0.0);
        if (amx) PROFILE(1, load_forward_amx(pb, b0, ns, padded, &sc, &tiles, sc.a, lda, end));
        else if (narrow_skip) {
            double done = 0;
            PROFILE(1, done = load_forward_narrow_skip(pb, b0, ns, padded, ldp, &sc, s_rows, m, sc.a, lda, rows_max, end, row_chunks, rows_max));
            macs += done;
        } else if (narrow) PROFILE(1, load_forward_narrow(pb, b0, ns, padded, ldp, &sc, s_rows, m, sc.a, lda, rows_max, end));
        else {
            PROFILE(0, load_block_avx512(pb, b0, ns, padded, ldp, &sc, rows_max, end));
            if (sparse_forward)
                PROFILE(1, gemm_forward_sparse(sc.xf, ldp, support_t, gemm_vectors, p, sc.a, lda, padded, nz_idx, ldi, nz_chunk));
            else if (gemm_vectors) PROFILE(1, gemm_forward_avx512(sc.xf, ldp, support_t, gemm_vectors, p, sc.a, lda, padded));
            if (dots) PROFILE(1, gemm_forward_dots(sc.xf, ldp, s_rows, dots, p, sc.a + dot0, lda, padded));
        }
        for (long t = 0; lp && t < used; t++)   // packed lanes: units of PACK_ROWS rows, each two groups
            for (long u = t * NB; u < t * NB + block_rows[t]; u += PACK_ROWS) {
                const long urows = t * NB + block_rows[t] - u < PACK_ROWS ? t * NB + block_rows[t] - u : PACK_ROWS;
                const long nv = (urows * m + 15) / 16;   // the unit's packed vectors
                float *a_rows = sc.a + u * lda;
                if (d_alpha) PROFILE(2, packed_forward(pb, a_rows, lda, &sc.rows[u], urows, &av, m, lp, 1));
                else PROFILE(2, packed_forward(pb, a_rows, lda, &sc.rows[u], urows, &av, m, lp, 0));
                const float *k_packed = pb->kind == DISTILL_NK_NTK ? av.run_theta : av.sigma;
                for (long g0 = 0; g0 < urows; g0 += GROUP) {
                    const long rows = urows - g0 < GROUP ? urows - g0 : GROUP, i = u + g0;
                    PROFILE(3, unpack_rows(k_packed, m, ldm, g0, rows, av.k); group_predictions(av.alpha_t, c, ldm, &av, f));
                    if (pb->loss == DISTILL_NK_LOSS_CROSS_ENTROPY)
                        PROFILE(4, group_loss_ce(c, f, pb->labels + b0 + i, rows, loss, correct, d_alpha != NULL));
                    else if (rows == GROUP)
                        PROFILE(4, group_loss_mse(c, f, pb->labels + b0 + i, loss, correct, d_alpha != NULL));
                    else PROFILE(4, for (long g = 0; g < rows; g++) row_loss(pb, f[g], pb->labels[b0 + i + g], loss, correct, d_alpha != NULL));
                    if (d_alpha) {
                        if (rows == GROUP) PROFILE(5, group_alpha_gradient((const double (*)[DISTILL_NK_MAX_CLASSES])f, c, ldm, &av));
                        else
                            for (long g = 0; g < rows; g++) row_alpha_gradient(f[g], c, ldm, &av, av.k + g * ldm, av.gk + g * ldm);
                        PROFILE(5, pack_rows(av.gk, ldm, m, g0, rows, av.packed_gk, g0 == 0 ? nv : 0));
                    }
                }
                // A's rows are no longer needed: D's rows.
                if (d_alpha) PROFILE(6, packed_backward(pb, urows, &av, m, lp, ldm, slope, a_rows, lda));
            }
        for (long t = 0; !lp && t < used; t++)
            for (long i = t * NB; i < t * NB + block_rows[t]; i += GROUP) {
                const long rows = t * NB + block_rows[t] - i < GROUP ? t * NB + block_rows[t] - i : GROUP;
                float *a_rows = sc.a + i * lda;
                if (d_alpha) PROFILE(2, group_forward(pb, a_rows, lda, &sc.rows[i], rows, &av, ldm, 1));
                else PROFILE(2, group_forward(pb, a_rows, lda, &sc.rows[i], rows, &av, ldm, 0));
                PROFILE(3, group_predictions(av.alpha_t, c, ldm, &av, f));
                if (pb->loss == DISTILL_NK_LOSS_CROSS_ENTROPY)
                    PROFILE(4, group_loss_ce(c, f, pb->labels + b0 + i, rows, loss, correct, d_alpha != NULL));
                else if (rows == GROUP)
                    PROFILE(4, group_loss_mse(c, f, pb->labels + b0 + i, loss, correct, d_alpha != NULL));
                else PROFILE(4, for (long g = 0; g < rows; g++) row_loss(pb, f[g], pb->labels[b0 + i + g], loss, correct, d_alpha != NULL));
                if (d_alpha) {
                    if (rows == GROUP) PROFILE(5, group_alpha_gradient((const double (*)[DISTILL_NK_MAX_CLASSES])f, c, ldm, &av));
                    else
                        for (long g = 0; g < rows; g++) row_alpha_gradient(f[g], c, ldm, &av, av.k + g * ldm, av.gk + g * ldm);
                    // A's rows are no longer needed: D's rows.
                    PROFILE(6, group_backward(pb, &sc.rows[i], rows, &av, ldm, slope, a_rows, lda));
                }
            }
        if (d_alpha && amx)
            PROFILE(7, distill_amx_backward(&tiles, sc.a, lda, (const uint8_t *)pb->pixels + b0 * p, ns, dot_sum, ldp));
        else if (d_alpha && narrow_skip) {
            double pixels = 0;
            PROFILE(7, for (long t = 0; t < used; t++)
                           pixels += chunk_rows(row_chunks + t * NB, rows_max, block_rows[t], p, chunk_rows_bits + t * nch * 2);
                       gemm_backward_rows(sc.a, lda, (const uint8_t *)pb->pixels + b0 * p, ldp, p, m, block_rows, used, chunk_rows_bits, dot_sum));
            macs += pixels * (double)m;
        } else if (d_alpha && sparse_backward) {
            PROFILE(7, for (long t = 0; t < used; t++)
                           pixel_lists(nz_idx + t * NB * ldi, ldi, p, nz_chunk + t * NB * (nchunks + 1), block_rows[t], px_start + t * (p + 1), px_fill, px_rows + t * NB * p);
                       gemm_backward_sparse(sc.a, lda, sc.xf, ldp, p, ldm, block_rows, used, px_start, px_rows, dot_sum));
        } else if (d_alpha) PROFILE(7, gemm_backward_avx512(sc.a, lda, sc.xf, ldp, m, block_rows, used, dot_sum, nsub > 1));
    }
    if (d_alpha) {
        for (long j = 0; j < m; j++) {
            for (long q = 0; q < c; q++) d_alpha[j * c + q] += av.d_alpha_t[q * ldm + j];
            d_sum[j] += av.d_sum[j]; d_q[j] += av.d_q[j];
        }
        if (sparse_backward == 1) {   // dot_sum by column chunks (gemm_backward_sparse)
            for (long v0 = 0; v0 < ldm / 16;) {
                const long w = bwd_chunk_vectors(ldm / 16, v0);
                const double *chunk = dot_sum + 16 * v0 * ldp;
                for (long j = 16 * v0; j < 16 * (v0 + w) && j < m; j++)
                    for (long k = 0; k < p; k++) d_dot[j * p + k] += chunk[k * 16 * w + (j - 16 * v0)];
                v0 += w;
            }
        } else
            for (long j = 0; j < m; j++)
                for (long k = 0; k < p; k++) d_dot[j * p + k] += dot_sum[j * ldp + k];
    }
    if (amx) distill_amx_end();
    if (multiply_adds) *multiply_adds += macs;
    if (used_amx && amx) *used_amx = 1;
    free(base);
    return 0;
}

/// 12 independent 16-lane FMA chains per iteration.
AVX512 static double peak_avx512(long iterations, float *sink) {
    __m512 acc[12];
    for (int u = 0; u < 12; u++) acc[u] = _mm512_set1_ps(1.0f + 0.001f * u);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iterations; it++) {
        for (int u = 0; u < 12; u++) acc[u] = _mm512_fmadd_ps(acc[u], a, b);
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]), "+v"(acc[4]), "+v"(acc[5]),
                         "+v"(acc[6]), "+v"(acc[7]), "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]));
    }
    __m512 s = acc[0];
    for (int u = 1; u < 12; u++) s = _mm512_add_ps(s, acc[u]);
    *sink = _mm512_reduce_add_ps(s);
    return (double)iterations * 12 * 16 * 2;
}
#endif

int distill_nk_exp_log(const double *x, const double *y, long n, double *exp_x, double *log_y) {
#if defined(__x86_64__)
    if (distill_outer_has_avx512()) {
        exp_log_avx512(x, y, n, exp_x, log_y);
        return 0;
    }
#endif
    (void)x; (void)y; (void)n; (void)exp_x; (void)log_y;
    return -1;
}

static double peak_portable(long iterations, float *sink) {
    float acc[12][8];
    for (int u = 0; u < 12; u++)
        for (int v = 0; v < 8; v++) acc[u][v] = 1.0f + 0.001f * u;
    for (long it = 0; it < iterations; it++)
        for (int u = 0; u < 12; u++)
            for (int v = 0; v < 8; v++) acc[u][v] = acc[u][v] * 0.999999f + 1e-7f;
    float s = 0;
    for (int u = 0; u < 12; u++)
        for (int v = 0; v < 8; v++) s += acc[u][v];
    *sink = s;
    return (double)iterations * 12 * 8 * 2;
}

double distill_peak_fma(long iterations, float *sink) {
#if defined(__x86_64__)
    if (distill_outer_has_avx512()) return peak_avx512(iterations, sink);
#endif
    return peak_portable(iterations, sink);
}

// ---------------------------------------------------------------------------

/// distill_nk_row_statistics without AVX-512: per row the integer sums.
static void row_statistics_portable(const uint8_t *pixels, long p, long begin, long end, double *sums, double *squares) {
    for (long r = begin; r < end; r++) {
        const uint8_t *x = pixels + r * p;
        long s = 0, s2 = 0;
        for (long k = 0; k < p; k++) { s += x[k]; s2 += (long)x[k] * x[k]; }
        sums[r] = (double)s; squares[r] = (double)s2;
    }
}

void distill_nk_row_statistics(const uint8_t *pixels, long features, int kernel, long begin, long end,
                               double *sums, double *squares) {
#if defined(__x86_64__)
    if (kernel == DISTILL_KERNEL_AVX512 && distill_outer_has_avx512() && has_avx512_vnni() && features <= 4096) {
        for (long r0 = begin; r0 < end; r0 += NB) {   // byte_sums NB rows at a time
            const long n = end - r0 < NB ? end - r0 : NB;
            byte_sums(pixels + r0 * features, features, n, sums + r0, squares + r0, NULL, 0);
        }
        return;
    }
#else
    (void)kernel;
#endif
    row_statistics_portable(pixels, features, begin, end, sums, squares);
}

int distill_nk_rows(const distill_nk_problem *pb, int kernel, long begin, long end,
                    double *loss_sum, long *correct,
                    double *d_alpha, double *d_dot, double *d_sum, double *d_q) {
    return distill_nk_rows_with(pb, kernel, NULL, begin, end, loss_sum, correct, d_alpha, d_dot, d_sum, d_q);
}

int distill_nk_rows_with(const distill_nk_problem *pb, int kernel, distill_nk_options *options, long begin, long end,
                         double *loss_sum, long *correct,
                         double *d_alpha, double *d_dot, double *d_sum, double *d_q) {
    const int sparse = options ? options->sparse : DISTILL_NK_SPARSE_AUTO;
    if (sparse != DISTILL_NK_SPARSE_AUTO && sparse != DISTILL_NK_SPARSE_OFF && sparse != DISTILL_NK_SPARSE_ON) return -1;
    const int products = options ? options->products : DISTILL_NK_PRODUCTS_AUTO;
    if (products != DISTILL_NK_PRODUCTS_AUTO && products != DISTILL_NK_PRODUCTS_FMA) return -1;
    const long p = pb->features, ldm = pb->ldm, ldp = ld16(p), depth = pb->depth;
    if (depth < 1 || depth > DISTILL_NK_MAX_DEPTH || pb->classes < 1 || pb->classes > DISTILL_NK_MAX_CLASSES) return -1;
    if ((pb->row_sums != NULL) != (pb->row_squares != NULL) || (pb->row_sums != NULL) != (pb->row_chunks != NULL)) return -1;
    const size_t bytes = sizeof(float) * (size_t)(NB * ldp + 32 + NB * ldm + ldp)
                       + sizeof(double) * (size_t)(NB * ldm * 2 + NB * pb->classes + 2 * NB + 4 * depth * ldm)
                       + sizeof(row_layers) * NB + 64 * 16;   // 64: alignment slack per carved array
    char *base = malloc(bytes);
    if (!base) return -1;
    char *cursor = base;
#define CARVE(type, n) ((type *)(cursor = (char *)(((uintptr_t)cursor + 63) & ~(uintptr_t)63), cursor += sizeof(type) * (size_t)(n), cursor - sizeof(type) * (size_t)(n)))
    scratch sc;
    sc.xf = CARVE(float, NB * ldp + 32);   // + 32: the last row's 32-pixel tile reads past ldp (lanes unused)
    sc.a = CARVE(float, NB * ldm);
    sc.gx = CARVE(float, ldp);
    sc.k = CARVE(double, NB * ldm);
    double *gk = CARVE(double, NB * ldm);
    sc.f = CARVE(double, NB * pb->classes);
    sc.rowsum = CARVE(double, NB);
    sc.rowsq = CARVE(double, NB);
    sc.rows = CARVE(row_layers, NB);
    support_layers sl;
    sl.q = CARVE(double, depth * ldm);
    sl.sq = CARVE(double, depth * ldm);
    sl.rq = CARVE(double, depth * ldm);
    sl.iq = CARVE(double, depth * ldm);
#undef CARVE
    double slope = 1;
    for (long l = 0; l < depth; l++) {
        sl.slope[l] = slope;
        slope *= pb->weight_variance / 2;
        for (long j = 0; j < ldm; j++) {
            // Padding columns get a harmless variance of 1 (their results are dropped).
            const double q = j < pb->count ? pb->support_q[l * pb->count + j] : 1.0;
            sl.q[l * ldm + j] = q;
            sl.sq[l * ldm + j] = sqrt(q);
            sl.rq[l * ldm + j] = 1 / sqrt(q);
            sl.iq[l * ldm + j] = 1 / q;
        }
    }
    for (long t = 0; t < NB * ldm; t++) gk[t] = 0;
    double loss = 0;
    long hits = 0;
#if defined(__x86_64__)
    if (kernel == DISTILL_KERNEL_AVX512 && distill_outer_has_avx512())
    {
        if (rows_avx512(pb, begin, end, &sl, &loss, &hits, d_alpha, d_dot, d_sum, d_q, sparse, products,
                        options ? &options->multiply_adds : NULL, options ? &options->used_amx : NULL) != 0) { free(base); return -1; }
    } else
#endif
    {
        rows_portable(pb, begin, end, &sc, &sl, &loss, &hits, d_alpha, d_dot, d_sum, d_q, gk);
        if (options && end > begin)
            options->multiply_adds += (double)(end - begin) * (double)p * (double)pb->count * (d_alpha ? 2.0 : 1.0);
    }
    free(base);
    *loss_sum += loss;
    *correct += hits;
    return 0;
}
