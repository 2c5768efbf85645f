// The fused pass of the NNGP / NTK kernel ridge model (see distill_neural_kernel.h).
// Per block of DISTILL_NK_BLOCK_ROWS rows:
//   1. the stored pixels as Float32 (xf, zero-padded to ldp) and each row's
//      Σx, Σx² (exact, in Double);
//   2. A = xf Sᵀ (Float32 GEMM, block x ldm), Σ_1 = dot_scale A + offset;
//   3. the arc-cosine recursion per entry (Double) -> K (block x count);
//   4. predictions f_i = K_i α, loss, arg-max, g_i = ∂loss/∂f_i;
//   5. backward: d_alpha += K_iᵀ g_i, and per entry the recursion's reverse
//      sweep (the forward recomputed in registers, nothing stored per layer)
//      -> g^σ_ij (Float32 block D) and ∂/∂q_1(s_j);
//   6. d_dot += Dᵀ xf (Float32 GEMM per block, added in Double).
// Two implementations: AVX-512 (GEMM micro-kernels, the recursion on 8 Double
// lanes with a polynomial arccos) and portable loops (libm acos / sqrt).

#include "distill_kernels.h"
#include "distill_neural_kernel.h"
#include "kernel_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NB DISTILL_NK_BLOCK_ROWS
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

static void row_loss(const distill_nk_problem *pb, double *f, long label, double *loss, long *correct, int want_g) {
    const long c = pb->classes;
    long arg = 0;
    for (long q = 1; q < c; q++) if (f[q] > f[arg]) arg = q;
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
        double sum = 0;
        for (long q = 0; q < c; q++) sum += exp(f[q] - fmax);
        *loss += fmax + log(sum) - f[label];
        if (want_g) {
            for (long q = 0; q < c; q++) f[q] = exp(f[q] - fmax) / sum - (q == label ? 1.0 : 0.0);
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

/// Forward GEMM tile: ROWS rows of xf x NV vectors of 16 support columns.
#define FWD_TILE(ROWS, NV)                                                                              \
    AVX512 static void fwd_tile_##ROWS##_##NV(const float *xf, long ldp, const float *st, long ldm,    \
                                              long p, float *a) {                                      \
        __m512 acc[ROWS][NV];                                                                           \
        for (int r = 0; r < ROWS; r++)                                                                  \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();                               \
        for (long k = 0; k < p; k++) {                                                                  \
            __m512 s[NV];                                                                               \
            for (int v = 0; v < NV; v++) s[v] = _mm512_loadu_ps(st + k * ldm + 16 * v);                 \
            for (int r = 0; r < ROWS; r++) {                                                            \
                const __m512 x = _mm512_set1_ps(xf[r * ldp + k]);                                       \
                for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(x, s[v], acc[r][v]);           \
            }                                                                                           \
        }                                                                                               \
        for (int r = 0; r < ROWS; r++)                                                                  \
            for (int v = 0; v < NV; v++) _mm512_storeu_ps(a + r * ldm + 16 * v, acc[r][v]);             \
    }
FWD_TILE(8, 3)
FWD_TILE(12, 2)
FWD_TILE(12, 1)

AVX512 static void gemm_forward_avx512(const float *xf, long ldp, const float *st, long ldm, long p, float *a) {
    long j = 0;
    for (; j + 48 <= ldm; j += 48)
        for (long i = 0; i < NB; i += 8) fwd_tile_8_3(xf + i * ldp, ldp, st + j, ldm, p, a + i * ldm + j);
    for (; j + 32 <= ldm; j += 32)
        for (long i = 0; i < NB; i += 12) fwd_tile_12_2(xf + i * ldp, ldp, st + j, ldm, p, a + i * ldm + j);
    for (; j < ldm; j += 16)
        for (long i = 0; i < NB; i += 12) fwd_tile_12_1(xf + i * ldp, ldp, st + j, ldm, p, a + i * ldm + j);
}

/// Backward GEMM tile: gx[j0..j0+JT][k..k+16 NV] = Σ_i D[i][j] xf[i][k..], then added to d_dot.
#define BWD_TILE(JT, NV)                                                                                    \
    AVX512 static void bwd_tile_##JT##_##NV(const float *d, long ldm, const float *xf, long ldp, long nb, \
                                            long jn, long kn, double *out, long p) {                       \
        __m512 acc[JT][NV];                                                                                 \
        for (int j = 0; j < JT; j++)                                                                        \
            for (int v = 0; v < NV; v++) acc[j][v] = _mm512_setzero_ps();                                   \
        for (long i = 0; i < nb; i++) {                                                                     \
            __m512 x[NV];                                                                                   \
            for (int v = 0; v < NV; v++) x[v] = _mm512_loadu_ps(xf + i * ldp + 16 * v);                     \
            for (int j = 0; j < JT; j++) {                                                                  \
                const __m512 dj = _mm512_set1_ps(d[i * ldm + j]);                                           \
                for (int v = 0; v < NV; v++) acc[j][v] = _mm512_fmadd_ps(dj, x[v], acc[j][v]);              \
            }                                                                                               \
        }                                                                                                   \
        for (int j = 0; j < JT && j < jn; j++)                                                              \
            for (int v = 0; v < NV; v++) {                                                                  \
                const long k = 16 * v;                                                                      \
                if (k >= kn) break;                                                                         \
                double tmp[16];                                                                             \
                _mm512_storeu_pd(tmp, _mm512_cvtps_pd(_mm512_castps512_ps256(acc[j][v])));                  \
                _mm512_storeu_pd(tmp + 8, _mm512_cvtps_pd(_mm256_castpd_ps(                                 \
                                               _mm512_extractf64x4_pd(_mm512_castps_pd(acc[j][v]), 1))));   \
                const long lim = kn - k < 16 ? kn - k : 16;                                                 \
                double *o = out + j * p + k;                                                                \
                for (long u = 0; u < lim; u++) o[u] += tmp[u];                                              \
            }                                                                                               \
    }
BWD_TILE(8, 2)
BWD_TILE(4, 2)

AVX512 static void gemm_backward_avx512(const float *d, long ldm, const float *xf, long ldp, long m, long nb,
                                        double *d_dot, long p) {
    for (long j = 0; j < m; j += 8) {
        const long jn = m - j;
        for (long k = 0; k < ldp; k += 32) {
            const long kn = (p - k < 32) ? p - k : 32;
            if (kn <= 0) break;
            if (jn <= 4) bwd_tile_4_2(d + j, ldm, xf + k, ldp, nb, jn, kn, d_dot + j * p + k, p);
            else bwd_tile_8_2(d + j, ldm, xf + k, ldp, nb, jn, kn, d_dot + j * p + k, p);
        }
    }
}

/// √x and 1/√x for x >= 0 (0 and 0 where x is below 1e-300): rsqrt14 and two Newton steps.
AVX512 static inline void sqrt_and_inverse(__m512d x, __m512d *root, __m512d *inverse) {
    const __mmask8 ok = _mm512_cmp_pd_mask(x, _mm512_set1_pd(1e-300), _CMP_GT_OQ);
    __m512d y = _mm512_maskz_rsqrt14_pd(ok, x);
    const __m512d half = _mm512_set1_pd(0.5), three_halves = _mm512_set1_pd(1.5);
    const __m512d hx = _mm512_mul_pd(half, x);
    y = _mm512_mul_pd(y, _mm512_fnmadd_pd(hx, _mm512_mul_pd(y, y), three_halves));
    y = _mm512_mul_pd(y, _mm512_fnmadd_pd(hx, _mm512_mul_pd(y, y), three_halves));
    *inverse = y;
    *root = _mm512_mul_pd(x, y);
}

/// arccos(c) for c in [-1, 1], with sin(arccos c) = √(1 - c²) and its inverse (0 at |c| = 1):
/// arcsin by the odd polynomial s + s z P(z) (Cephes' single-precision
/// coefficients, evaluated in Double: about 1e-7 relative), on |c| or on
/// √((1 - |c|)/2) above 0.5.
AVX512 static inline __m512d acos_pd(__m512d c, __m512d *sine, __m512d *inv_sine) {
    const __m512d one = _mm512_set1_pd(1.0), half = _mm512_set1_pd(0.5);
    const __m512d a = _mm512_abs_pd(c);
    const __mmask8 big = _mm512_cmp_pd_mask(a, half, _CMP_GT_OQ);
    const __m512d omc = _mm512_sub_pd(one, a);
    __m512d zbig = _mm512_mul_pd(half, omc), rbig, ibig;
    sqrt_and_inverse(zbig, &rbig, &ibig);
    const __m512d z = _mm512_mask_blend_pd(big, _mm512_mul_pd(a, a), zbig);
    const __m512d s = _mm512_mask_blend_pd(big, a, rbig);
    __m512d poly = _mm512_set1_pd(4.2163199048E-2);
    poly = _mm512_fmadd_pd(poly, z, _mm512_set1_pd(2.4181311049E-2));
    poly = _mm512_fmadd_pd(poly, z, _mm512_set1_pd(4.5470025998E-2));
    poly = _mm512_fmadd_pd(poly, z, _mm512_set1_pd(7.4953002686E-2));
    poly = _mm512_fmadd_pd(poly, z, _mm512_set1_pd(1.6666752422E-1));
    const __m512d r = _mm512_fmadd_pd(_mm512_mul_pd(s, z), poly, s);
    // acos|c| = 2 r (big) or π/2 - r; acos c = π - acos|c| for c < 0.
    const __m512d t_abs = _mm512_mask_blend_pd(big, _mm512_sub_pd(_mm512_set1_pd(PI / 2), r), _mm512_add_pd(r, r));
    const __mmask8 neg = _mm512_cmp_pd_mask(c, _mm512_setzero_pd(), _CMP_LT_OQ);
    const __m512d t = _mm512_mask_blend_pd(neg, t_abs, _mm512_sub_pd(_mm512_set1_pd(PI), t_abs));
    sqrt_and_inverse(_mm512_mul_pd(omc, _mm512_add_pd(one, a)), sine, inv_sine);
    return t;
}

typedef struct {
    __m512d c, sine, inv_sine, kd, theta;
} layer_state;

/// The recursion on 8 entries of row r, support columns j..j+8; fills `st` when not NULL.
AVX512 static inline __m512d entries_forward(const distill_nk_problem *pb, __m512d sigma, const row_layers *r,
                                             const support_layers *sl, long j, long ldm, layer_state *st) {
    const __m512d w = _mm512_set1_pd(pb->weight_variance), b = _mm512_set1_pd(pb->bias_variance);
    const __m512d one = _mm512_set1_pd(1.0), inv_two_pi = _mm512_set1_pd(1 / TWO_PI), pi = _mm512_set1_pd(PI);
    __m512d theta = sigma;
    for (int l = 0; l < pb->depth; l++) {
        const __m512d norm = _mm512_mul_pd(_mm512_set1_pd(r->sq[l]), _mm512_loadu_pd(sl->sq + l * ldm + j));
        const __m512d inv = _mm512_mul_pd(_mm512_set1_pd(r->rq[l]), _mm512_loadu_pd(sl->rq + l * ldm + j));
        __m512d c = _mm512_mul_pd(sigma, inv);
        c = _mm512_max_pd(_mm512_min_pd(c, one), _mm512_sub_pd(_mm512_setzero_pd(), one));
        __m512d sine, inv_sine;
        const __m512d t = acos_pd(c, &sine, &inv_sine);
        const __m512d pmt = _mm512_sub_pd(pi, t);
        const __m512d k = _mm512_mul_pd(_mm512_mul_pd(norm, inv_two_pi), _mm512_fmadd_pd(pmt, c, sine));
        const __m512d kd = _mm512_mul_pd(pmt, inv_two_pi);
        if (st) { st[l].c = c; st[l].sine = sine; st[l].inv_sine = inv_sine; st[l].kd = kd; st[l].theta = theta; }
        sigma = _mm512_fmadd_pd(w, k, b);
        theta = _mm512_fmadd_pd(_mm512_mul_pd(w, kd), theta, sigma);
    }
    return pb->kind == DISTILL_NK_NTK ? theta : sigma;
}

/// Reverse sweep for cotangents g: returns ∂/∂Σ_1, adds ∂/∂q_1(s_j) to *gq.
AVX512 static inline __m512d entries_backward(const distill_nk_problem *pb, __m512d sigma, __m512d g,
                                              const row_layers *r, const support_layers *sl, long j, long ldm,
                                              __m512d *gq) {
    layer_state st[DISTILL_NK_MAX_DEPTH];
    entries_forward(pb, sigma, r, sl, j, ldm, st);
    const __m512d w = _mm512_set1_pd(pb->weight_variance), zero = _mm512_setzero_pd();
    const __m512d inv_two_pi = _mm512_set1_pd(1 / TWO_PI), half = _mm512_set1_pd(0.5);
    const __m512d eps = _mm512_set1_pd(pb->cone_epsilon);
    __m512d gs = pb->kind == DISTILL_NK_NNGP ? g : zero, gt = pb->kind == DISTILL_NK_NTK ? g : zero, acc = zero;
    for (int l = pb->depth - 1; l >= 0; l--) {
        gs = _mm512_add_pd(gs, gt);
        const __m512d gkd = _mm512_mul_pd(_mm512_mul_pd(w, st[l].theta), gt);
        const __m512d gtl = _mm512_mul_pd(_mm512_mul_pd(w, st[l].kd), gt);
        const __m512d gk = _mm512_mul_pd(w, gs);
        const __m512d c = st[l].c;
        const __m512d one_minus_c2 = _mm512_fnmadd_pd(c, c, _mm512_set1_pd(1.0));
        const __mmask8 smooth = _mm512_cmp_pd_mask(one_minus_c2, eps, _CMP_GE_OQ);
        const __m512d dkd = _mm512_maskz_mul_pd(smooth, st[l].inv_sine, inv_two_pi);
        const __m512d gc = _mm512_mul_pd(gkd, dkd);
        const __m512d norm = _mm512_mul_pd(_mm512_set1_pd(r->sq[l]), _mm512_loadu_pd(sl->sq + l * ldm + j));
        const __m512d inv = _mm512_mul_pd(_mm512_set1_pd(r->rq[l]), _mm512_loadu_pd(sl->rq + l * ldm + j));
        const __m512d iq = _mm512_loadu_pd(sl->iq + l * ldm + j);
        gs = _mm512_fmadd_pd(gc, inv, _mm512_mul_pd(gk, st[l].kd));
        // slope (gk norm sine / 4π - gc c / 2) / q_l(s)
        const __m512d term = _mm512_fmsub_pd(_mm512_mul_pd(gk, norm), _mm512_mul_pd(st[l].sine, _mm512_mul_pd(half, inv_two_pi)),
                                             _mm512_mul_pd(_mm512_mul_pd(gc, c), half));
        acc = _mm512_fmadd_pd(_mm512_set1_pd(sl->slope[l]), _mm512_mul_pd(term, iq), acc);
        gt = gtl;
    }
    *gq = _mm512_add_pd(*gq, acc);
    return _mm512_add_pd(gs, gt);
}

AVX512 static void rows_avx512(const distill_nk_problem *pb, long begin, long end, scratch *sc, const support_layers *sl,
                               double *loss, long *correct, double *d_alpha, double *d_dot, double *d_sum, double *d_q,
                               double *gk) {
    const long p = pb->features, m = pb->count, ldm = pb->ldm, ldp = ld16(p);
    const __m512d scale = _mm512_set1_pd(pb->dot_scale);
    for (long b0 = begin; b0 < end; b0 += NB) {
        const long nb = (end - b0 < NB) ? end - b0 : NB;
        load_block(pb, b0, nb, ldp, sc);
        gemm_forward_avx512(sc->xf, ldp, pb->support_t, ldm, p, sc->a);
        for (long i = 0; i < nb; i++)
            for (long j = 0; j < ldm; j += 8) {
                const __m512d sigma = _mm512_fmadd_pd(scale, _mm512_cvtps_pd(_mm256_loadu_ps(sc->a + i * ldm + j)),
                                                      _mm512_loadu_pd(pb->column_offset + j));
                _mm512_storeu_pd(sc->k + i * ldm + j, entries_forward(pb, sigma, &sc->rows[i], sl, j, ldm, NULL));
            }
        block_predictions(pb, b0, nb, ldm, sc, loss, correct, d_alpha != NULL);
        if (!d_alpha) continue;
        block_alpha_gradient(pb, nb, ldm, sc, d_alpha, gk);
        for (long j = 0; j < ldm; j += 8) {
            __m512d gqj = _mm512_setzero_pd(), gsum = _mm512_setzero_pd();
            const __mmask8 valid = (__mmask8)((m - j >= 8) ? 0xFF : (m > j ? (1u << (m - j)) - 1u : 0));
            for (long i = 0; i < nb; i++) {
                const __m512d sigma = _mm512_fmadd_pd(scale, _mm512_cvtps_pd(_mm256_loadu_ps(sc->a + i * ldm + j)),
                                                      _mm512_loadu_pd(pb->column_offset + j));
                const __m512d g = _mm512_maskz_loadu_pd(valid, gk + i * ldm + j);
                const __m512d gs = entries_backward(pb, sigma, g, &sc->rows[i], sl, j, ldm, &gqj);
                gsum = _mm512_add_pd(gsum, gs);
                _mm256_storeu_ps(sc->a + i * ldm + j, _mm512_cvtpd_ps(gs));
            }
            double tq[8], ts[8];
            _mm512_storeu_pd(tq, gqj);
            _mm512_storeu_pd(ts, gsum);
            for (long u = 0; u < 8 && j + u < m; u++) { d_q[j + u] += tq[u]; d_sum[j + u] += ts[u]; }
        }
        gemm_backward_avx512(sc->a, ldm, sc->xf, ldp, m, nb, d_dot, p);
    }
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

int distill_nk_rows(const distill_nk_problem *pb, int kernel, long begin, long end,
                    double *loss_sum, long *correct,
                    double *d_alpha, double *d_dot, double *d_sum, double *d_q) {
    const long p = pb->features, ldm = pb->ldm, ldp = ld16(p), depth = pb->depth;
    if (depth < 1 || depth > DISTILL_NK_MAX_DEPTH) return -1;
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
        rows_avx512(pb, begin, end, &sc, &sl, &loss, &hits, d_alpha, d_dot, d_sum, d_q, gk);
    else
#endif
        rows_portable(pb, begin, end, &sc, &sl, &loss, &hits, d_alpha, d_dot, d_sum, d_q, gk);
    free(base);
    *loss_sum += loss;
    *correct += hits;
    return 0;
}
