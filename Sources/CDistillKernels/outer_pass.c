// The fused outer pass: per block of rows, logits -> softmax -> loss, correct
// count -> P - Y -> rank-C update of the gradient, while the block's pixels are
// hot in cache. Two implementations of the same arithmetic:
//  - AVX-512 (compiled for that target only, chosen at run time by CPUID),
//    vectorised over pixels: logits two rows at a time sharing the loads of
//    W^T (packed chunk by chunk of 16 pixels), byte pixels converted to floats
//    once and kept for the gradient (chunk-major, so that a gradient tile reads
//    one contiguous run), the rows ahead prefetched one line per chunk; the
//    softmax 16 rows at a time, one row a lane; the gradient register-blocked
//    over 32 pixels x up to 10 classes;
//  - portable C loops for any x86-64 (or other) CPU.
// Neither reads outside the pixel, label or weight arrays: pixel tails use
// masked loads, and the weights and gradient are padded to `ldw` columns.
//
// Sparse byte images (AVX-512; MNIST: 81% of the bytes zero, 42% of a row's
// 16-pixel chunks all zero): given the image set's chunk masks (bit q of a row's
// mask: chunk q has a nonzero byte; distill_outer_chunk_masks, found once per image
// set: OuterPass does so when it is made), the logits of a pair of rows run over the
// union of their nonzero chunks only (69% of the chunks on MNIST; a pair with at
// least OUTER_SPARSE_BELOW of its chunks nonzero takes the dense loop), and a block
// whose chunks are mostly zero takes the gradient per 32-pixel tile over the rows
// nonzero in it (70% of the rows on MNIST; the tile's row lists are the block's
// masks transposed). The same bits as the dense pass (see "Sparse byte images"
// below; finite weights). Without the masks the pass is dense unless told to skip
// (DISTILL_OUTER_ZEROS_SKIPPED): finding them in each pass costs about what skipping
// saves. Measured (tools/outer-pass-ab.sh, one thread, MNIST): pairing rows over
// their union beat each row over its own chunks (fewer multiply-adds, but a load of
// W^T per FMA) by 14%; 16-pixel gradient tiles over their own rows (no zeros to store)
// were no faster than 32-pixel tiles.

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
    // as floats (DISTILL_BLOCK_ROWS + 1 x ldw: chunk-major with a line of padding per
    // chunk), from a 64-byte boundary (16 floats' slack). Then for sparse byte images
    // two blocks' chunk masks (2 DISTILL_BLOCK_ROWS x words, when found in the pass)
    // and the chunks' row masks (ldw / 16 x DISTILL_BLOCK_ROWS / 64), 64-bit words.
    const long chunks = distill_outer_ldw(features) / 16, words = (chunks + 63) / 64;
    return DISTILL_BLOCK_ROWS * classes_ld(classes) + (classes + DISTILL_BLOCK_ROWS + 1) * distill_outer_ldw(features) + 16
           + 2 * (2 * DISTILL_BLOCK_ROWS * words + chunks * (DISTILL_BLOCK_ROWS / 64));
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

/// Byte rows kept as floats for the gradient (xb), chunk-major: chunk q (16 pixels)
/// of the block's row i at xb + q XCS + 16 i, so that a tile of the gradient reads its
/// rows from one contiguous run of memory (8 KiB a chunk). One line of padding per
/// chunk, so that a row's chunks do not all fall into one set of the L1 cache.
#define XCS (16 * (DISTILL_BLOCK_ROWS + 1))

/// Logits of two rows for `cg` classes over one 16-pixel chunk (s0, s1: the rows' bytes
/// or floats there): wq is the chunk's `cg` vectors of weights, contiguous. The two
/// rows share every load. With x0, the rows' 16 pixels as floats are stored at x0, x1.
AVX512 INLINE void logits_step(const void *s0, const void *s1, int kind, __mmask16 m, const float *wq, int cg,
                               __m512 *a0, __m512 *a1, float *x0, float *x1) {
    const __m512 v0 = load_pixels(s0, kind, 0, m);
    const __m512 v1 = load_pixels(s1, kind, 0, m);
    if (x0) { _mm512_storeu_ps(x0, v0); _mm512_storeu_ps(x1, v1); }
    for (int j = 0; j < cg; j++) {
        const __m512 w = _mm512_loadu_ps(wq + 16 * j);
        a0[j] = _mm512_fmadd_ps(v0, w, a0[j]);
        a1[j] = _mm512_fmadd_ps(v1, w, a1[j]);
    }
}

/// Logits of a pair of sparse rows over the union of their nonzero chunks (1), or each
/// row over its own (0: fewer multiply-adds, but a load of W^T per FMA; measured slower).
#ifndef OUTER_SPARSE_PAIRED
#define OUTER_SPARSE_PAIRED 1
#endif

#if !OUTER_SPARSE_PAIRED
/// The same for one row of bytes.
AVX512 INLINE void logits_step1(const uint8_t *s, __mmask16 m, const float *wq, int cg, __m512 *a, float *x) {
    const __m512 v = load_pixels(s, DISTILL_PIXELS_U8, 0, m);
    if (x) _mm512_storeu_ps(x, v);
    for (int j = 0; j < cg; j++) a[j] = _mm512_fmadd_ps(v, _mm512_loadu_ps(wq + 16 * j), a[j]);
}
#endif

/// The lanes' sums of 4 vectors, by the halvings of sum16_ps_lanes (the same bits
/// as _mm512_reduce_add_ps each): v[u]'s sum in lane 4u.
AVX512 INLINE __m512 sum4_ps_lanes(const __m512 *v) {
    const __m512 c0 = _mm512_add_ps(_mm512_shuffle_f32x4(v[0], v[1], 0x44), _mm512_shuffle_f32x4(v[0], v[1], 0xEE));
    const __m512 c1 = _mm512_add_ps(_mm512_shuffle_f32x4(v[2], v[3], 0x44), _mm512_shuffle_f32x4(v[2], v[3], 0xEE));
    const __m512 e = _mm512_add_ps(_mm512_shuffle_f32x4(c0, c1, 0x88), _mm512_shuffle_f32x4(c0, c1, 0xDD));
    const __m512 g = _mm512_add_ps(_mm512_shuffle_ps(e, e, 0x44), _mm512_shuffle_ps(e, e, 0xEE));
    return _mm512_add_ps(_mm512_shuffle_ps(g, g, 0x88), _mm512_shuffle_ps(g, g, 0xDD));
}

/// The sums of the lanes of the 2 cg accumulators a, through halving trees for 16
/// vectors (lane 4r + t holds vector 4t + r) and then 4 (lane 4u, vector u).
/// Accumulator j < cg is row r0's class j, at z0[j zs]; j >= cg row r1's class
/// j - cg, at z1[(j - cg) zs] = (z1 - cg zs)[j zs].
AVX512 INLINE void store_logits(const __m512 *a, int cg, float *z0, float *z1, long zs) {
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

/// Logits of rows r0 and r1 for a group of `cg` classes, from the group's
/// weights packed chunk by chunk (`wp`: chunk q's vectors at wp + 16 cg q):
/// class j's logits at z0[j zs], z1[j zs]. With x0, x1 (not NULL), the rows'
/// pixels as floats are stored there chunk by chunk (chunk q at x0 + q XCS),
/// zero-padded to whole chunks. With `ahead`, the 2 p pixels from there are
/// prefetched into L1 meanwhile.
AVX512 INLINE void logits_pair(const void *pixels, int kind, long p, long r0, long r1,
                               const float *wp, int cg, float *z0, float *z1, long zs, float *x0, float *x1,
                               const char *ahead) {
    __m512 a[2 * CLASS_GROUP];   // row r0's classes, then row r1's
    for (int j = 0; j < 2 * cg; j++) a[j] = _mm512_setzero_ps();
    const long elt = kind == DISTILL_PIXELS_U8 ? 1 : (long)sizeof(float);
    const char *s0 = (const char *)pixels + elt * r0 * p, *s1 = (const char *)pixels + elt * r1 * p;
    long k = 0;
    for (; k + 16 <= p; k += 16) {
        // Spread over the loop, the prefetches leave fill buffers for the loads.
        if (ahead) {
            _mm_prefetch(ahead + 2 * elt * k, _MM_HINT_T0);
            if (elt > 1) _mm_prefetch(ahead + 2 * elt * k + 64, _MM_HINT_T0);
        }
        logits_step(s0 + elt * k, s1 + elt * k, kind, 0xFFFF, wp + cg * k, cg, a, a + cg,
                    x0 ? x0 + k / 16 * XCS : NULL, x1 ? x1 + k / 16 * XCS : NULL);
    }
    if (k < p)   // the packed weights are zero-padded to a whole chunk
        logits_step(s0 + elt * k, s1 + elt * k, kind, tail_mask(p - k), wp + cg * k, cg, a, a + cg,
                    x0 ? x0 + k / 16 * XCS : NULL, x1 ? x1 + k / 16 * XCS : NULL);
    store_logits(a, cg, z0, z1, zs);
}

// ---------------------------------------------------------------------------
// Sparse byte images. In the AVX-512 kernel every Float32 accumulator lane is a
// chain of FMAs from +0 in a fixed order: the logits' lanes over a row's pixels
// chunk by chunk, the gradient's lanes over its block's rows. A term whose pixel is
// 0 gives fma(0, w, acc) == acc when w is finite (0 x w is ±0, and acc + ±0 == acc:
// acc is never -0, since it starts at +0 and +0 + -0 = +0). So leaving out, for a
// row, a 16-pixel chunk whose bytes are all zero, and in the gradient leaving out a
// row of a pixel tile where that row's pixels are all zero, in the same order
// otherwise, gives the same bits. This holds for finite weights and finite P - Y
// (finite logits): with an infinite or NaN weight the dense sums would have made
// 0 x inf = NaN where the sparse ones skip it.

/// Whether the CPU has BMI2 (CPUID leaf 7, EBX bit 8: pext), asked once.
static int has_bmi2(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        unsigned a, b, c, d;
        v = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 8)) ? 1 : 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

#define AVX512_BMI2 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,bmi,bmi2")))

/// Words of 64 bits of a block row's chunk mask and of a chunk's row mask.
#define ROW_WORDS (DISTILL_BLOCK_ROWS / 64)
_Static_assert(DISTILL_BLOCK_ROWS % 64 == 0, "row masks are whole 64-bit words");

/// The chunk mask of one row of p bytes: bit q of mask[q / 64] set when chunk q
/// (bytes 16q..<min(16q + 16, p)) has a nonzero byte. 256 bytes at a time: a test
/// per 4 bytes (vptestmd), then per chunk the OR of its 4 bits (pext). Returns the
/// number of nonzero chunks. With `ahead`, the p bytes from there are prefetched
/// into L1 meanwhile, one line per 64 bytes read.
AVX512_BMI2 static long chunk_mask(const uint8_t *row, long p, uint64_t *mask, long words, const char *ahead) {
    for (long w = 0; w < words; w++) mask[w] = 0;
    long count = 0;
    for (long k = 0; k < p; k += 256) {
        uint64_t m = 0;
        if (p - k >= 256)
            for (int t = 0; t < 4; t++) {
                if (ahead) _mm_prefetch(ahead + k + 64 * t, _MM_HINT_T0);
                const __m512i v = _mm512_loadu_si512(row + k + 64 * t);
                m |= (uint64_t)_mm512_test_epi32_mask(v, v) << (16 * t);
            }
        else
            for (int t = 0; t < 4 && k + 64 * t < p; t++) {
                if (ahead) _mm_prefetch(ahead + k + 64 * t, _MM_HINT_T0);
                const long live = p - k - 64 * t;
                const __mmask64 lm = live >= 64 ? ~(__mmask64)0 : (((__mmask64)1) << live) - 1;
                const __m512i v = _mm512_maskz_loadu_epi8(lm, row + k + 64 * t);
                m |= (uint64_t)_mm512_test_epi32_mask(v, v) << (16 * t);
            }
        m |= m >> 1;
        m |= m >> 2;
        const uint64_t bits = _pext_u64(m, 0x1111111111111111ull);   // chunk k/16 + u in bit u
        mask[k / 1024] |= bits << (k / 16 % 64);
        count += __builtin_popcountll(bits);
    }
    return count;
}

/// The bit matrix of the block rows' chunk masks transposed: bit i of
/// cmask[q ROW_WORDS + i / 64] is bit q of row i's mask (rmask + i words) for rows
/// i < nb (0 for the others), chunks q < nq. 8 rows' masks a vector, tested against
/// bit q (vptestmq).
AVX512 static void row_masks(const uint64_t *rmask, long nb, long words, long nq, uint64_t *cmask) {
    const __m512i index = _mm512_mullo_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), _mm512_set1_epi64(words));
    for (long w = 0; w < words; w++)
        for (long r = 0; r < ROW_WORDS; r++) {
            __m512i v[8];   // word w of rows 64 r + 8 t ..< 64 r + 8 t + 8
            for (int t = 0; t < 8; t++) {
                const long i0 = 64 * r + 8 * t;
                const __mmask8 live = nb - i0 >= 8 ? 0xFF : nb > i0 ? (__mmask8)((1u << (nb - i0)) - 1) : 0;
                v[t] = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), live, index, rmask + i0 * words + w, 8);
            }
            const long q1 = nq - 64 * w < 64 ? nq - 64 * w : 64;
            for (long b = 0; b < q1; b++) {
                const __m512i bit = _mm512_set1_epi64((long long)((uint64_t)1 << b));
                uint64_t m = 0;
                for (int t = 0; t < 8; t++) m |= (uint64_t)_mm512_test_epi64_mask(v[t], bit) << (8 * t);
                cmask[(64 * w + b) * ROW_WORDS + r] = m;
            }
        }
}

/// Which skipped chunks the sparse logits store zeros for: none, those a sparse gradient
/// in 32-pixel tiles reads, all (a dense gradient reads every chunk).
#define ZFILL_NONE 0
#define ZFILL_TILES 1
#define ZFILL_ALL 2

/// Logits of rows r0 and r1 (bytes) as logits_pair computes them, over their nonzero
/// chunks only (chunk masks m0, m1 of `words` words); the same bits (see above). With
/// x0, x1, the chunks done are stored as floats, and zeros for those skipped that `zfill` says.
AVX512 INLINE void logits_pair_sparse(const uint8_t *pixels, long p, long r0, long r1, const uint64_t *m0,
                                      const uint64_t *m1, long words, const float *wp, int cg,
                                      float *z0, float *z1, long zs, float *x0, float *x1, int zfill,
                                      const char *ahead) {
    long pf = ahead ? 0 : 2 * p;   // bytes from `ahead` prefetched: one line per chunk done, the rest after
    __m512 a[2 * CLASS_GROUP];   // row r0's classes, then row r1's
    for (int j = 0; j < 2 * cg; j++) a[j] = _mm512_setzero_ps();
    const uint8_t *s0 = pixels + r0 * p, *s1 = pixels + r1 * p;
    const long full = p / 16, nq = (p + 15) / 16;   // chunk `full`, when p % 16, is partial
#if OUTER_SPARSE_PAIRED
    // The two rows over the union of their nonzero chunks, sharing the weights' loads.
    // With zfill, the skipped chunks the gradient reads get zeros in x0, x1: all of them
    // (ZFILL_ALL, for a dense gradient), or those whose partner in a 32-pixel tile (chunk
    // q xor 1) is nonzero in either row (ZFILL_TILES, for the sparse one). One of them
    // per chunk done (a loop of stores alone would wait for the store buffer), the rest after.
    for (long w = 0; w < words; w++) {
        uint64_t u = m0[w] | m1[w];
        const uint64_t odd = 0x5555555555555555ull;
        uint64_t z = ~u & (zfill == ZFILL_ALL ? ~(uint64_t)0 : ((u >> 1) & odd) | ((u & odd) << 1));
        if (w == full / 64) u &= ((uint64_t)1 << (full % 64)) - 1;   // whole chunks only
        if (w == (nq - 1) / 64) z &= ~(uint64_t)0 >> (63 - (nq - 1) % 64);   // chunks < nq
        if (!x0 || !zfill) z = 0;
        while (u) {
            const long q = 64 * w + __builtin_ctzll(u);
            u &= u - 1;
            if (pf < 2 * p) { _mm_prefetch(ahead + pf, _MM_HINT_T0); pf += 64; }
            if (z) {
                const long qz = 64 * w + __builtin_ctzll(z);
                z &= z - 1;
                _mm512_storeu_ps(x0 + qz * XCS, _mm512_setzero_ps());
                _mm512_storeu_ps(x1 + qz * XCS, _mm512_setzero_ps());
            }
            logits_step(s0 + 16 * q, s1 + 16 * q, DISTILL_PIXELS_U8, 0xFFFF, wp + 16 * cg * q, cg, a, a + cg,
                        x0 ? x0 + q * XCS : NULL, x1 ? x1 + q * XCS : NULL);
        }
        for (; z; z &= z - 1) {
            const long qz = 64 * w + __builtin_ctzll(z);
            _mm512_storeu_ps(x0 + qz * XCS, _mm512_setzero_ps());
            _mm512_storeu_ps(x1 + qz * XCS, _mm512_setzero_ps());
        }
    }
    if (full < nq && (((m0[full / 64] | m1[full / 64]) >> (full % 64)) & 1))   // last, as in the dense order
        logits_step(s0 + 16 * full, s1 + 16 * full, DISTILL_PIXELS_U8, tail_mask(p - 16 * full), wp + 16 * cg * full,
                    cg, a, a + cg, x0 ? x0 + full * XCS : NULL, x1 ? x1 + full * XCS : NULL);
    for (; pf < 2 * p; pf += 64) _mm_prefetch(ahead + pf, _MM_HINT_T0);
#else
    // Each row over its own nonzero chunks.
    for (int r = 0; r < 2; r++) {
        const uint8_t *s = r ? s1 : s0;
        const uint64_t *mr = r ? m1 : m0;
        float *x = r ? x1 : x0;
        for (long w = 0; w < words; w++) {
            uint64_t u = mr[w];
            if (w == full / 64) u &= ((uint64_t)1 << (full % 64)) - 1;
            while (u) {
                const long q = 64 * w + __builtin_ctzll(u);
                u &= u - 1;
                if (pf < 2 * p) { _mm_prefetch(ahead + pf, _MM_HINT_T0); pf += 64; }
                logits_step1(s + 16 * q, 0xFFFF, wp + 16 * cg * q, cg, a + r * cg, x ? x + q * XCS : NULL);
            }
        }
        if (full < nq && ((mr[full / 64] >> (full % 64)) & 1))
            logits_step1(s + 16 * full, tail_mask(p - 16 * full), wp + 16 * cg * full, cg, a + r * cg,
                         x ? x + full * XCS : NULL);
        if (x && zfill)
            for (long w = 0; w < words; w++) {
                const uint64_t odd = 0x5555555555555555ull;   // zeros where the tile's other chunk is nonzero
                uint64_t u = ~mr[w] & (zfill == ZFILL_ALL ? ~(uint64_t)0 : ((mr[w] >> 1) & odd) | ((mr[w] & odd) << 1));
                if (w == (nq - 1) / 64) u &= ~(uint64_t)0 >> (63 - (nq - 1) % 64);
                while (u) {
                    const long q = 64 * w + __builtin_ctzll(u);
                    u &= u - 1;
                    _mm512_storeu_ps(x + q * XCS, _mm512_setzero_ps());
                }
            }
    }
    for (; pf < 2 * p; pf += 64) _mm_prefetch(ahead + pf, _MM_HINT_T0);
#endif
    store_logits(a, cg, z0, z1, zs);
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
    }                                                                                             \
    AVX512 static void logits_sparse_##CG(const uint8_t *x, long p, long r0, long r1, const uint64_t *m0, \
                                          const uint64_t *m1, long words, const float *wp, float *z0, \
                                          float *z1, long zs, float *x0, float *x1, int zfill,      \
                                          const char *ahead) {                                      \
        logits_pair_sparse(x, p, r0, r1, m0, m1, words, wp, CG, z0, z1, zs, x0, x1, zfill, ahead);  \
    }
CG_CASES(LOGITS_FN)

typedef void (*logits_fn)(const void *, long, long, long, const float *, float *, float *, long, float *, float *,
                          const char *);
typedef void (*logits_sparse_fn)(const uint8_t *, long, long, long, const uint64_t *, const uint64_t *, long,
                                 const float *, float *, float *, long, float *, float *, int, const char *);
#define LOGITS_U8_ENTRY(CG) logits_pair_u8_##CG,
#define LOGITS_F32_ENTRY(CG) logits_pair_f32_##CG,
#define LOGITS_SPARSE_ENTRY(CG) logits_sparse_##CG,
static const logits_fn logits_u8[CLASS_GROUP] = {CG_CASES(LOGITS_U8_ENTRY)};
static const logits_fn logits_f32[CLASS_GROUP] = {CG_CASES(LOGITS_F32_ENTRY)};
static const logits_sparse_fn logits_sparse[CLASS_GROUP] = {CG_CASES(LOGITS_SPARSE_ENTRY)};

/// Adds the 16 floats of `a` to the 16 doubles at g.
AVX512 INLINE void add_to_doubles(double *g, __m512 a) {
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    _mm512_storeu_pd(g, _mm512_add_pd(_mm512_loadu_pd(g), lo));
    _mm512_storeu_pd(g + 8, _mm512_add_pd(_mm512_loadu_pd(g + 8), hi));
}

/// Gradient of one block for pixels k..<k+16*nv (lanes outside m0, m1 are
/// zero) and `cg` classes: sum_i x_i[k..] * d_i[j] (chunk k/16 of row i at
/// x + i rs + (k/16) cs, Float32; d_i[j] at d[j DISTILL_BLOCK_ROWS + i]) in Float32
/// registers, then added to the Double gradient (g offset to the class group, row
/// stride ldw). With `rows` (ROW_WORDS words), only the rows whose bits are set, in
/// order (the rows left out must have zero pixels in the tile: the same bits).
AVX512 INLINE void gradient_tile(const float *x, long rs, long cs, long nb, const uint64_t *rows, const float *d,
                                 int cg, int nv, long k, __mmask16 m0, __mmask16 m1, double *g, long ldw) {
    __m512 a0[CLASS_GROUP], a1[CLASS_GROUP];
    for (int j = 0; j < cg; j++) { a0[j] = _mm512_setzero_ps(); a1[j] = _mm512_setzero_ps(); }
    const float *xk = x + k / 16 * cs;
#define GRADIENT_ROW(i)                                                                        \
    do {                                                                                       \
        const float *xi = xk + (i) * rs;                                                       \
        const __m512 v0 = _mm512_maskz_loadu_ps(m0, xi);                                       \
        const __m512 v1 = nv == 2 ? _mm512_maskz_loadu_ps(m1, xi + cs) : _mm512_setzero_ps();  \
        for (int j = 0; j < cg; j++) {                                                         \
            const __m512 b = _mm512_set1_ps(d[j * DISTILL_BLOCK_ROWS + (i)]);                  \
            a0[j] = _mm512_fmadd_ps(v0, b, a0[j]);                                             \
            if (nv == 2) a1[j] = _mm512_fmadd_ps(v1, b, a1[j]);                                \
        }                                                                                      \
    } while (0)
    if (rows)
        for (long w = 0; w < ROW_WORDS; w++)
            for (uint64_t u = rows[w]; u; u &= u - 1) GRADIENT_ROW(64 * w + __builtin_ctzll(u));
    else
        for (long i = 0; i < nb; i++) GRADIENT_ROW(i);
#undef GRADIENT_ROW
    for (int j = 0; j < cg; j++) {
        add_to_doubles(g + j * ldw + k, a0[j]);
        if (nv == 2) add_to_doubles(g + j * ldw + k + 16, a1[j]);
    }
}

/// The gradient of one block over its p pixels, in tiles of 32 (then 16) pixels.
/// With `cmask` (chunk q's rows at cmask + q ROW_WORDS), each tile runs over the rows
/// nonzero in one of its chunks (the other's pixels there are stored zeros).
#ifndef OUTER_GRADIENT_TILE
#define OUTER_GRADIENT_TILE 32
#endif
#define GRADIENT_FN(CG)                                                                           \
    AVX512 static void gradient_##CG(const float *x, long rs, long cs, long p, long nb,            \
                                     const uint64_t *cmask, const float *d, double *g, long ldw) { \
        uint64_t rows[ROW_WORDS];                                                                 \
        const uint64_t *r = NULL;                                                                 \
        long k = 0;                                                                               \
        if (cmask && OUTER_GRADIENT_TILE == 16) {                                                 \
            for (; k < p; k += 16)                                                                \
                gradient_tile(x, rs, cs, nb, cmask + k / 16 * ROW_WORDS, d, CG, 1, k, tail_mask(p - k), 0, g, ldw); \
            return;                                                                               \
        }                                                                                         \
        for (; k + 32 <= p; k += 32) {                                                            \
            if (cmask) {                                                                          \
                for (int w = 0; w < ROW_WORDS; w++)                                               \
                    rows[w] = cmask[k / 16 * ROW_WORDS + w] | cmask[(k / 16 + 1) * ROW_WORDS + w];  \
                r = rows;                                                                         \
            }                                                                                     \
            gradient_tile(x, rs, cs, nb, r, d, CG, 2, k, 0xFFFF, 0xFFFF, g, ldw);                 \
        }                                                                                         \
        if (cmask && p > k) {                                                                     \
            for (int w = 0; w < ROW_WORDS; w++)                                                   \
                rows[w] = cmask[k / 16 * ROW_WORDS + w] | (p - k > 16 ? cmask[(k / 16 + 1) * ROW_WORDS + w] : 0); \
            r = rows;                                                                             \
        }                                                                                         \
        if (p - k > 16)                                                                           \
            gradient_tile(x, rs, cs, nb, r, d, CG, 2, k, 0xFFFF, tail_mask(p - k - 16), g, ldw);  \
        else if (p > k)                                                                           \
            gradient_tile(x, rs, cs, nb, r, d, CG, 1, k, tail_mask(p - k), 0, g, ldw);            \
    }
CG_CASES(GRADIENT_FN)

typedef void (*gradient_fn)(const float *, long, long, long, long, const uint64_t *, const float *, double *, long);
#define GRADIENT_ENTRY(CG) gradient_##CG,
static const gradient_fn gradient_fns[CLASS_GROUP] = {CG_CASES(GRADIENT_ENTRY)};

/// The multiply-adds of one block's gradient for one class (pixels < p): with `cmask`,
/// the rows each tile of GRADIENT_FN runs over times the tile's pixels, else nb x p.
static double gradient_multiply_adds(long p, long nb, const uint64_t *cmask) {
    if (!cmask) return (double)nb * (double)p;
    const long tile = OUTER_GRADIENT_TILE == 16 ? 16 : 32;
    double macs = 0;
    for (long k = 0; k < p; k += tile) {
        long rows = 0;
        for (int w = 0; w < ROW_WORDS; w++)
            rows += __builtin_popcountll(cmask[k / 16 * ROW_WORDS + w]
                                         | (tile == 32 && p - k > 16 ? cmask[(k / 16 + 1) * ROW_WORDS + w] : 0));
        macs += (double)rows * (double)(p - k < tile ? p - k : tile);
    }
    return macs;
}

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

/// The pixels logits_pair_sparse runs over for rows with chunk masks m0, m1 (pixels
/// < p; `two`: two distinct rows, else one row given twice, counted once): paired, the
/// union of their nonzero chunks for each row; else each row's own.
static double sparse_logit_pixels(long p, const uint64_t *m0, const uint64_t *m1, long words, int two) {
    const long full = p / 16, tail = p - 16 * full;   // chunk `full`, when tail > 0, holds `tail` pixels
    double pixels = 0;
    for (int r = 0; r < (two ? 2 : 1); r++) {
        long chunks = 0;
        for (long w = 0; w < words; w++)
            chunks += __builtin_popcountll(OUTER_SPARSE_PAIRED ? m0[w] | m1[w] : (r ? m1[w] : m0[w]));
        const uint64_t last = OUTER_SPARSE_PAIRED ? m0[full / 64] | m1[full / 64] : (r ? m1 : m0)[full / 64];
        const int has_tail = tail > 0 && ((last >> (full % 64)) & 1);
        pixels += 16.0 * (double)chunks - (has_tail ? (double)(16 - tail) : 0.0);
    }
    return pixels;
}

/// Rows between a pair of rows and the pair whose pixels are prefetched meanwhile.
#ifndef PREFETCH_ROWS
#define PREFETCH_ROWS 8
#endif

/// Byte images whose blocks have fewer nonzero 16-pixel chunks than this fraction
/// take the sparse path (DISTILL_OUTER_ZEROS_AUTO).
#ifndef OUTER_SPARSE_BELOW
#define OUTER_SPARSE_BELOW 0.8
#endif

/// With `macs`, adds the multiply-adds of the logits and the gradient done (pixels < p,
/// each row once), counted from the chunk masks the pass runs over.
AVX512 static void rows_avx512(const distill_outer_problem *pb, int zeros, const uint64_t *masks, long begin, long end, float *scratch,
                               loss_acc *acc, double *grad, double *macs) {
    const long p = pb->features, c = pb->classes, ldw = pb->ldw, zs = DISTILL_BLOCK_ROWS;
    const int u8 = pb->pixel_kind == DISTILL_PIXELS_U8;
    const logits_fn *logits = u8 ? logits_u8 : logits_f32;
    const long row_bytes = p * (u8 ? 1 : (long)sizeof(float));
    const long nq = ldw / 16, words = (nq + 63) / 64;
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
    // Byte pixels: the block's rows as floats (chunk-major, XCS), stored while the
    // first class group's logits convert them, read by the gradient.
    float *xb = (u8 && grad) ? wp + c * ldw : NULL;
    // Sparse byte images: each block row's chunk mask (bm + i words: from `masks`, or
    // found here, this block's at rmask and the next's at rnext), then each chunk's
    // row mask (cmask + q ROW_WORDS). 64-byte aligned, like wp. Without `masks`, the
    // next block's masks are found while this block's logits keep the FMA units busy,
    // prefetching the rows PREFETCH_ROWS further ahead: a separate sweep of the bytes
    // would wait for them.
    uint64_t *rmask = (uint64_t *)(wp + (c + DISTILL_BLOCK_ROWS + 1) * ldw), *rnext = rmask + DISTILL_BLOCK_ROWS * words;
    uint64_t *cmask = rnext + DISTILL_BLOCK_ROWS * words;
    // Without `masks`, finding them costs more than skipping saves (MNIST): only when told to.
    const int may_skip = u8 && has_bmi2() && (zeros == DISTILL_OUTER_ZEROS_SKIPPED || (zeros == DISTILL_OUTER_ZEROS_AUTO && masks));
    const int find = may_skip && !masks;   // masks found here
    long nonzero = 0;   // the block's nonzero chunks, when found here
#define MASK_ROW(b, r, m)                                                                                   \
        chunk_mask((const uint8_t *)pb->pixels + ((b) + (r)) * p, p, (m) + (r) * words, words,                \
                   (b) + (r) + PREFETCH_ROWS < end ? (const char *)pb->pixels + ((b) + (r) + PREFETCH_ROWS) * p : NULL)
    if (find)
        for (long r = 0; r < DISTILL_BLOCK_ROWS && begin + r < end; r++) nonzero += MASK_ROW(begin, r, rmask);
    for (long b0 = begin; b0 < end; b0 += DISTILL_BLOCK_ROWS) {
        const long nb = (end - b0 < DISTILL_BLOCK_ROWS) ? end - b0 : DISTILL_BLOCK_ROWS;
        const long b1 = b0 + nb, nb1 = (end - b1 < DISTILL_BLOCK_ROWS) ? end - b1 : DISTILL_BLOCK_ROWS;   // the next block
        const uint64_t *bm = masks ? masks + b0 * words : rmask;
        if (may_skip && masks) {
            nonzero = 0;
            for (long k = 0; k < nb * words; k++) nonzero += __builtin_popcountll(bm[k]);
        }
        long nonzero1 = 0;
        // The block's gradient over each tile's nonzero rows, or dense.
        const int sparse = may_skip && (zeros == DISTILL_OUTER_ZEROS_SKIPPED || nonzero < OUTER_SPARSE_BELOW * nb * nq);
        // Which skipped chunks the sparse logits store zeros for: the dense gradient reads them
        // all, the sparse one in tiles of 32 pixels those of the rows nonzero in the other chunk.
        const int zfill = !sparse ? ZFILL_ALL : OUTER_GRADIENT_TILE == 32 ? ZFILL_TILES : ZFILL_NONE;
        for (long j0 = 0; j0 < c; j0 += CLASS_GROUP) {
            const long cg = (c - j0 < CLASS_GROUP) ? c - j0 : CLASS_GROUP;
            for (long i = 0; i < nb; i += 2) {
                const long i1 = (i + 1 < nb) ? i + 1 : i;   // odd tail: the last row twice
                float *x0 = (xb && j0 == 0) ? xb + 16 * i : NULL, *x1 = x0 ? xb + 16 * i1 : NULL;
                // The rows PREFETCH_ROWS ahead (also past the block) into L1, while the first
                // class group converts: the stream of pixels otherwise stalls the conversions.
                const char *ahead = (j0 == 0 && !find && b0 + i + PREFETCH_ROWS + 1 < end)
                                        ? (const char *)pb->pixels + (b0 + i + PREFETCH_ROWS) * row_bytes : NULL;
                if (may_skip) {
                    if (find && j0 == 0)   // the next block's rows i, i + 1 (nb1 <= nb: only the last block is short)
                        for (long r = i; r < i + 2 && r < nb1; r++) nonzero1 += MASK_ROW(b1, r, rnext);
                    // Per pair, the sparse logits when the rows' nonzero chunks are few enough
                    // (both ways give the same bits).
                    const uint64_t *m0 = bm + i * words, *m1 = bm + i1 * words;
                    long both = 0;
                    for (long w = 0; w < words; w++) both += __builtin_popcountll(m0[w] | m1[w]);
                    if (zeros == DISTILL_OUTER_ZEROS_SKIPPED || both < OUTER_SPARSE_BELOW * nq) {
                        if (macs) *macs += (double)cg * sparse_logit_pixels(p, m0, m1, words, i1 != i);
                        logits_sparse[cg - 1](pb->pixels, p, b0 + i, b0 + i1, m0, m1, words, wp + j0 * ldw,
                                              zt + j0 * zs + i, zt + j0 * zs + i1, zs, x0, x1, zfill, ahead);
                        continue;
                    }
                }
                if (macs) *macs += (double)cg * (double)p * (i1 != i ? 2 : 1);
                logits[cg - 1](pb->pixels, p, b0 + i, b0 + i1, wp + j0 * ldw, zt + j0 * zs + i, zt + j0 * zs + i1, zs,
                               x0, x1, ahead);
            }
        }
        for (long i = 0; i < nb; i += 16)
            softmax_rows(zt + i, zs, c, pb->labels + b0 + i, nb - i < 16 ? nb - i : 16, acc, grad != NULL);
        if (sparse && grad) row_masks(bm, nb, words, nq, cmask);
        if (find) { uint64_t *t = rmask; rmask = rnext; rnext = t; nonzero = nonzero1; }
        if (!grad) continue;
        if (macs) *macs += (double)c * gradient_multiply_adds(p, nb, sparse ? cmask : NULL);
        for (long j0 = 0; j0 < c; j0 += CLASS_GROUP) {
            const long cg = (c - j0 < CLASS_GROUP) ? c - j0 : CLASS_GROUP;
            if (xb) gradient_fns[cg - 1](xb, 16, XCS, p, nb, sparse ? cmask : NULL, zt + j0 * zs, grad + j0 * ldw, ldw);
            else gradient_fns[cg - 1]((const float *)pb->pixels + b0 * p, p, 16, p, nb, NULL, zt + j0 * zs, grad + j0 * ldw, ldw);
        }
    }
#undef MASK_ROW
}
#else
int distill_outer_has_avx512(void) { return 0; }
#endif

// ---------------------------------------------------------------------------

long distill_outer_mask_words(long features) { return (distill_outer_ldw(features) / 16 + 63) / 64; }

void distill_outer_chunk_masks(const distill_outer_problem *pb, long begin, long end, uint64_t *masks) {
    const long p = pb->features, nq = distill_outer_ldw(p) / 16, words = distill_outer_mask_words(p);
    for (long r = begin; r < end; r++) {
        uint64_t *m = masks + r * words;
        if (pb->pixel_kind != DISTILL_PIXELS_U8) {   // every chunk
            for (long q = 0; q < nq; q += 64) m[q / 64] = nq - q >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << (nq - q)) - 1;
            continue;
        }
        const uint8_t *row = (const uint8_t *)pb->pixels + r * p;
#if defined(__x86_64__)
        if (distill_outer_has_avx512() && has_bmi2()) {
            chunk_mask(row, p, m, words, NULL);
            continue;
        }
#endif
        for (long w = 0; w < words; w++) m[w] = 0;
        for (long k = 0; k < p; k++)
            if (row[k]) m[k / 1024] |= (uint64_t)1 << (k / 16 % 64);
    }
}

void distill_outer_rows_counted(const distill_outer_problem *pb, int kernel, int zeros, const uint64_t *masks,
                                long begin, long end, float *scratch, double *loss_sum, long *correct,
                                double *gradient_t, double *multiply_adds) {
    loss_acc acc = {0.0, 1.0, 0};
#if defined(__x86_64__)
    if (kernel == DISTILL_KERNEL_AVX512 && distill_outer_has_avx512())
        rows_avx512(pb, zeros, masks, begin, end, scratch, &acc, gradient_t, multiply_adds);
    else
#endif
    {
        rows_portable(pb, begin, end, scratch, &acc, gradient_t);
        if (multiply_adds && end > begin)
            *multiply_adds += (double)(end - begin) * (double)pb->features * (double)pb->classes * (gradient_t ? 2.0 : 1.0);
    }
    *loss_sum += acc.loss + log(acc.product);
    *correct += acc.correct;
}

void distill_outer_rows_with(const distill_outer_problem *pb, int kernel, int zeros, const uint64_t *masks,
                             long begin, long end, float *scratch, double *loss_sum, long *correct,
                             double *gradient_t) {
    distill_outer_rows_counted(pb, kernel, zeros, masks, begin, end, scratch, loss_sum, correct, gradient_t, NULL);
}

void distill_outer_rows(const distill_outer_problem *pb, int kernel, long begin, long end, float *scratch,
                        double *loss_sum, long *correct, double *gradient_t) {
    distill_outer_rows_with(pb, kernel, DISTILL_OUTER_ZEROS_AUTO, NULL, begin, end, scratch, loss_sum, correct, gradient_t);
}
