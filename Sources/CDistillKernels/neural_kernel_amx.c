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

/// The tile configuration (palette 1): every tile used is 16 rows of 64 bytes:
/// 0-3 the four digits' sums, 4 and 6 the A operands, 5 and 7 the B operands.
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

static long chunks_of(long p) { return (p + 63) / 64; }

size_t distill_amx_scratch_bytes(long p) {
    const long chunks = chunks_of(p);
    return (size_t)(chunks * 4096)                                    // support
           + (size_t)(16 * 64 * chunks)                               // pad
           + (size_t)(4 * 16 * DISTILL_AMX_BACKWARD_ROWS)             // digits
           + (size_t)(4 * chunks * (DISTILL_AMX_BACKWARD_ROWS / 4) * 64)   // packed (4 pixel blocks a chunk)
           + (size_t)(4 * 256 * 4)                                    // sums
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
    const long chunks = chunks_of(p);
    char *cursor = (char *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
#define TAKE(type, n) ((type *)(cursor += (((size_t)(n) + 63) & ~(size_t)63), cursor - (((size_t)(n) + 63) & ~(size_t)63)))
    amx->features = p; amx->count = count; amx->chunks = chunks;
    amx->support = TAKE(int8_t, chunks * 4096);
    amx->pad = TAKE(uint8_t, 16 * 64 * chunks);
    amx->digits = TAKE(int8_t, 4 * 16 * DISTILL_AMX_BACKWARD_ROWS);
    amx->packed = TAKE(uint8_t, 4 * chunks * (DISTILL_AMX_BACKWARD_ROWS / 4) * 64);
    amx->sums = TAKE(int32_t, 4 * 256);
#undef TAKE
    memset(amx->support, 0, (size_t)(chunks * 4096));
    memset(amx->digits, 0, (size_t)(4 * 16 * DISTILL_AMX_BACKWARD_ROWS));   // rows >= count stay zero
    amx->not_finite = 0;
    for (long j = 0; j < 16; j++) amx->exponent[j] = 0;
    // Per support row: its exponent, its integers' digits into the B tiles: chunk c, digit t,
    // tile row r holds pixels 64c + 4r ..< 64c + 4r + 4 of every support row j at bytes 4j ..< 4j + 4.
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
                for (int t = 0; t < 4; t++) amx->support[c * 4096 + t * 1024 + r * 64 + 4 * j + k % 4] = (int8_t)lanes[t][u];
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

/// The four digit sums of a 16 x 16 tile (amx->sums, digit-major, row-major within) joined
/// into row r's 16 columns as Double, s0 + 2^8 s1 + 2^16 s2 + 2^24 s3 (every partial sum an
/// integer below 2^53: exact), times 2^scale per column (exact).
AMX static inline void joined_row(const int32_t *sums, long r, __m512d scale_lo, __m512d scale_hi, __m512d *lo_out, __m512d *hi_out) {
    __m512d v[2] = {_mm512_setzero_pd(), _mm512_setzero_pd()};
    for (int t = 3; t >= 0; t--) {
        const __m512i s = _mm512_loadu_si512(sums + 256 * t + r * 16);
        const __m512d shift = _mm512_set1_pd(256.0);
        v[0] = _mm512_fmadd_pd(v[0], shift, _mm512_cvtepi32_pd(_mm512_castsi512_si256(s)));
        v[1] = _mm512_fmadd_pd(v[1], shift, _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(s, 1)));
    }
    *lo_out = _mm512_scalef_pd(v[0], scale_lo);
    *hi_out = _mm512_scalef_pd(v[1], scale_hi);
}

AMX void distill_amx_forward(const distill_amx *amx, const uint8_t *x, long rows, long padded, long readable, float *a,
                             long lda) {
    const long p = amx->features, chunks = amx->chunks, span = 64 * chunks;
    int32_t exps[16];
    for (int j = 0; j < 16; j++) exps[j] = amx->exponent[j];
    const __m512d scale_lo = _mm512_cvtepi32_pd(_mm256_loadu_si256((const __m256i *)exps));
    const __m512d scale_hi = _mm512_cvtepi32_pd(_mm256_loadu_si256((const __m256i *)(exps + 8)));
    const __m512 nan = _mm512_set1_ps(__builtin_nanf(""));
    for (long r0 = 0; r0 < rows; r0 += 16) {
        const long live = rows - r0 < 16 ? rows - r0 : 16;
        // The tile reads 16 rows of `span` bytes from row r0: past the last readable byte, copy.
        const uint8_t *src = x + r0 * p;
        long stride = p;
        if (live < 16 || (r0 + 15) * p + span > readable * p) {
            memset(amx->pad, 0, (size_t)(16 * span));
            for (long r = 0; r < live; r++) memcpy(amx->pad + r * span, x + (r0 + r) * p, (size_t)p);
            src = amx->pad;
            stride = span;
        }
        _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
        // The next 16 rows' bytes requested meanwhile, a chunk's lines per chunk (a prefetch never faults).
        const char *next = (const char *)(x + (r0 + 16) * p);
        for (long c = 0; c < chunks; c++) {
            const int8_t *b = amx->support + c * 4096;
            for (long r = 0; r < 16; r++) _mm_prefetch(next + r * p + 64 * c, _MM_HINT_T0);
            if (c % 2 == 0) {
                _tile_loadd(4, src + 64 * c, stride);
                _tile_loadd(5, b, 64); _tile_dpbusd(0, 4, 5);
                _tile_loadd(7, b + 1024, 64); _tile_dpbusd(1, 4, 7);
                _tile_loadd(5, b + 2048, 64); _tile_dpbusd(2, 4, 5);
                _tile_loadd(7, b + 3072, 64); _tile_dpbusd(3, 4, 7);
            } else {
                _tile_loadd(6, src + 64 * c, stride);
                _tile_loadd(5, b, 64); _tile_dpbusd(0, 6, 5);
                _tile_loadd(7, b + 1024, 64); _tile_dpbusd(1, 6, 7);
                _tile_loadd(5, b + 2048, 64); _tile_dpbusd(2, 6, 5);
                _tile_loadd(7, b + 3072, 64); _tile_dpbusd(3, 6, 7);
            }
        }
        _tile_stored(0, amx->sums, 64); _tile_stored(1, amx->sums + 256, 64);
        _tile_stored(2, amx->sums + 512, 64); _tile_stored(3, amx->sums + 768, 64);
        for (long r = 0; r < live; r++) {
            __m512d lo, hi;
            joined_row(amx->sums, r, scale_lo, scale_hi, &lo, &hi);
            __m512 v = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
            if (amx->not_finite) v = _mm512_mask_mov_ps(v, (__mmask16)amx->not_finite, nan);
            _mm512_storeu_ps(a + (r0 + r) * lda, v);
        }
    }
    for (long r = rows; r < padded; r++) _mm512_storeu_ps(a + r * lda, _mm512_setzero_ps());
}

/// Zero bytes for the backward's rows past `rows` (features <= 4096, 64 more for a whole chunk).
static const uint8_t zero_bytes[4096 + 64];

AMX void distill_amx_backward(const distill_amx *amx, const float *d, long lda, const uint8_t *x, long rows, double *dot_sum,
                              long ldp) {
    const long p = amx->features, m = amx->count, chunks = amx->chunks, groups = DISTILL_AMX_BACKWARD_ROWS / 4;
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
    // The A tiles: digit t, row j, byte i: the digit of row i's integer in column j (rows >= rows: 0).
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (long j = 0; j < m; j++) {
        const __m512 power = _mm512_set1_ps((float)-exps[j]);
        for (long i0 = 0; i0 < DISTILL_AMX_BACKWARD_ROWS; i0 += 16) {
            const __mmask16 live = i0 >= rows ? 0 : (rows - i0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (rows - i0)) - 1u));
            __m512 v = _mm512_setzero_ps();
            if (live) v = _mm512_mask_i32gather_ps(v, live, _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)lda)), d + i0 * lda + j, 4);
            if ((bad >> j) & 1) v = _mm512_setzero_ps();
            __m512i digit[4];
            digits4(_mm512_cvtps_epi32(_mm512_scalef_ps(v, power)), digit);
            for (int t = 0; t < 4; t++)
                _mm_storeu_si128((__m128i *)(amx->digits + t * 16 * DISTILL_AMX_BACKWARD_ROWS + j * DISTILL_AMX_BACKWARD_ROWS + i0),
                                 _mm512_cvtepi32_epi8(digit[t]));
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
    const __m512d scale_lo = _mm512_cvtepi32_pd(_mm256_loadu_si256((const __m256i *)exps));
    const __m512d scale_hi = _mm512_cvtepi32_pd(_mm256_loadu_si256((const __m256i *)(exps + 8)));
    const long kchunks = (rows + 63) / 64;
    for (long kb = 0; kb < ldp / 16; kb++) {
        const uint8_t *b = amx->packed + kb * groups * 64;
        _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
        for (long h = 0; h < kchunks; h++) {
            const int8_t *dg = amx->digits + 64 * h;
            _tile_loadd(5, b + h * 1024, 64);
            _tile_loadd(4, dg, DISTILL_AMX_BACKWARD_ROWS); _tile_dpbsud(0, 4, 5);
            _tile_loadd(6, dg + 16 * DISTILL_AMX_BACKWARD_ROWS, DISTILL_AMX_BACKWARD_ROWS); _tile_dpbsud(1, 6, 5);
            _tile_loadd(4, dg + 32 * DISTILL_AMX_BACKWARD_ROWS, DISTILL_AMX_BACKWARD_ROWS); _tile_dpbsud(2, 4, 5);
            _tile_loadd(6, dg + 48 * DISTILL_AMX_BACKWARD_ROWS, DISTILL_AMX_BACKWARD_ROWS); _tile_dpbsud(3, 6, 5);
        }
        _tile_stored(0, amx->sums, 64); _tile_stored(1, amx->sums + 256, 64);
        _tile_stored(2, amx->sums + 512, 64); _tile_stored(3, amx->sums + 768, 64);
        for (long j = 0; j < m; j++) {
            __m512d lo, hi;
            const __m512d s = _mm512_set1_pd((double)exps[j]);
            joined_row(amx->sums, j, s, s, &lo, &hi);
            if ((bad >> j) & 1) { lo = _mm512_set1_pd(__builtin_nan("")); hi = lo; }
            double *o = dot_sum + j * ldp + 16 * kb;
            _mm512_storeu_pd(o, _mm512_add_pd(_mm512_loadu_pd(o), lo));
            _mm512_storeu_pd(o + 8, _mm512_add_pd(_mm512_loadu_pd(o + 8), hi));
        }
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
