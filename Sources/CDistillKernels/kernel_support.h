// Compilation helpers shared by the kernels (private to CDistillKernels).
#ifndef DISTILL_KERNEL_SUPPORT_H
#define DISTILL_KERNEL_SUPPORT_H

// Portable loops are also compiled for x86-64-v3 (AVX2, FMA), chosen at load time.
#if defined(__x86_64__) && defined(__linux__)
#define DISPATCH_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DISPATCH_CLONES
#endif

#if defined(__x86_64__)
// AVX-512 code paths: compiled for that target only, run when
// distill_outer_has_avx512() says the CPU and OS support it.
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#endif

#define INLINE static inline __attribute__((always_inline))

#if defined(__x86_64__)
#include <immintrin.h>

/// The 16 horizontal sums of v[0..15] as one vector (lane j: the sum of v[j]'s lanes),
/// each by halvings (lanes i and i+8, then i and i+4, i+2, i+1): the pairing of
/// _mm512_reduce_add_ps, so each sum has the same bits as that, at a third of the
/// shuffles for 16 vectors. `sum16_ps_lanes` leaves out the final reordering: there
/// lane 4r + t holds v[4t + r]'s sum.
AVX512 INLINE __m512 sum16_ps_lanes(const __m512 *v) {
    __m512 c[8], e[4], g[2];
    for (int t = 0; t < 8; t++)   // lanes 0-7: v[2t]'s halves added, 8-15: v[2t+1]'s
        c[t] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * t], v[2 * t + 1], 0x44), _mm512_shuffle_f32x4(v[2 * t], v[2 * t + 1], 0xEE));
    for (int t = 0; t < 4; t++)   // quarter u: v[4t+u]'s 4 partial sums
        e[t] = _mm512_add_ps(_mm512_shuffle_f32x4(c[2 * t], c[2 * t + 1], 0x88), _mm512_shuffle_f32x4(c[2 * t], c[2 * t + 1], 0xDD));
    for (int t = 0; t < 2; t++)
        g[t] = _mm512_add_ps(_mm512_shuffle_ps(e[2 * t], e[2 * t + 1], 0x44), _mm512_shuffle_ps(e[2 * t], e[2 * t + 1], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_ps(g[0], g[1], 0x88), _mm512_shuffle_ps(g[0], g[1], 0xDD));
}

AVX512 INLINE __m512 sum16_ps(const __m512 *v) {
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), sum16_ps_lanes(v));
}
#endif

#endif
