/* Paired timing of two versions of the fused NNGP/NTK pass (Sources/CDistillKernels/
 * neural_kernel_pass.c), built as objects whose entry points are renamed base_* and
 * new_* (tools/nk-pass-ab.sh): one thread, each repetition the peak-FMA loop, then both
 * versions in alternating order, timed by the thread's CPU clock. On a shared machine
 * the load drifts between sequential runs by more than the versions differ; paired in
 * one process, the median of the per-repetition ratios new / base resolves a few percent.
 * First the two versions' outputs (loss, accuracy, d_alpha, d_dot, d_sum, d_q; with and
 * without the gradient) are compared bit for bit: "identical" or "DIFFERENT" (with the
 * largest relative difference of d_dot).
 * Same problem as tools/nk-pass-bench.c (training images with noise as the support set,
 * random α, NTK, depth 3 unless given, w 2, b 0.01, MSE).
 *
 * Each version is given the image set's row statistics (Σx, Σx² from its
 * distill_nk_row_statistics, the chunk bits from distill_outer_chunk_masks, found once before
 * the timings, as OuterPass does) when it has that function (a weak symbol); the new version
 * not when built with -DNEW_NO_ROW_STATISTICS.
 *
 * Built with -DNEW_SPARSE=n (DISTILL_NK_SPARSE_OFF 1 / _ON 2), the new version runs through
 * distill_nk_rows_with with that choice of skipping zero pixels; with -DNEW_PRODUCTS=n
 * (DISTILL_NK_PRODUCTS_FMA 1), with that choice of units for the products.
 *
 * Usage: nk-pass-ab IMAGES LABELS m rows repetitions [depth] [input] [ntk|nngp] [mse|ce]
 * input: "mnist" (default), "random": the training images replaced by uniformly random
 * bytes (a dense input: every pixel nonzero with probability 255/256), or "randomNN"
 * (NN = 1 ... 99): random bytes, each pixel nonzero with probability NN%. The kernel (NTK
 * unless "nngp") and the loss (mean squared error unless "ce": the cross-entropy) may follow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>
#include "distill_kernels.h"
#include "distill_neural_kernel.h"
#include "mnist-bytes.h"
int base_nk_rows(const distill_nk_problem *, int, long, long, double *, long *, double *, double *, double *, double *);
int new_nk_rows(const distill_nk_problem *, int, long, long, double *, long *, double *, double *, double *, double *);
double new_peak_fma(long, float *);
void new_nk_row_statistics(const uint8_t *, long, int, long, long, double *, double *) __attribute__((weak));
void base_nk_row_statistics(const uint8_t *, long, int, long, long, double *, double *) __attribute__((weak));
/// The problem with the row statistics `find` gives (NULL: pb itself, without them).
static distill_nk_problem with_row_statistics(const distill_nk_problem *pb, const uint8_t *pixels, long n, long p,
                                              void (*find)(const uint8_t *, long, int, long, long, double *, double *)) {
    distill_nk_problem out = *pb;
    if (find) {
        double *sums = malloc(8 * n), *squares = malloc(8 * n);
        uint64_t *chunks = malloc(8 * n * distill_outer_mask_words(p));
        find(pixels, p, DISTILL_KERNEL_AVX512, 0, n, sums, squares);
        const distill_outer_problem outer = {pixels, DISTILL_PIXELS_U8, NULL, p, 10, NULL, distill_outer_ldw(p)};
        distill_outer_chunk_masks(&outer, 0, n, chunks);
        out.row_sums = sums; out.row_squares = squares; out.row_chunks = chunks;
    }
    return out;
}
#if defined(NEW_SPARSE) || defined(NEW_PRODUCTS)
#ifndef NEW_SPARSE
#define NEW_SPARSE 0
#endif
int new_nk_rows_with(const distill_nk_problem *, int, distill_nk_options *, long, long, double *, long *, double *, double *, double *, double *);
static int new_rows(const distill_nk_problem *pb, int kernel, long begin, long end, double *loss, long *correct,
                    double *da, double *dd, double *ds, double *dq) {
#ifdef NEW_PRODUCTS
    distill_nk_options options = {NEW_SPARSE, 0, NEW_PRODUCTS, 0};
#else
    distill_nk_options options = {NEW_SPARSE, 0};
#endif
    return new_nk_rows_with(pb, kernel, &options, begin, end, loss, correct, da, dd, ds, dq);
}
#define new_nk_rows new_rows
#endif
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static unsigned long long state = 88172645463325252ull;
static double uniform(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (state >> 11) * (1.0 / 9007199254740992.0); }
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: %s IMAGES LABELS m rows repetitions [depth] [mnist|random]\n", argv[0]); return 2; }
    const int random_input = argc > 7 && !strncmp(argv[7], "random", 6);
    const int percent = random_input && argv[7][6] ? atoi(argv[7] + 6) : 0;   // 0: every byte uniform
    if ((argc > 7 && !random_input && strcmp(argv[7], "mnist")) || (random_input && argv[7][6] && (percent < 1 || percent > 99))) {
        fprintf(stderr, "nk-pass-ab: input: expected mnist, random or randomNN (NN 1 to 99), got '%s'\n", argv[7]); return 2;
    }
    const int kind = argc > 8 && !strcmp(argv[8], "nngp") ? DISTILL_NK_NNGP : DISTILL_NK_NTK;
    const int loss_kind = argc > 9 && !strcmp(argv[9], "ce") ? DISTILL_NK_LOSS_CROSS_ENTROPY : DISTILL_NK_LOSS_MSE;
    if ((argc > 8 && strcmp(argv[8], "nngp") && strcmp(argv[8], "ntk")) || (argc > 9 && strcmp(argv[9], "ce") && strcmp(argv[9], "mse"))) {
        fprintf(stderr, "nk-pass-ab: kernel and loss: expected ntk or nngp and mse or ce, got '%s' '%s'\n", argv[8], argc > 9 ? argv[9] : ""); return 2;
    }
    const long m = atol(argv[3]); long n = atol(argv[4]); int reps = atoi(argv[5]); int depth = argc > 6 ? atoi(argv[6]) : 3;
    if (m < 1 || n < 1 || n > 60000 || reps < 1 || reps > 99 || depth < 1 || depth > DISTILL_NK_MAX_DEPTH) { fprintf(stderr, "nk-pass-ab: bad arguments\n"); return 2; }
    const long p = 784, c = 10; const long ldm = distill_nk_ldm(m);
    uint8_t *pixels; int32_t *labels;
    if (load_mnist_bytes("nk-pass-ab", argv[1], argv[2], n, p, c, &pixels, &labels)) return 1;
    if (random_input)
        for (long t = 0; t < n * p; t++)
            pixels[t] = percent && uniform() * 100 >= percent ? 0 : (uint8_t)(percent ? 1 + uniform() * 255 : uniform() * 256);
    const double mean = 0.1307 * 255, sd = 0.3081 * 255, w = 2.0, b = 0.01;
    float *support_t = calloc(p * ldm, 4); double *offset = calloc(ldm, 8), *support_q = calloc(depth * m, 8), *alpha = malloc(8 * m * c);
    for (long j = 0; j < m; j++) {
        const long source = (long)(uniform() * n); double s = 0, s2 = 0;
        for (long k = 0; k < p; k++) { const double u = (pixels[source * p + k] - mean) / sd + 0.05 * (uniform() - 0.5); support_t[k * ldm + j] = (float)u; s += u; s2 += u * u; }
        offset[j] = b - w * mean * s / (p * sd);
        double q = w * s2 / p + b;
        for (int l = 0; l < depth; l++) { support_q[l * m + j] = q; q = w * q / 2 + b; }
    }
    for (long t = 0; t < m * c; t++) alpha[t] = (uniform() - 0.5) * 0.1;
    const distill_nk_problem pb = {pixels, DISTILL_PIXELS_U8, labels, p, c, m, ldm, support_t, w / (p * sd), offset,
                                   w / (p * sd * sd), -2 * w * mean / (p * sd * sd), w * mean * mean / (sd * sd) + b,
                                   support_q, alpha, depth, kind, loss_kind, w, b, 1e-6};
    // Each version's problem: with the row statistics where it has them.
    const distill_nk_problem pbb = with_row_statistics(&pb, pixels, n, p, base_nk_row_statistics);
#ifndef NEW_NO_ROW_STATISTICS
    const distill_nk_problem pbn = with_row_statistics(&pb, pixels, n, p, new_nk_row_statistics);
#else
    const distill_nk_problem pbn = pb;
#endif
    printf("given the row statistics: base %s, new %s\n", pbb.row_sums ? "yes" : "no", pbn.row_sums ? "yes" : "no");
    double *da = malloc(8 * m * c), *dd = malloc(8 * m * p), *ds = malloc(8 * m), *dq = malloc(8 * m);
    double *da2 = malloc(8 * m * c), *dd2 = malloc(8 * m * p), *ds2 = malloc(8 * m), *dq2 = malloc(8 * m);
    int same[2] = {1, 1};   // [1]: with the gradient, [0]: loss only
    double worst = 0, scale = 0;
    for (int g = 1; g >= 0; g--) {
        double lb = 0, ln = 0; long cb = 0, cn = 0;
        memset(da, 0, 8 * m * c); memset(dd, 0, 8 * m * p); memset(ds, 0, 8 * m); memset(dq, 0, 8 * m);
        memset(da2, 0, 8 * m * c); memset(dd2, 0, 8 * m * p); memset(ds2, 0, 8 * m); memset(dq2, 0, 8 * m);
        base_nk_rows(&pbb, DISTILL_KERNEL_AVX512, 0, n, &lb, &cb, g ? da : NULL, dd, ds, dq);
        new_nk_rows(&pbn, DISTILL_KERNEL_AVX512, 0, n, &ln, &cn, g ? da2 : NULL, dd2, ds2, dq2);
        same[g] = lb == ln && cb == cn && !memcmp(da, da2, 8 * m * c) && !memcmp(dd, dd2, 8 * m * p)
                  && !memcmp(ds, ds2, 8 * m) && !memcmp(dq, dq2, 8 * m);
        if (g)
            for (long t = 0; t < m * p; t++) { const double e = fabs(dd[t] - dd2[t]); worst = e > worst ? e : worst; scale = fabs(dd[t]) > scale ? fabs(dd[t]) : scale; }
    }
    if (random_input) printf("(random bytes%s%s) ", percent ? ", nonzero % " : "", percent ? argv[7] + 6 : "");
    printf("m %ld: outputs with the gradient %s, loss only %s (largest d_dot difference %.3g of its largest entry)\n",
           m, same[1] ? "identical" : "DIFFERENT", same[0] ? "identical" : "DIFFERENT", scale > 0 ? worst / scale : 0);
    double tb[99], tn[99], ratio[99], bb[99], bn[99];
    const double ops = 4.0 * n * m * p;
    for (int r = 0; r < reps; r++) {
        float sink; double t0 = now(); double fl = new_peak_fma(4000000, &sink); double peak = fl / (now() - t0);
        double loss = 0; long corr = 0;
        memset(da, 0, 8 * m * c); memset(dd, 0, 8 * m * p); memset(ds, 0, 8 * m); memset(dq, 0, 8 * m);
        if (r % 2) { t0 = now(); new_nk_rows(&pbn, DISTILL_KERNEL_AVX512, 0, n, &loss, &corr, da, dd, ds, dq); tn[r] = now() - t0;
                     t0 = now(); base_nk_rows(&pbb, DISTILL_KERNEL_AVX512, 0, n, &loss, &corr, da, dd, ds, dq); tb[r] = now() - t0; }
        else       { t0 = now(); base_nk_rows(&pbb, DISTILL_KERNEL_AVX512, 0, n, &loss, &corr, da, dd, ds, dq); tb[r] = now() - t0;
                     t0 = now(); new_nk_rows(&pbn, DISTILL_KERNEL_AVX512, 0, n, &loss, &corr, da, dd, ds, dq); tn[r] = now() - t0; }
        ratio[r] = tn[r] / tb[r]; bb[r] = tb[r] / (ops / peak); bn[r] = tn[r] / (ops / peak);
    }
    qsort(ratio, reps, 8, cmpd); qsort(bb, reps, 8, cmpd); qsort(bn, reps, 8, cmpd); qsort(tb, reps, 8, cmpd); qsort(tn, reps, 8, cmpd);
    printf("m %ld, %s, depth %d, %ld rows, 1 thread (thread CPU time), medians of %d: base %.2f ms (%.2fx the bound), new %.2f ms (%.2fx the bound); new / base %.3f (range %.3f to %.3f)\n",
           m, kind == DISTILL_NK_NTK ? "NTK" : "NNGP", depth, n, reps, 1e3 * tb[reps / 2], bb[reps / 2], 1e3 * tn[reps / 2], bn[reps / 2], ratio[reps / 2], ratio[0], ratio[reps - 1]);
    return 0;
}
