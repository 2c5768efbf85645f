/* Chooses the networks' product by measurement: oneDNN's dnnl_sgemm against a
 * simple own single-precision GEMM (the i-k-j loop a compiler vectorises), on
 * the products of one ConvNet-3 training step on MNIST (per image: conv2
 * 128 x 256 x 1152; a 100-image batch: 128 x 25600 x 1152; conv1: 128 x 1024 x 9).
 * Built and run by tools/network-gemm-bench.sh; prints GFLOP/s. */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

/* c[m x n] = a[m x k] b[k x n], row-major. */
static void own_gemm(long m, long n, long k, const float *a, const float *b, float *c) {
    for (long i = 0; i < m; i++) {
        float *ci = c + i * n;
        for (long j = 0; j < n; j++) ci[j] = 0;
        for (long p = 0; p < k; p++) {
            float aip = a[i * k + p];
            const float *bp = b + p * n;
            for (long j = 0; j < n; j++) ci[j] += aip * bp[j];
        }
    }
}

static int compare(const void *x, const void *y) { double a = *(const double *)x, b = *(const double *)y; return (a > b) - (a < b); }

int main(void) {
    const long shapes[][3] = {{128, 256, 1152}, {128, 25600, 1152}, {128, 1024, 9}};
    for (int s = 0; s < 3; s++) {
        long m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c = malloc(sizeof(float) * m * n);
        for (long i = 0; i < m * k; i++) a[i] = (float)rand() / RAND_MAX;
        for (long i = 0; i < k * n; i++) b[i] = (float)rand() / RAND_MAX;
        double flops = 2.0 * m * n * k, t_dnnl[9], t_own[9];
        for (int r = 0; r < 9; r++) {
            double t0 = now();
            dnnl_sgemm('N', 'N', m, n, k, 1, a, k, b, n, 0, c, n);
            t_dnnl[r] = now() - t0;
            t0 = now();
            own_gemm(m, n, k, a, b, c);
            t_own[r] = now() - t0;
        }
        qsort(t_dnnl, 9, sizeof(double), compare);
        qsort(t_own, 9, sizeof(double), compare);
        printf("%ld x %ld x %ld: dnnl_sgemm %.1f GFLOP/s, own %.1f GFLOP/s (medians of 9), ratio %.1f\n",
               m, n, k, flops / t_dnnl[4] * 1e-9, flops / t_own[4] * 1e-9, t_own[4] / t_dnnl[4]);
        free(a); free(b); free(c);
    }
    return 0;
}
