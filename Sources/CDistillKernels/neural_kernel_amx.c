// The NNGP / NTK fused pass's two products on AMX-INT8 tiles (see neural_kernel_amx.h).

#include "neural_kernel_amx.h"
#include "kernel_support.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AMX __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,amx-tile,amx-int8")))

/// Linux's arch_prctl codes for the tile data's permission (asm/prctl.h, uapi since 5.16).
#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

int distill_amx_usable(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
    if (v >= 0) return v;
    unsigned a, b, c, d;
    v = 0;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (d & (1u << 24)) && (d & (1u << 25))) {
        // The permission is the process's; asking again is harmless, so a race costs nothing.
        unsigned long features = 0;
        if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0
            && syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &features) == 0
            && (features & (1ul << XFEATURE_XTILEDATA)))
            v = 1;
    }
    __atomic_store_n(&cached, v, __ATOMIC_RELEASE);
    return v;
}

/// The tile configuration (palette 1): all eight tiles 16 rows of 64 bytes. The
/// products' results take T = ceil(4 count / 16) tiles (one column or row per digit t and
/// support image j, at t count + j), in two sets (tiles 0..<T and 3..<3+T) when T <= 3,
/// so that one group's results are stored and joined while the next group's products
/// run; tile 6 holds the A operand and tile 7 the B operand.
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

static long chunks_of(long p) { return (p + 63) / 64; }
static long tiles_of(long count) { return (4 * count + 15) / 16; }

size_t distill_amx_scratch_bytes(long p) {
    const long chunks = chunks_of(p);
    return (size_t)(chunks * 4096)                                    // support: chunks x up to 4 tiles
           + (size_t)(16 * 64 * chunks)                               // pad
           + (size_t)(4 * 16 * DISTILL_AMX_BACKWARD_ROWS)             // digits: 3 chunks x up to 4 tiles
           + (size_t)(4 * chunks * (DISTILL_AMX_BACKWARD_ROWS / 4) * 64)   // packed (4 pixel blocks a chunk)
           + (size_t)(2 * 4 * 256 * 4)                                // sums: two sets of up to 4 tiles
           + 5 * 64;                                                  // alignment
}

/// The four balanced base-256 digits of n (|n| < 2^30), 16 lanes: n = d0 + 2^8 d1 + 2^16 d2 + 2^24 d3.
AMX static inline void digits4(__m512i n, __m512i d[4]) {
    const __m512i half = _mm512_set1_epi32(128), low = _mm512_set1_epi32(255);
    for (int t = 0; t < 3; t++) {
        d[t] = _mm512_sub_epi32(_mm512_and_si512(_mm512_add_epi32(n, half), low), half);
        n = _mm512_srai_epi32(_mm512_sub_epi32(n, d[t]), 8);
    }
    d[3] = n;
}

/// The exponent e - 30 for a largest magnitude `top` (finite, >= 0): |v| 2^-(e-30) < 2^30
/// for every |v| <= top; 0 for top = 0.
static int exponent_for(float top) {
    if (!(top > 0)) return 0;
    int e;
    (void)frexpf(top, &e);   // top = f 2^e, 0.5 <= f < 1: top < 2^e
    return e - 30;
}

AMX void distill_amx_begin(distill_amx *amx, const float *s_rows, long ldp, long count, long p, void *scratch) {
    const long chunks = chunks_of(p), T = tiles_of(count);
    char *cursor = (char *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
#define TAKE(type, n) ((type *)(cursor += (((size_t)(n) + 63) & ~(size_t)63), cursor - (((size_t)(n) + 63) & ~(size_t)63)))
    amx->features = p; amx->count = count; amx->chunks = chunks;
    amx->support = TAKE(int8_t, chunks * 4096);
    amx->pad = TAKE(uint8_t, 16 * 64 * chunks);
    amx->digits = TAKE(int8_t, 4 * 16 * DISTILL_AMX_BACKWARD_ROWS);
    amx->packed = TAKE(uint8_t, 4 * chunks * (DISTILL_AMX_BACKWARD_ROWS / 4) * 64);
    amx->sums = TAKE(int32_t, 2 * 4 * 256);
#undef TAKE
    memset(amx->support, 0, (size_t)(chunks * 4096));
    memset(amx->digits, 0, (size_t)(4 * 16 * DISTILL_AMX_BACKWARD_ROWS));   // rows >= 4 count stay zero
    amx->not_finite = 0;
    for (long j = 0; j < 16; j++) amx->exponent[j] = 0;
    // Per support row: its exponent, its integers' digits into the B tiles: chunk c, tile τ,
    // tile row r holds pixels 64c + 4r ..< 64c + 4r + 4 of column ν = t count + j (digit t of
    // support row j) at bytes 4 (ν - 16 τ) ..< 4 (ν - 16 τ) + 4.
    for (long j = 0; j < count; j++) {
        const float *s = s_rows + j * ldp;
        float top = 0;
        int finite = 1;
        for (long k = 0; k < p; k++) {
            const float v = fabsf(s[k]);
            if (!(v <= 3.4028234663852886e38f)) finite = 0;
            else if (v > top) top = v;
        }
        if (!finite) { amx->not_finite |= (uint16_t)(1u << j); continue; }
        const int e = exponent_for(top);
        amx->exponent[j] = e;
        const __m512 power = _mm512_set1_ps((float)-e);
        for (long k0 = 0; k0 < p; k0 += 16) {
            const __mmask16 live = p - k0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (p - k0)) - 1u);
            const __m512i n = _mm512_cvtps_epi32(_mm512_scalef_ps(_mm512_maskz_loadu_ps(live, s + k0), power));
            __m512i d[4];
            digits4(n, d);
            int32_t lanes[4][16];
            for (int t = 0; t < 4; t++) _mm512_storeu_si512(lanes[t], d[t]);
            for (long u = 0; u < 16 && k0 + u < p; u++) {
                const long k = k0 + u, c = k / 64, r = (k % 64) / 4;
                for (long t = 0; t < 4; t++) {
                    const long v = t * count + j, tile = v / 16;
                    amx->support[(c * T + tile) * 1024 + r * 64 + 4 * (v % 16) + k % 4] = (int8_t)lanes[t][u];
                }
            }
        }
    }
    tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) { config.rows[t] = 16; config.colsb[t] = 64; }
    _tile_loadconfig(&config);
}

AMX void distill_amx_end(void) { _tile_release(); }

/// The four digit sums of support row j's columns, at `at`, `at` + stride, + 2 stride,
/// + 3 stride (16 lanes from each: lanes `live`), joined as Double: s0 + 2^8 s1 + 2^16 s2 +
/// 2^24 s3 (every partial sum an integer below 2^53: exact), times 2^scale per lane (exact).
AMX static inline void joined(const int32_t *at, long stride, __mmask16 live, __m512d scale_lo, __m512d scale_hi,
                              __m512d *lo_out, __m512d *hi_out) {
    __m512d v[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
    const __m512d shift = _mm512_set1_pd(256.0);
    for (int t = 3; t >= 0; t--) {
        const __m512i s = _mm512_maskz_loadu_epi32(live, at + t * stride);
        v[0] = _mm512_fmadd_pd(v[0], shift, _mm512_cvtepi32_pd(_mm512_castsi512_si256(s)));
        v[1] = _mm512_fmadd_pd(v[1], shift, _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(s, 1)));
    }
    *lo_out = _mm512_scalef_pd(v[0], scale_lo);
    *hi_out = _mm512_scalef_pd(v[1], scale_hi);
}

/// One group of 16 rows' forward products into result set S (T tiles, 1 <= T <= 4; S = 1 only
/// when T <= 3): zeroed, then per 64-pixel chunk the rows' bytes (A, rows `stride` apart) by
/// each tile's digit columns. A macro: tile numbers are immediates.
#define FORWARD_GROUP(T, S)                                                                                \
    AMX static void forward_group_##T##_##S(const int8_t *support, long chunks, const uint8_t *src, long stride) {                                    \
        enum { first = (S) * 3 };                                                                          \
        _tile_zero(first);                                                                                 \
        if (T > 1) _tile_zero(first + 1);                                                                  \
        if (T > 2) _tile_zero(first + 2);                                                                  \
        if (T > 3) _tile_zero(3);                                                                          \
        for (long c = 0; c < chunks; c++) {                                                                \
            const int8_t *b = support + c * (T) * 1024;                                                    \
            _tile_loadd(6, src + 64 * c, stride);                                                          \
            _tile_loadd(7, b, 64); _tile_dpbusd(first, 6, 7);                                              \
            if (T > 1) { _tile_loadd(7, b + 1024, 64); _tile_dpbusd(first + 1, 6, 7); }                    \
            if (T > 2) { _tile_loadd(7, b + 2048, 64); _tile_dpbusd(first + 2, 6, 7); }                    \
            if (T > 3) { _tile_loadd(7, b + 3072, 64); _tile_dpbusd(3, 6, 7); }                            \
        }                                                                                                  \
    }                                                                                                      \
    AMX static void forward_store_##T##_##S(int32_t *sums) {                                               \
        enum { first = (S) * 3 };                                                                          \
        _tile_stored(first, sums, (T) * 64);                                                               \
        if (T > 1) _tile_stored(first + 1, sums + 16, (T) * 64);                                           \
        if (T > 2) _tile_stored(first + 2, sums + 32, (T) * 64);                                           \
        if (T > 3) _tile_stored(3, sums + 48, (T) * 64);                                                   \
    }
FORWARD_GROUP(1, 0) FORWARD_GROUP(1, 1) FORWARD_GROUP(2, 0) FORWARD_GROUP(2, 1) FORWARD_GROUP(3, 0) FORWARD_GROUP(3, 1)
FORWARD_GROUP(4, 0)

/// The group and store functions by T 2 + set (result set 1 only where T <= 3).
typedef void (*forward_group_fn)(const int8_t *support, long chunks, const uint8_t *src, long stride);
typedef void (*store_fn)(int32_t *sums);
static const forward_group_fn forward_groups[9] = {
    [2] = forward_group_1_0, [3] = forward_group_1_1, [4] = forward_group_2_0, [5] = forward_group_2_1,
    [6] = forward_group_3_0, [7] = forward_group_3_1, [8] = forward_group_4_0};
static const store_fn forward_stores[9] = {
    [2] = forward_store_1_0, [3] = forward_store_1_1, [4] = forward_store_2_0, [5] = forward_store_2_1,
    [6] = forward_store_3_0, [7] = forward_store_3_1, [8] = forward_store_4_0};

/// A's rows r0 ..< r0 + live from a stored group (sums: 16 rows of 16 T int32, column t count + j).
AMX static void forward_join(const distill_amx *amx, const int32_t *sums, long T, long live, float *a, long lda,
                             __m512d scale_lo, __m512d scale_hi) {
    const long m = amx->count;
    const __mmask16 columns = (__mmask16)((1u << m) - 1u);
    const __m512 nan = _mm512_set1_ps(__builtin_nanf(""));
    for (long r = 0; r < live; r++) {
        __m512d lo, hi;
        joined(sums + r * 16 * T, m, columns, scale_lo, scale_hi, &lo, &hi);
        __m512 v = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
        if (amx->not_finite) v = _mm512_mask_mov_ps(v, (__mmask16)amx->not_finite, nan);
        _mm512_storeu_ps(a + r * lda, v);
    }
}

AMX void distill_amx_forward(const distill_amx *amx, const uint8_t *x, long rows, long padded, long readable, float *a,
                             long lda) {
    const long p = amx->features, chunks = amx->chunks, span = 64 * chunks, T = tiles_of(amx->count);
    const int sets = T <= 3 ? 2 : 1;
    int32_t exps[16];
    for (int j = 0; j < 16; j++) exps[j] = amx->exponent[j];
    const __m512d scale_lo = _mm512_cvtepi32_pd(_mm256_loadu_si256((const __m256i *)exps));
    const __m512d scale_hi = _mm512_cvtepi32_pd(_mm256_loadu_si256((const __m256i *)(exps + 8)));
    // Group g's products go into set g % 2 (two sets) and its results are stored and joined
    // after group g + 1's products are issued, so that the two overlap; with one set, at once.
    const long groups = (rows + 15) / 16, lag = sets == 2 ? 1 : 0;
    for (long g = 0; g <= groups; g++) {
        if (g < groups) {
            const long r0 = 16 * g, live = rows - r0 < 16 ? rows - r0 : 16;
            // The tile reads 16 rows of `span` bytes from row r0: past the last readable byte, copy.
            const uint8_t *src = x + r0 * p;
            long stride = p;
            if (live < 16 || (r0 + 15) * p + span > readable * p) {
                memset(amx->pad, 0, (size_t)(16 * span));
                for (long r = 0; r < live; r++) memcpy(amx->pad + r * span, x + (r0 + r) * p, (size_t)p);
                src = amx->pad;
                stride = span;
            }
            forward_groups[T * 2 + g % sets](amx->support, chunks, src, stride);
        }
        const long done = g - lag;
        if (done < 0 || done >= groups) continue;
        int32_t *sums = amx->sums + (done % sets) * 1024;
        forward_stores[T * 2 + done % sets](sums);
        forward_join(amx, sums, T, rows - 16 * done < 16 ? rows - 16 * done : 16, a + 16 * done * lda, lda, scale_lo, scale_hi);
    }
    for (long r = rows; r < padded; r++) _mm512_storeu_ps(a + r * lda, _mm512_setzero_ps());
}

/// Zero bytes for the backward's rows past `rows` (features <= 4096, 64 more for a whole chunk).
static const uint8_t zero_bytes[4096 + 64];

/// One pixel block's backward products into result set S (T tiles): per 64-row chunk h <
/// kchunks the block's packed bytes (B) by each tile's digit rows (A: digits + (h T + τ) 1024).
#define BACKWARD_BLOCK(T, S)                                                                               \
    AMX static void backward_block_##T##_##S(const int8_t *digits, const uint8_t *b, long kchunks) {      \
        enum { first = (S) * 3 };                                                                          \
        _tile_zero(first);                                                                                 \
        if (T > 1) _tile_zero(first + 1);                                                                  \
        if (T > 2) _tile_zero(first + 2);                                                                  \
        if (T > 3) _tile_zero(3);                                                                          \
        for (long h = 0; h < kchunks; h++) {                                                               \
            const int8_t *dg = digits + h * (T) * 1024;                                                    \
            _tile_loadd(7, b + h * 1024, 64);                                                              \
            _tile_loadd(6, dg, 64); _tile_dpbsud(first, 6, 7);                                             \
            if (T > 1) { _tile_loadd(6, dg + 1024, 64); _tile_dpbsud(first + 1, 6, 7); }                   \
            if (T > 2) { _tile_loadd(6, dg + 2048, 64); _tile_dpbsud(first + 2, 6, 7); }                   \
            if (T > 3) { _tile_loadd(6, dg + 3072, 64); _tile_dpbsud(3, 6, 7); }                           \
        }                                                                                                  \
    }                                                                                                      \
    AMX static void backward_store_##T##_##S(int32_t *sums) {                                              \
        enum { first = (S) * 3 };                                                                          \
        _tile_stored(first, sums, 64);                                                                     \
        if (T > 1) _tile_stored(first + 1, sums + 256, 64);                                                \
        if (T > 2) _tile_stored(first + 2, sums + 512, 64);                                                \
        if (T > 3) _tile_stored(3, sums + 768, 64);                                                        \
    }
BACKWARD_BLOCK(1, 0) BACKWARD_BLOCK(1, 1) BACKWARD_BLOCK(2, 0) BACKWARD_BLOCK(2, 1) BACKWARD_BLOCK(3, 0) BACKWARD_BLOCK(3, 1)
BACKWARD_BLOCK(4, 0)

/// The block and store functions by T 2 + set, as forward_groups.
typedef void (*backward_block_fn)(const int8_t *digits, const uint8_t *b, long kchunks);
static const backward_block_fn backward_blocks[9] = {
    [2] = backward_block_1_0, [3] = backward_block_1_1, [4] = backward_block_2_0, [5] = backward_block_2_1,
    [6] = backward_block_3_0, [7] = backward_block_3_1, [8] = backward_block_4_0};
static const store_fn backward_stores[9] = {
    [2] = backward_store_1_0, [3] = backward_store_1_1, [4] = backward_store_2_0, [5] = backward_store_2_1,
    [6] = backward_store_3_0, [7] = backward_store_3_1, [8] = backward_store_4_0};

/// A stored pixel block's sums (rows t count + j, 16 pixels each) joined and added to
/// dot_sum's columns 16 kb ..< 16 kb + 16.
AMX static void backward_join(const int32_t *sums, long m, const int32_t *exps, uint16_t bad, double *dot_sum, long ldp,
                              long kb) {
    for (long j = 0; j < m; j++) {
        __m512d lo, hi;
        const __m512d s = _mm512_set1_pd((double)exps[j]);
        joined(sums + j * 16, m * 16, (__mmask16)0xffff, s, s, &lo, &hi);
        if ((bad >> j) & 1) { lo = _mm512_set1_pd(__builtin_nan("")); hi = lo; }
        double *o = dot_sum + j * ldp + 16 * kb;
        _mm512_storeu_pd(o, _mm512_add_pd(_mm512_loadu_pd(o), lo));
        _mm512_storeu_pd(o + 8, _mm512_add_pd(_mm512_loadu_pd(o + 8), hi));
    }
}

AMX void distill_amx_backward(const distill_amx *amx, const float *d, long lda, const uint8_t *x, long rows, double *dot_sum,
                              long ldp) {
    const long p = amx->features, m = amx->count, chunks = amx->chunks, groups = DISTILL_AMX_BACKWARD_ROWS / 4;
    const long T = tiles_of(m);
    const int sets = T <= 3 ? 2 : 1;
    const __mmask16 columns = (__mmask16)((1u << m) - 1u);
    // D's columns: their largest magnitudes (rows < rows), and which hold an infinite or NaN value.
    __m512 top = _mm512_setzero_ps();
    __mmask16 bad = 0;
    for (long i = 0; i < rows; i++) {
        const __m512 v = _mm512_maskz_loadu_ps(columns, d + i * lda);
        bad |= _mm512_fpclass_ps_mask(v, 0x99);   // QNaN, +inf, -inf, SNaN
        top = _mm512_max_ps(top, _mm512_abs_ps(v));
    }
    float tops[16];
    _mm512_storeu_ps(tops, top);
    int32_t exps[16];
    for (int j = 0; j < 16; j++) exps[j] = (bad >> j) & 1 ? 0 : exponent_for(tops[j]);
    // The A tiles: chunk h of 64 rows, tile τ, row ρ - 16 τ for ρ = t m + j: digit t of the
    // integers of D's column j, byte i - 64 h for row i (rows >= `rows`: 0).
    const __m512i lane = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32((int)lda));
    for (long j = 0; j < m; j++) {
        const __m512 power = _mm512_set1_ps((float)-exps[j]);
        for (long i0 = 0; i0 < DISTILL_AMX_BACKWARD_ROWS; i0 += 16) {
            const __mmask16 live = i0 >= rows || ((bad >> j) & 1) ? 0
                                 : (rows - i0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (rows - i0)) - 1u));
            const __m512 v = live ? _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, lane, d + i0 * lda + j, 4) : _mm512_setzero_ps();
            __m512i digit[4];
            digits4(_mm512_cvtps_epi32(_mm512_scalef_ps(v, power)), digit);
            const long h = i0 / 64;
            for (long t = 0; t < 4; t++) {
                const long row = t * m + j;
                _mm_storeu_si128((__m128i *)(amx->digits + (h * T + row / 16) * 1024 + (row % 16) * 64 + (i0 % 64)),
                                 _mm512_cvtepi32_epi8(digit[t]));
            }
        }
    }
    // The B tiles: X in groups of 4 rows, per pixel block of 16 (4 per chunk): 64 bytes per
    // group, pixel k's 4 rows' bytes at 4k ..< 4k + 4.
    for (long g = 0; g < groups; g++) {
        const uint8_t *r[4];
        for (int t = 0; t < 4; t++) r[t] = 4 * g + t < rows ? x + (4 * g + t) * p : zero_bytes;
        for (long c = 0; c < chunks; c++) {
            const __mmask64 live = p - 64 * c >= 64 ? ~(__mmask64)0 : (((__mmask64)1) << (p - 64 * c)) - 1;
            const __m512i r0 = _mm512_maskz_loadu_epi8(live, r[0] + 64 * c), r1 = _mm512_maskz_loadu_epi8(live, r[1] + 64 * c);
            const __m512i r2 = _mm512_maskz_loadu_epi8(live, r[2] + 64 * c), r3 = _mm512_maskz_loadu_epi8(live, r[3] + 64 * c);
            const __m512i t01l = _mm512_unpacklo_epi8(r0, r1), t01h = _mm512_unpackhi_epi8(r0, r1);
            const __m512i t23l = _mm512_unpacklo_epi8(r2, r3), t23h = _mm512_unpackhi_epi8(r2, r3);
            // u_q's 128-bit lane l: pixels 16 l + 4 q ..< 16 l + 4 q + 4, each with its 4 rows.
            const __m512i u0 = _mm512_unpacklo_epi16(t01l, t23l), u1 = _mm512_unpackhi_epi16(t01l, t23l);
            const __m512i u2 = _mm512_unpacklo_epi16(t01h, t23h), u3 = _mm512_unpackhi_epi16(t01h, t23h);
            const __m512i a01 = _mm512_shuffle_i32x4(u0, u1, 0x44), b01 = _mm512_shuffle_i32x4(u0, u1, 0xEE);
            const __m512i a23 = _mm512_shuffle_i32x4(u2, u3, 0x44), b23 = _mm512_shuffle_i32x4(u2, u3, 0xEE);
            uint8_t *out = amx->packed + (4 * c) * groups * 64 + g * 64;
            _mm512_store_si512(out, _mm512_shuffle_i32x4(a01, a23, 0x88));
            _mm512_store_si512(out + groups * 64, _mm512_shuffle_i32x4(a01, a23, 0xDD));
            _mm512_store_si512(out + 2 * groups * 64, _mm512_shuffle_i32x4(b01, b23, 0x88));
            _mm512_store_si512(out + 3 * groups * 64, _mm512_shuffle_i32x4(b01, b23, 0xDD));
        }
    }
    // As in the forward: block kb's results are stored and joined after block kb + 1's products are issued.
    const long kchunks = (rows + 63) / 64, blocks = ldp / 16, lag = sets == 2 ? 1 : 0;
    for (long kb = 0; kb <= blocks; kb++) {
        if (kb < blocks) backward_blocks[T * 2 + kb % sets](amx->digits, amx->packed + kb * groups * 64, kchunks);
        const long done = kb - lag;
        if (done < 0 || done >= blocks) continue;
        int32_t *sums = amx->sums + (done % sets) * 1024;
        backward_stores[T * 2 + done % sets](sums);
        backward_join(sums, m, exps, bad, dot_sum, ldp, done);
    }
}

#else

int distill_amx_usable(void) { return 0; }
size_t distill_amx_scratch_bytes(long features) { (void)features; return 0; }
void distill_amx_begin(distill_amx *amx, const float *s_rows, long ldp, long count, long features, void *scratch) {
    (void)amx; (void)s_rows; (void)ldp; (void)count; (void)features; (void)scratch;
}
void distill_amx_end(void) {}
void distill_amx_forward(const distill_amx *amx, const uint8_t *x, long rows, long padded, long readable, float *a, long lda) {
    (void)amx; (void)x; (void)rows; (void)padded; (void)readable; (void)a; (void)lda;
}
void distill_amx_backward(const distill_amx *amx, const float *d, long lda, const uint8_t *x, long rows, double *dot_sum,
                          long ldp) {
    (void)amx; (void)d; (void)lda; (void)x; (void)rows; (void)dot_sum; (void)ldp;
}

#endif
