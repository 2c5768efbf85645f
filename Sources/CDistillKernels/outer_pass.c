// The fused outer pass: per block of rows, logits -> softmax -> loss, correct
// count -> P - Y -> rank-C update of the gradient, while the block's pixels are
// hot in cache. Two implementations of the same arithmetic:
//  - AVX-512 (compiled for that target only, chosen at run time by CPUID),
//    vectorised over pixels: logits two rows at a time sharing the loads of
//    W^T (packed chunk by chunk of 16 pixels), byte pixels converted to floats
//    once and kept for the gradient, the rows ahead prefetched one line per
//    chunk; the softmax 16 rows at a time, one row a lane; the gradient
//    register-blocked over 32 pixels x up to 10 classes;
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
    // Block logits / P - Y (DISTILL_BLOCK_ROWS x ldc), then for the portable
    // kernel one row of pixels (ldw) and the block gradient (classes x ldw), for
    // the AVX-512 kernel the packed weights (classes x ldw) and the block's rows
    // as floats (DISTILL_BLOCK_ROWS x ldw), from a 64-byte boundary (16 floats' slack).
    return DISTILL_BLOCK_ROWS * classes_ld(classes) + (classes + DISTILL_BLOCK_ROWS) * distill_outer_ldw(features) + 16;
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

/// Logits of rows r0 and r1 for `cg` classes over one 16-pixel chunk: wq is the
/// chunk's `cg` vectors of weights, contiguous. The two rows share every load.
/// With s0, s1, the rows' 16 pixels as floats are stored there.
AVX512 INLINE void logits_step(const void *pixels, int kind, long x0, long x1, __mmask16 m,
                               const float *wq, int cg, __m512 *a0, __m512 *a1, float *s0, float *s1) {
    const __m512 v0 = load_pixels(pixels, kind, x0, m);
    const __m512 v1 = load_pixels(pixels, kind, x1, m);
    if (s0) { _mm512_storeu_ps(s0, v0); _mm512_storeu_ps(s1, v1); }
    for (int j = 0; j < cg; j++) {
        const __m512 w = _mm512_loadu_ps(wq + 16 * j);
        a0[j] = _mm512_fmadd_ps(v0, w, a0[j]);
        a1[j] = _mm512_fmadd_ps(v1, w, a1[j]);
    }
}

/// The lanes' sums of 4 vectors, by the halvings of sum16_ps_lanes (the same bits
/// as _mm512_reduce_add_ps each): v[u]'s sum in lane 4u.
AVX512 INLINE __m512 sum4_ps_lanes(const __m512 *v) {
    const __m512 c0 = _mm512_add_ps(_mm512_shuffle_f32x4(v[0], v[1], 0x44), _mm512_shuffle_f32x4(v[0], v[1], 0xEE));
    const __m512 c1 = _mm512_add_ps(_mm512_shuffle_f32x4(v[2], v[3], 0x44), _mm512_shuffle_f32x4(v[2], v[3], 0xEE));
    const __m512 e = _mm512_add_ps(_mm512_shuffle_f32x4(c0, c1, 0x88), _mm512_shuffle_f32x4(c0, c1, 0xDD));
    const __m512 g = _mm512_add_ps(_mm512_shuffle_ps(e, e, 0x44), _mm512_shuffle_ps(e, e, 0xEE));
    return _mm512_add_ps(_mm512_shuffle_ps(g, g, 0x88), _mm512_shuffle_ps(g, g, 0xDD));
}

/// Logits of rows r0 and r1 for a group of `cg` classes, from the group's
/// weights packed chunk by chunk (`wp`: chunk q's vectors at wp + 16 cg q):
/// class j's logits at z0[j zs], z1[j zs]. With x0, x1 (not NULL), the rows'
/// pixels as floats are stored there, zero-padded to whole chunks. With `ahead`,
/// the 2 p pixels from there are prefetched into L1 meanwhile.
AVX512 INLINE void logits_pair(const void *pixels, int kind, long p, long r0, long r1,
                               const float *wp, int cg, float *z0, float *z1, long zs, float *x0, float *x1,
                               const char *ahead) {
    __m512 a[2 * CLASS_GROUP];   // row r0's classes, then row r1's
    for (int j = 0; j < 2 * cg; j++) a[j] = _mm512_setzero_ps();
    long k = 0;
    for (; k + 16 <= p; k += 16) {
        // Spread over the loop, the prefetches leave fill buffers for the loads.
        if (ahead) {
            const long elt = kind == DISTILL_PIXELS_U8 ? 1 : (long)sizeof(float);
            _mm_prefetch(ahead + 2 * elt * k, _MM_HINT_T0);
            if (elt > 1) _mm_prefetch(ahead + 2 * elt * k + 64, _MM_HINT_T0);
        }
        logits_step(pixels, kind, r0 * p + k, r1 * p + k, 0xFFFF, wp + cg * k, cg, a, a + cg,
                    x0 ? x0 + k : NULL, x1 ? x1 + k : NULL);
    }
    if (k < p)   // the packed weights are zero-padded to a whole chunk
        logits_step(pixels, kind, r0 * p + k, r1 * p + k, tail_mask(p - k), wp + cg * k, cg, a, a + cg,
                    x0 ? x0 + k : NULL, x1 ? x1 + k : NULL);
    // The sums of the lanes of the 2 cg accumulators, through halving trees for
    // 16 vectors (lane 4r + t holds vector 4t + r) and then 4 (lane 4u, vector u).
    // Accumulator j < cg is row r0's class j, at z0[j zs]; j >= cg row r1's class
    // j - cg, at z1[(j - cg) zs] = (z1 - cg zs)[j zs].
    float sums[16];
    int j = 0;
    for (; j + 16 <= 2 * cg; j += 16) {
        _mm512_storeu_ps(sums, sum16_ps_lanes(a + j));
        for (int t = 0; t < 16; t++) (j + t < cg ? z0 : z1 - cg * zs)[(j + t) * zs] = sums[4 * (t % 4) + t / 4];
    }
    for (; j < 2 * cg; j += 4) {
        __m512 v[4];
        for (int t = 0; t < 4; t++) v[t] = j + t < 2 * cg ? a[j + t] : _mm512_setzero_ps();
        _mm512_storeu_ps(sums, sum4_ps_lanes(v));
        for (int t = 0; t < 4 && j + t < 2 * cg; t++) (j + t < cg ? z0 : z1 - cg * zs)[(j + t) * zs] = sums[4 * t];
    }
}

// Instantiations with a compile-time class-group size, so the accumulators
// live in registers.
#define CG_CASES(F) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10)

#define LOGITS_FN(CG)                                                                             \
    AVX512 static void logits_pair_u8_##CG(const void *x, long p, long r0, long r1, const float *wp, \
                                           float *z0, float *z1, long zs, float *x0, float *x1,    \
                                           const char *ahead) {                                    \
        logits_pair(x, DISTILL_PIXELS_U8, p, r0, r1, wp, CG, z0, z1, zs, x0, x1, ahead);           \
    }                                                                                             \
    AVX512 static void logits_pair_f32_##CG(const void *x, long p, long r0, long r1, const float *wp, \
                                            float *z0, float *z1, long zs, float *x0, float *x1,   \
                                            const char *ahead) {                                   \
        (void)x0, (void)x1;   /* float pixels: the gradient reads them where they are */       \
        logits_pair(x, DISTILL_PIXELS_F32, p, r0, r1, wp, CG, z0, z1, zs, NULL, NULL, ahead);      \
    }
CG_CASES(LOGITS_FN)

typedef void (*logits_fn)(const void *, long, long, long, const float *, float *, float *, long, float *, float *,
                          const char *);
#define LOGITS_U8_ENTRY(CG) logits_pair_u8_##CG,
#define LOGITS_F32_ENTRY(CG) logits_pair_f32_##CG,
static const logits_fn logits_u8[CLASS_GROUP] = {CG_CASES(LOGITS_U8_ENTRY)};
static const logits_fn logits_f32[CLASS_GROUP] = {CG_CASES(LOGITS_F32_ENTRY)};

/// Adds the 16 floats of `a` to the 16 doubles at g.
AVX512 INLINE void add_to_doubles(double *g, __m512 a) {
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    _mm512_storeu_pd(g, _mm512_add_pd(_mm512_loadu_pd(g), lo));
    _mm512_storeu_pd(g + 8, _mm512_add_pd(_mm512_loadu_pd(g + 8), hi));
}

/// Gradient of one block for pixels k..<k+16*nv (lanes outside m0, m1 are
/// zero) and `cg` classes: sum_i x_i[k..] * d_i[j] (x_i at x + i stride, Float32;
/// d_i[j] at d[j DISTILL_BLOCK_ROWS + i]) in Float32 registers, then added to the
/// Double gradient (g offset to the class group, row stride ldw).
AVX512 INLINE void gradient_tile(const float *x, long stride, long nb, const float *d, int cg, int nv, long k,
                                 __mmask16 m0, __mmask16 m1, double *g, long ldw) {
    __m512 a0[CLASS_GROUP], a1[CLASS_GROUP];
    for (int j = 0; j < cg; j++) { a0[j] = _mm512_setzero_ps(); a1[j] = _mm512_setzero_ps(); }
    for (long i = 0; i < nb; i++) {
        const float *xi = x + i * stride + k;
        const __m512 v0 = _mm512_maskz_loadu_ps(m0, xi);
        const __m512 v1 = nv == 2 ? _mm512_maskz_loadu_ps(m1, xi + 16) : _mm512_setzero_ps();
        for (int j = 0; j < cg; j++) {
            const __m512 b = _mm512_set1_ps(d[j * DISTILL_BLOCK_ROWS + i]);
            a0[j] = _mm512_fmadd_ps(v0, b, a0[j]);
            if (nv == 2) a1[j] = _mm512_fmadd_ps(v1, b, a1[j]);
        }
    }
    for (int j = 0; j < cg; j++) {
        add_to_doubles(g + j * ldw + k, a0[j]);
        if (nv == 2) add_to_doubles(g + j * ldw + k + 16, a1[j]);
    }
}

/// The gradient of one block over its p pixels, in tiles of 32 (then 16) pixels.
#define GRADIENT_FN(CG)                                                                           \
    AVX512 static void gradient_##CG(const float *x, long stride, long p, long nb, const float *d, \
                                     double *g, long ldw) {                                       \
        long k = 0;                                                                               \
        for (; k + 32 <= p; k += 32)                                                              \
            gradient_tile(x, stride, nb, d, CG, 2, k, 0xFFFF, 0xFFFF, g, ldw);                    \
        if (p - k > 16)                                                                           \
            gradient_tile(x, stride, nb, d, CG, 2, k, 0xFFFF, tail_mask(p - k - 16), g, ldw);     \
        else if (p > k)                                                                           \
            gradient_tile(x, stride, nb, d, CG, 1, k, tail_mask(p - k), 0, g, ldw);               \
    }
CG_CASES(GRADIENT_FN)

typedef void (*gradient_fn)(const float *, long, long, long, const float *, double *, long);
#define GRADIENT_ENTRY(CG) gradient_##CG,
static const gradient_fn gradient_fns[CLASS_GROUP] = {CG_CASES(GRADIENT_ENTRY)};

/// Softmax of up to 16 rows at once, one row a lane: the logits of class j
/// at zt[j * zs + lane] (rows nr..<16 are ignored). Loss bookkeeping row by row,
/// and the logits replaced by P - Y when `want_d`. Each row's results have the
/// bits of a row-wise _mm512_reduce_max_ps / _mm512_reduce_add_ps softmax: the
/// sum of the exponentials pairs class slots s and s + 8, then s + 4, s + 2, s + 1
/// (classes beyond 16 first added to slot j mod 16, in order).
AVX512 static void softmax_rows(float *zt, long zs, long c, const int32_t *labels, long nr,
                                loss_acc *acc, int want_d) {
    const __m512i lab = _mm512_maskz_loadu_epi32(tail_mask(nr), labels);
    __m512 vmax = _mm512_loadu_ps(zt);
    for (long j = 1; j < c; j++) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(zt + j * zs));
    __m512i arg = _mm512_setzero_si512();
    __m512 zlabel = _mm512_setzero_ps();
    __mmask16 found = 0;
    __m512 slot[16];
    for (int s = 0; s < 16; s++) slot[s] = _mm512_setzero_ps();
    for (long j = 0; j < c; j++) {
        const __m512 z = _mm512_loadu_ps(zt + j * zs);
        const __m512i vj = _mm512_set1_epi32((int)j);
        const __mmask16 first = _mm512_cmp_ps_mask(z, vmax, _CMP_EQ_OQ) & ~found;
        arg = _mm512_mask_mov_epi32(arg, first, vj);
        found |= first;
        zlabel = _mm512_mask_mov_ps(zlabel, _mm512_cmpeq_epi32_mask(lab, vj), z);
        const __m512 e = exp_ps(_mm512_sub_ps(z, vmax));
        slot[j % 16] = _mm512_add_ps(slot[j % 16], e);
        if (want_d) _mm512_storeu_ps(zt + j * zs, e);
    }
    for (int h = 8; h >= 1; h /= 2)
        for (int s = 0; s < h; s++) slot[s] = _mm512_add_ps(slot[s], slot[s + h]);
    const __m512 sum = slot[0];
    float zmax_r[16], zlabel_r[16], sum_r[16];
    _mm512_storeu_ps(zmax_r, vmax);
    _mm512_storeu_ps(zlabel_r, zlabel);
    _mm512_storeu_ps(sum_r, sum);
    for (long i = 0; i < nr; i++) loss_add_row(acc, zmax_r[i], zlabel_r[i], sum_r[i], 0);
    acc->correct += __builtin_popcount(_mm512_mask_cmpeq_epi32_mask(tail_mask(nr), arg, lab));
    if (want_d) {
        const __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), sum);
        for (long j = 0; j < c; j++) {
            const __m512 pj = _mm512_mul_ps(_mm512_loadu_ps(zt + j * zs), inv);
            const __mmask16 is_label = _mm512_cmpeq_epi32_mask(lab, _mm512_set1_epi32((int)j));
            _mm512_storeu_ps(zt + j * zs, _mm512_mask_sub_ps(pj, is_label, pj, _mm512_set1_ps(1.0f)));
        }
    }
}

/// Rows between a pair of rows and the pair whose pixels are prefetched meanwhile.
#define PREFETCH_ROWS 8

AVX512 static void rows_avx512(const distill_outer_problem *pb, long begin, long end, float *scratch,
                               loss_acc *acc, double *grad) {
    const long p = pb->features, c = pb->classes, ldw = pb->ldw, zs = DISTILL_BLOCK_ROWS;
    const int u8 = pb->pixel_kind == DISTILL_PIXELS_U8;
    const logits_fn *logits = u8 ? logits_u8 : logits_f32;
    const long row_bytes = p * (u8 ? 1 : (long)sizeof(float));
    float *zt = scratch;   // the block's logits, then P - Y, transposed: class j of row i at zt[j * zs + i]
    // W^T packed by class group and 16-pixel chunk: group j0's chunk q at wp + j0 ldw + 16 cg q.
    // From a 64-byte boundary, so that no load of a vector of them splits across cache lines.
    float *wp = scratch + DISTILL_BLOCK_ROWS * classes_ld(c);
    wp += (16 - ((uintptr_t)wp / sizeof(float)) % 16) % 16;
    for (long j0 = 0; j0 < c; j0 += CLASS_GROUP) {
        const long cg = (c - j0 < CLASS_GROUP) ? c - j0 : CLASS_GROUP;
        for (long q = 0; q < ldw / 16; q++)
            for (long j = 0; j < cg; j++)
                _mm512_storeu_ps(wp + j0 * ldw + 16 * (cg * q + j), _mm512_loadu_ps(pb->weights_t + (j0 + j) * ldw + 16 * q));
    }
    // Byte pixels: the block's rows as floats (row stride ldw), stored while the
    // first class group's logits convert them, read by the gradient.
    float *xb = (u8 && grad) ? wp + c * ldw : NULL;
    for (long b0 = begin; b0 < end; b0 += DISTILL_BLOCK_ROWS) {
        const long nb = (end - b0 < DISTILL_BLOCK_ROWS) ? end - b0 : DISTILL_BLOCK_ROWS;
        for (long j0 = 0; j0 < c; j0 += CLASS_GROUP) {
            const long cg = (c - j0 < CLASS_GROUP) ? c - j0 : CLASS_GROUP;
            for (long i = 0; i < nb; i += 2) {
                const long i1 = (i + 1 < nb) ? i + 1 : i;   // odd tail: the last row twice
                // The rows PREFETCH_ROWS ahead (also past the block) into L1, while the first
                // class group converts: the stream of pixels otherwise stalls the conversions.
                const char *ahead = (j0 == 0 && b0 + i + PREFETCH_ROWS + 1 < end)
                                        ? (const char *)pb->pixels + (b0 + i + PREFETCH_ROWS) * row_bytes : NULL;
                float *x0 = (xb && j0 == 0) ? xb + i * ldw : NULL;
                logits[cg - 1](pb->pixels, p, b0 + i, b0 + i1, wp + j0 * ldw, zt + j0 * zs + i, zt + j0 * zs + i1, zs,
                               x0, x0 ? xb + i1 * ldw : NULL, ahead);
            }
        }
        for (long i = 0; i < nb; i += 16)
            softmax_rows(zt + i, zs, c, pb->labels + b0 + i, nb - i < 16 ? nb - i : 16, acc, grad != NULL);
        if (!grad) continue;
        for (long j0 = 0; j0 < c; j0 += CLASS_GROUP) {
            const long cg = (c - j0 < CLASS_GROUP) ? c - j0 : CLASS_GROUP;
            if (xb) gradient_fns[cg - 1](xb, ldw, p, nb, zt + j0 * zs, grad + j0 * ldw, ldw);
            else gradient_fns[cg - 1]((const float *)pb->pixels + b0 * p, p, p, nb, zt + j0 * zs, grad + j0 * ldw, ldw);
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
