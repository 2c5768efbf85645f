// The fused outer pass: per block of rows, logits -> softmax -> loss, correct
// count -> P - Y -> rank-C update of the gradient, while the block's pixels are
// hot in cache. Two implementations of the same arithmetic:
//  - AVX-512 (compiled for that target only, chosen at run time by CPUID),
//    vectorised over pixels: logits two rows at a time sharing the W^T loads,
//    the gradient register-blocked over 32 pixels x up to 10 classes;
//  - portable C loops for any x86-64 (or other) CPU.
// Neither reads outside the pixel, label or weight arrays: pixel tails use
// masked loads, and the weights and gradient are padded to `ldw` columns.

#include "distill_kernels.h"
#include "kernel_support.h"

#include <math.h>
#include <stddef.h>

#define CLASS_GROUP 10

long distill_outer_ldw(long features) { return (features + 15) / 16 * 16; }

static long classes_ld(long classes) { return (classes + 15) / 16 * 16; }

long distill_outer_scratch_count(long features, long classes) {
    // Block logits / P - Y (DISTILL_BLOCK_ROWS x ldc); for the portable kernel
    // also one row of pixels (ldw) and the block gradient (classes x ldw).
    return DISTILL_BLOCK_ROWS * classes_ld(classes) + (1 + classes) * distill_outer_ldw(features);
}

// ---------------------------------------------------------------------------
// Loss bookkeeping shared by both kernels. log(sum_j exp(z_j - zmax)) is
// taken once per many rows: the sums (each in [1, classes]) are multiplied in
// Double and the log taken when the product grows large.

typedef struct {
    double loss;     // sum of (zmax - z_label) and of logs already taken
    double product;  // product of the softmax denominators not yet logged
    long correct;
} loss_acc;

static inline void loss_add_row(loss_acc *acc, float zmax, float zlabel, float sum, int is_correct) {
    acc->loss += (double)zmax - (double)zlabel;
    acc->product *= (double)sum;
    if (acc->product > 1e250) {
        acc->loss += log(acc->product);
        acc->product = 1.0;
    }
    acc->correct += is_correct;
}

// ---------------------------------------------------------------------------
// Portable kernel.

/// Row `row` of the pixels as floats in x (p values).
static void load_row(const distill_outer_problem *pb, long row, float *x) {
    const long p = pb->features;
    if (pb->pixel_kind == DISTILL_PIXELS_U8) {
        const uint8_t *src = (const uint8_t *)pb->pixels + row * p;
        for (long k = 0; k < p; k++) x[k] = (float)src[k];
    } else {
        const float *src = (const float *)pb->pixels + row * p;
        for (long k = 0; k < p; k++) x[k] = src[k];
    }
}

/// Dot product with 8 independent partial sums, so the compiler vectorises it.
static float dot(const float *x, const float *w, long p) {
    float s[8] = {0};
    long k = 0;
    for (; k + 8 <= p; k += 8)
        for (int u = 0; u < 8; u++) s[u] += x[k + u] * w[k + u];
    for (; k < p; k++) s[0] += x[k] * w[k];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

DISPATCH_CLONES
static void rows_portable(const distill_outer_problem *pb, long begin, long end, float *scratch,
                          loss_acc *acc, double *grad) {
    const long p = pb->features, c = pb->classes, ldw = pb->ldw, ldc = classes_ld(c);
    float *zb = scratch;                                  // block logits, then P - Y
    float *x = zb + DISTILL_BLOCK_ROWS * ldc;             // one row of pixels (ldw)
    float *gb = x + ldw;                                  // block gradient (classes x ldw)
    for (long b0 = begin; b0 < end; b0 += DISTILL_BLOCK_ROWS) {
        const long nb = (end - b0 < DISTILL_BLOCK_ROWS) ? end - b0 : DISTILL_BLOCK_ROWS;
        for (long i = 0; i < nb; i++) {
            float *z = zb + i * ldc;
            load_row(pb, b0 + i, x);
            for (long j = 0; j < c; j++) z[j] = dot(x, pb->weights_t + j * ldw, p);
            long arg = 0;
            float zmax = z[0];
            for (long j = 1; j < c; j++) if (z[j] > zmax) { zmax = z[j]; arg = j; }
            const long label = pb->labels[b0 + i];
            const float zlabel = z[label];
            float sum = 0;
            for (long j = 0; j < c; j++) { z[j] = expf(z[j] - zmax); sum += z[j]; }
            loss_add_row(acc, zmax, zlabel, sum, arg == label);
            if (grad) {
                const float inv = 1.0f / sum;
                for (long j = 0; j < c; j++) z[j] *= inv;
                z[label] -= 1.0f;
            }
        }
        if (!grad) continue;
        for (long k = 0; k < c * ldw; k++) gb[k] = 0;
        for (long i = 0; i < nb; i++) {
            load_row(pb, b0 + i, x);
            for (long j = 0; j < c; j++) {
                const float d = zb[i * ldc + j];
                float *g = gb + j * ldw;
                for (long k = 0; k < p; k++) g[k] += x[k] * d;
            }
        }
        for (long k = 0; k < c * ldw; k++) grad[k] += (double)gb[k];
    }
}

// ---------------------------------------------------------------------------
// AVX-512 kernel.

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

static int detect_avx512(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 27)) || !(c & (1u << 12))) return 0;   // OSXSAVE, FMA
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6) != 0xE6) return 0;                      // XMM, YMM, ZMM state enabled
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned need = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);  // F, DQ, BW, VL
    return (b & need) == need;
}

int distill_outer_has_avx512(void) {
    static int cached = -1;   // CPUID traps to the hypervisor in a VM: ask once
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) { v = detect_avx512(); __atomic_store_n(&cached, v, __ATOMIC_RELAXED); }
    return v;
}

INLINE __mmask16 tail_mask(long n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u); }

/// 16 pixels at `index` as floats; lanes outside `m` are zero and not read.
AVX512 INLINE __m512 load_pixels(const void *pixels, int kind, long index, __mmask16 m) {
    if (kind == DISTILL_PIXELS_U8)
        return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, (const uint8_t *)pixels + index)));
    return _mm512_maskz_loadu_ps(m, (const float *)pixels + index);
}

/// exp(x) for x <= 0 (Cephes expf: range reduction, degree-6 polynomial).
AVX512 INLINE __m512 exp_ps(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.33654f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(y, n);
}

/// Logits of rows r0 and r1 for `cg` classes (weights_t already offset to the
/// group): z0[j], z1[j]. The two rows share every load of W^T.
AVX512 INLINE void logits_step(const void *pixels, int kind, long x0, long x1, __mmask16 m,
                               const float *wt, long ldw, int cg, __m512 *a0, __m512 *a1) {
    const __m512 v0 = load_pixels(pixels, kind, x0, m);
    const __m512 v1 = load_pixels(pixels, kind, x1, m);
    for (int j = 0; j < cg; j++) {
        const __m512 w = _mm512_loadu_ps(wt + j * ldw);
        a0[j] = _mm512_fmadd_ps(v0, w, a0[j]);
        a1[j] = _mm512_fmadd_ps(v1, w, a1[j]);
    }
}

AVX512 INLINE void logits_pair(const void *pixels, int kind, long p, long r0, long r1,
                               const float *wt, long ldw, int cg, float *z0, float *z1) {
    __m512 a0[CLASS_GROUP], a1[CLASS_GROUP];
    for (int j = 0; j < cg; j++) { a0[j] = _mm512_setzero_ps(); a1[j] = _mm512_setzero_ps(); }
    long k = 0;
    for (; k + 16 <= p; k += 16)
        logits_step(pixels, kind, r0 * p + k, r1 * p + k, 0xFFFF, wt + k, ldw, cg, a0, a1);
    if (k < p)   // W^T is zero-padded to ldw >= k + 16
        logits_step(pixels, kind, r0 * p + k, r1 * p + k, tail_mask(p - k), wt + k, ldw, cg, a0, a1);
    // The sums of the lanes: the 2 cg accumulators through one or two halving trees
    // (the same bits as _mm512_reduce_add_ps each; lane 4r + t holds vector 4t + r).
    __m512 v[16];
    float sums[16];
    if (2 * cg <= 16) {
        for (int j = 0; j < 16; j++) v[j] = j < cg ? a0[j] : (j - cg < cg ? a1[j - cg] : _mm512_setzero_ps());
        _mm512_storeu_ps(sums, sum16_ps_lanes(v));
        for (int j = 0; j < cg; j++) { z0[j] = sums[4 * (j % 4) + j / 4]; z1[j] = sums[4 * ((j + cg) % 4) + (j + cg) / 4]; }
    } else {
        for (int j = 0; j < 16; j++) v[j] = j < cg ? a0[j] : _mm512_setzero_ps();
        _mm512_storeu_ps(sums, sum16_ps_lanes(v));
        for (int j = 0; j < cg; j++) z0[j] = sums[4 * (j % 4) + j / 4];
        for (int j = 0; j < 16; j++) v[j] = j < cg ? a1[j] : _mm512_setzero_ps();
        _mm512_storeu_ps(sums, sum16_ps_lanes(v));
        for (int j = 0; j < cg; j++) z1[j] = sums[4 * (j % 4) + j / 4];
    }
}

/// Adds the 16 floats of `a` to the 16 doubles at g.
AVX512 INLINE void add_to_doubles(double *g, __m512 a) {
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    _mm512_storeu_pd(g, _mm512_add_pd(_mm512_loadu_pd(g), lo));
    _mm512_storeu_pd(g + 8, _mm512_add_pd(_mm512_loadu_pd(g + 8), hi));
}

/// Gradient of one block for pixels k..<k+16*nv (lanes outside m0, m1 are
/// zero) and `cg` classes: sum_i x_i[k..] * d_i[j] in Float32 registers, then
/// added to the Double gradient (g offset to the class group, row stride ldw).
AVX512 INLINE void gradient_tile(const void *pixels, int kind, long p, long b0, long nb,
                                 const float *d, long ldc, int cg, int nv, long k,
                                 __mmask16 m0, __mmask16 m1, double *g, long ldw) {
    __m512 a0[CLASS_GROUP], a1[CLASS_GROUP];
    for (int j = 0; j < cg; j++) { a0[j] = _mm512_setzero_ps(); a1[j] = _mm512_setzero_ps(); }
    for (long i = 0; i < nb; i++) {
        const long x = (b0 + i) * p + k;
        const __m512 v0 = load_pixels(pixels, kind, x, m0);
        const __m512 v1 = nv == 2 ? load_pixels(pixels, kind, x + 16, m1) : _mm512_setzero_ps();
        const float *di = d + i * ldc;
        for (int j = 0; j < cg; j++) {
            const __m512 b = _mm512_set1_ps(di[j]);
            a0[j] = _mm512_fmadd_ps(v0, b, a0[j]);
            if (nv == 2) a1[j] = _mm512_fmadd_ps(v1, b, a1[j]);
        }
    }
    for (int j = 0; j < cg; j++) {
        add_to_doubles(g + j * ldw + k, a0[j]);
        if (nv == 2) add_to_doubles(g + j * ldw + k + 16, a1[j]);
    }
}

// Instantiations with a compile-time class-group size, so the accumulators
// live in registers.
#define CG_CASES(F) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10)

#define LOGITS_FN(CG)                                                                          \
    AVX512 static void logits_pair_u8_##CG(const void *x, long p, long r0, long r1,            \
                                           const float *wt, long ldw, float *z0, float *z1) { \
        logits_pair(x, DISTILL_PIXELS_U8, p, r0, r1, wt, ldw, CG, z0, z1);                     \
    }                                                                                          \
    AVX512 static void logits_pair_f32_##CG(const void *x, long p, long r0, long r1,           \
                                            const float *wt, long ldw, float *z0, float *z1) { \
        logits_pair(x, DISTILL_PIXELS_F32, p, r0, r1, wt, ldw, CG, z0, z1);                    \
    }
CG_CASES(LOGITS_FN)

typedef void (*logits_fn)(const void *, long, long, long, const float *, long, float *, float *);
#define LOGITS_U8_ENTRY(CG) logits_pair_u8_##CG,
#define LOGITS_F32_ENTRY(CG) logits_pair_f32_##CG,
static const logits_fn logits_u8[CLASS_GROUP] = {CG_CASES(LOGITS_U8_ENTRY)};
static const logits_fn logits_f32[CLASS_GROUP] = {CG_CASES(LOGITS_F32_ENTRY)};

/// The gradient of one block over all pixels, in tiles of 32 (then 16) pixels.
AVX512 INLINE void gradient_block(const void *x, int kind, long p, long b0, long nb, const float *d,
                                  long ldc, int cg, double *g, long ldw) {
    long k = 0;
    for (; k + 32 <= p; k += 32)
        gradient_tile(x, kind, p, b0, nb, d, ldc, cg, 2, k, 0xFFFF, 0xFFFF, g, ldw);
    if (p - k > 16)
        gradient_tile(x, kind, p, b0, nb, d, ldc, cg, 2, k, 0xFFFF, tail_mask(p - k - 16), g, ldw);
    else if (p > k)
        gradient_tile(x, kind, p, b0, nb, d, ldc, cg, 1, k, tail_mask(p - k), 0, g, ldw);
}

#define GRADIENT_FN(CG)                                                                          \
    AVX512 static void gradient_u8_##CG(const void *x, long p, long b0, long nb, const float *d, \
                                        long ldc, double *g, long ldw) {                         \
        gradient_block(x, DISTILL_PIXELS_U8, p, b0, nb, d, ldc, CG, g, ldw);                     \
    }                                                                                            \
    AVX512 static void gradient_f32_##CG(const void *x, long p, long b0, long nb, const float *d, \
                                         long ldc, double *g, long ldw) {                        \
        gradient_block(x, DISTILL_PIXELS_F32, p, b0, nb, d, ldc, CG, g, ldw);                    \
    }
CG_CASES(GRADIENT_FN)

typedef void (*gradient_fn)(const void *, long, long, long, const float *, long, double *, long);
#define GRADIENT_U8_ENTRY(CG) gradient_u8_##CG,
#define GRADIENT_F32_ENTRY(CG) gradient_f32_##CG,
static const gradient_fn gradient_u8[CLASS_GROUP] = {CG_CASES(GRADIENT_U8_ENTRY)};
static const gradient_fn gradient_f32[CLASS_GROUP] = {CG_CASES(GRADIENT_F32_ENTRY)};

/// Softmax of one row of logits z (c values): loss bookkeeping, and z replaced
/// by P - Y when `want_d`.
AVX512 static void softmax_row(float *z, long c, long label, loss_acc *acc, int want_d) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __m512 vmax = ninf;
    for (long j = 0; j < c; j += 16)
        vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(ninf, tail_mask(c - j), z + j));
    const float zmax = _mm512_reduce_max_ps(vmax);
    const __m512 vzmax = _mm512_set1_ps(zmax);
    long arg = 0;
    for (long j = 0; j < c; j += 16) {
        const __mmask16 m = tail_mask(c - j);
        const __mmask16 eq = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, z + j), vzmax, _CMP_EQ_OQ);
        if (eq) { arg = j + __builtin_ctz(eq); break; }
    }
    const float zlabel = z[label];
    __m512 vsum = _mm512_setzero_ps();
    for (long j = 0; j < c; j += 16) {
        const __mmask16 m = tail_mask(c - j);
        const __m512 e = _mm512_maskz_mov_ps(m, exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, z + j), vzmax)));
        vsum = _mm512_add_ps(vsum, e);
        if (want_d) _mm512_mask_storeu_ps(z + j, m, e);
    }
    const float sum = _mm512_reduce_add_ps(vsum);
    loss_add_row(acc, zmax, zlabel, sum, arg == label);
    if (want_d) {
        const __m512 inv = _mm512_set1_ps(1.0f / sum);
        for (long j = 0; j < c; j += 16) {
            const __mmask16 m = tail_mask(c - j);
            _mm512_mask_storeu_ps(z + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, z + j), inv));
        }
        z[label] -= 1.0f;
    }
}

/// Rows between a pair of rows and the pair whose pixels are prefetched meanwhile.
#define PREFETCH_ROWS 8

AVX512 static void rows_avx512(const distill_outer_problem *pb, long begin, long end, float *scratch,
                               loss_acc *acc, double *grad) {
    const long p = pb->features, c = pb->classes, ldw = pb->ldw, ldc = classes_ld(c);
    const int u8 = pb->pixel_kind == DISTILL_PIXELS_U8;
    const logits_fn *logits = u8 ? logits_u8 : logits_f32;
    const long row_bytes = p * (u8 ? 1 : (long)sizeof(float));
    const gradient_fn *gradient = u8 ? gradient_u8 : gradient_f32;
    float *zb = scratch;
    for (long b0 = begin; b0 < end; b0 += DISTILL_BLOCK_ROWS) {
        const long nb = (end - b0 < DISTILL_BLOCK_ROWS) ? end - b0 : DISTILL_BLOCK_ROWS;
        for (long j0 = 0; j0 < c; j0 += CLASS_GROUP) {
            const long cg = (c - j0 < CLASS_GROUP) ? c - j0 : CLASS_GROUP;
            const float *wt = pb->weights_t + j0 * ldw;
            for (long i = 0; i < nb; i += 2) {
                const long i1 = (i + 1 < nb) ? i + 1 : i;   // odd tail: the last row twice
                // The rows PREFETCH_ROWS ahead (also past the block) into L1: the stream of
                // pixels otherwise stalls the conversions. A prefetch never faults.
                if (b0 + i + PREFETCH_ROWS + 1 < end) {
                    const char *ahead = (const char *)pb->pixels + (b0 + i + PREFETCH_ROWS) * row_bytes;
                    for (long k = 0; k < 2 * row_bytes + 63; k += 64) _mm_prefetch(ahead + k, _MM_HINT_T0);
                }
                logits[cg - 1](pb->pixels, p, b0 + i, b0 + i1, wt, ldw, zb + i * ldc + j0, zb + i1 * ldc + j0);
            }
        }
        for (long i = 0; i < nb; i++) softmax_row(zb + i * ldc, c, pb->labels[b0 + i], acc, grad != NULL);
        if (!grad) continue;
        for (long j0 = 0; j0 < c; j0 += CLASS_GROUP) {
            const long cg = (c - j0 < CLASS_GROUP) ? c - j0 : CLASS_GROUP;
            gradient[cg - 1](pb->pixels, p, b0, nb, zb + j0, ldc, grad + j0 * ldw, ldw);
        }
    }
}
#else
int distill_outer_has_avx512(void) { return 0; }
#endif

// ---------------------------------------------------------------------------

void distill_outer_rows(const distill_outer_problem *pb, int kernel, long begin, long end, float *scratch,
                        double *loss_sum, long *correct, double *gradient_t) {
    loss_acc acc = {0.0, 1.0, 0};
#if defined(__x86_64__)
    if (kernel == DISTILL_KERNEL_AVX512 && distill_outer_has_avx512())
        rows_avx512(pb, begin, end, scratch, &acc, gradient_t);
    else
#endif
        rows_portable(pb, begin, end, scratch, &acc, gradient_t);
    *loss_sum += acc.loss + log(acc.product);
    *correct += acc.correct;
}
