// Adam's element-wise update. The AVX-512 version does the same IEEE
// operations in the same order as the scalar one (no contraction into FMA),
// so both give the same bits; it is only faster (eight divisions and square
// roots at a time).

#include "distill_kernels.h"
#include "kernel_support.h"

#include <math.h>

#pragma clang fp contract(off)

static void adam_portable(long count, double *x, const double *g, double *m, double *v,
                          const distill_adam_step *s) {
    for (long i = 0; i < count; i++) {
        m[i] = s->beta1 * m[i] + (1 - s->beta1) * g[i];
        v[i] = s->beta2 * v[i] + (1 - s->beta2) * g[i] * g[i];
        const double mhat = m[i] / s->bias1, vhat = v[i] / s->bias2;
        x[i] -= s->learning_rate * mhat / (sqrt(vhat) + s->epsilon);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

AVX512 static void adam_avx512(long count, double *x, const double *g, double *m, double *v,
                               const distill_adam_step *s) {
    const __m512d b1 = _mm512_set1_pd(s->beta1), c1 = _mm512_set1_pd(1 - s->beta1);
    const __m512d b2 = _mm512_set1_pd(s->beta2), c2 = _mm512_set1_pd(1 - s->beta2);
    const __m512d bias1 = _mm512_set1_pd(s->bias1), bias2 = _mm512_set1_pd(s->bias2);
    const __m512d lr = _mm512_set1_pd(s->learning_rate), eps = _mm512_set1_pd(s->epsilon);
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m512d gi = _mm512_loadu_pd(g + i);
        const __m512d mi = _mm512_add_pd(_mm512_mul_pd(b1, _mm512_loadu_pd(m + i)), _mm512_mul_pd(c1, gi));
        const __m512d vi = _mm512_add_pd(_mm512_mul_pd(b2, _mm512_loadu_pd(v + i)),
                                         _mm512_mul_pd(_mm512_mul_pd(c2, gi), gi));
        _mm512_storeu_pd(m + i, mi);
        _mm512_storeu_pd(v + i, vi);
        const __m512d mhat = _mm512_div_pd(mi, bias1), vhat = _mm512_div_pd(vi, bias2);
        const __m512d step = _mm512_div_pd(_mm512_mul_pd(lr, mhat), _mm512_add_pd(_mm512_sqrt_pd(vhat), eps));
        _mm512_storeu_pd(x + i, _mm512_sub_pd(_mm512_loadu_pd(x + i), step));
    }
    adam_portable(count - i, x + i, g + i, m + i, v + i, s);
}
#endif

void distill_adam_update(int kernel, long count, double *x, const double *gradient,
                         double *first_moment, double *second_moment, const distill_adam_step *step) {
#if defined(__x86_64__)
    if (kernel == DISTILL_KERNEL_AVX512 && distill_outer_has_avx512()) {
        adam_avx512(count, x, gradient, first_moment, second_moment, step);
        return;
    }
#endif
    adam_portable(count, x, gradient, first_moment, second_moment, step);
}
