/* Paired timing of two versions of the fused linear (logistic) outer pass
 * (Sources/CDistillKernels/outer_pass.c), built as objects whose entry points are
 * renamed base_* and new_* (tools/outer-pass-ab.sh): one thread, each repetition the
 * peak-FMA loop (distill_peak_fma), then both versions in alternating order, timed by
 * the thread's CPU clock; the median of new / base and each one's ratio to the bound
 * 4 n p C / peak. Before timing, both versions' loss, count and gradient are compared
 * bit for bit (with and without a gradient): "identical" or "DIFFERENT".
 * MNIST's training bytes (INPUT 0), uniform random bytes (1) or MNIST mixed with
 * all-zero rows, random rows and zero runs (2); C = 10, random Float32 weights of
 * the pass's scale. NEW_ZEROS >= 0: the new version through distill_outer_rows_with
 * with that treatment of zero chunks and, with NEW_MASKS, the chunk masks found once
 * before timing (distill_outer_chunk_masks). BASE_WITH: the base version likewise.
 *
 * Usage: outer-pass-ab IMAGES LABELS rows repetitions */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "distill_kernels.h"
#include "distill_neural_kernel.h"
#include "mnist-bytes.h"
void base_outer_rows(const distill_outer_problem *, int, long, long, float *, double *, long *, double *);
void new_outer_rows(const distill_outer_problem *, int, long, long, float *, double *, long *, double *);
#if NEW_ZEROS >= 0
void new_outer_rows_with(const distill_outer_problem *, int, int, const uint64_t *, long, long, float *, double *,
                         long *, double *);
void new_outer_chunk_masks(const distill_outer_problem *, long, long, uint64_t *);
long new_outer_mask_words(long);
static uint64_t *new_masks;
#define new_outer_rows(pb, k, b, e, s, l, c, g) new_outer_rows_with(pb, k, NEW_ZEROS, new_masks, b, e, s, l, c, g)
#if BASE_WITH
void base_outer_rows_with(const distill_outer_problem *, int, int, const uint64_t *, long, long, float *, double *,
                          long *, double *);
#define base_outer_rows(pb, k, b, e, s, l, c, g) base_outer_rows_with(pb, k, NEW_ZEROS, new_masks, b, e, s, l, c, g)
#endif
#endif
long base_outer_scratch_count(long, long);
long new_outer_scratch_count(long, long);
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static unsigned long long state = 88172645463325252ull;
static double uniform(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (state >> 11) * (1.0 / 9007199254740992.0); }
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: %s IMAGES LABELS rows repetitions\n", argv[0]); return 2; }
    long n = atol(argv[3]); int reps = atoi(argv[4]);
    if (n < 1 || n > 60000 || reps < 1 || reps > 99) { fprintf(stderr, "outer-pass-ab: bad arguments\n"); return 2; }
    const long p = 784, c = 10, ldw = distill_outer_ldw(p);
    uint8_t *pixels; int32_t *labels;
    if (load_mnist_bytes("outer-pass-ab", argv[1], argv[2], n, p, c, &pixels, &labels)) return 1;
#if INPUT == 1
    for (long i = 0; i < n * p; i++) pixels[i] = (uint8_t)(uniform() * 256);
#elif INPUT == 2
    for (long i = 0; i < n; i++) {
        if (i % 5 == 0) memset(pixels + i * p, 0, p);
        else if (i % 7 == 0) for (long k = 0; k < p; k++) pixels[i * p + k] = (uint8_t)(uniform() * 256);
        if (i % 3 == 0) memset(pixels + i * p + 256, 0, 256);
    }
#endif
    float *wt = calloc(c * ldw, 4);
    for (long j = 0; j < c; j++) for (long k = 0; k < p; k++) wt[j * ldw + k] = (float)((uniform() - 0.5) * 0.02 / 255);
    const distill_outer_problem pb = {pixels, DISTILL_PIXELS_U8, labels, p, c, wt, ldw};
#if NEW_ZEROS >= 0 && NEW_MASKS
    new_masks = malloc(8 * n * new_outer_mask_words(p));
    new_outer_chunk_masks(&pb, 0, n, new_masks);
#endif
    float *sb = malloc(4 * base_outer_scratch_count(p, c)), *sn = malloc(4 * new_outer_scratch_count(p, c));
    double *gb = calloc(c * ldw, 8), *gn = calloc(c * ldw, 8);
    double lb1 = 0, ln1 = 0, lb2 = 0, ln2 = 0; long cb1 = 0, cn1 = 0, cb2 = 0, cn2 = 0;
    base_outer_rows(&pb, DISTILL_KERNEL_AVX512, 0, n, sb, &lb1, &cb1, gb);
    new_outer_rows(&pb, DISTILL_KERNEL_AVX512, 0, n, sn, &ln1, &cn1, gn);
    base_outer_rows(&pb, DISTILL_KERNEL_AVX512, 0, n, sb, &lb2, &cb2, NULL);
    new_outer_rows(&pb, DISTILL_KERNEL_AVX512, 0, n, sn, &ln2, &cn2, NULL);
    const int same = lb1 == ln1 && cb1 == cn1 && lb2 == ln2 && cb2 == cn2 && !memcmp(gb, gn, 8 * c * ldw);
    double tb[99], tn[99], ratio[99], bb[99], bn[99];
    const double ops = 4.0 * n * p * c;
    for (int r = 0; r < reps; r++) {
        float sink; double t0 = now(); double fl = distill_peak_fma(4000000, &sink); double peak = fl / (now() - t0);
        double loss = 0; long corr = 0;
        memset(gb, 0, 8 * c * ldw);
        if (r % 2) { t0 = now(); new_outer_rows(&pb, DISTILL_KERNEL_AVX512, 0, n, sn, &loss, &corr, gb); tn[r] = now() - t0;
                     t0 = now(); base_outer_rows(&pb, DISTILL_KERNEL_AVX512, 0, n, sb, &loss, &corr, gb); tb[r] = now() - t0; }
        else       { t0 = now(); base_outer_rows(&pb, DISTILL_KERNEL_AVX512, 0, n, sb, &loss, &corr, gb); tb[r] = now() - t0;
                     t0 = now(); new_outer_rows(&pb, DISTILL_KERNEL_AVX512, 0, n, sn, &loss, &corr, gb); tn[r] = now() - t0; }
        ratio[r] = tn[r] / tb[r]; bb[r] = tb[r] / (ops / peak); bn[r] = tn[r] / (ops / peak);
    }
    qsort(ratio, reps, 8, cmpd); qsort(bb, reps, 8, cmpd); qsort(bn, reps, 8, cmpd); qsort(tb, reps, 8, cmpd); qsort(tn, reps, 8, cmpd);
    printf("outer pass, input %d, C %ld, %ld rows, 1 thread (thread CPU time), outputs %s; medians of %d: base %.2f ms (%.2fx the bound), new %.2f ms (%.2fx the bound); new / base %.3f (range %.3f to %.3f)\n",
           INPUT, c, n, same ? "identical" : "DIFFERENT", reps, 1e3 * tb[reps / 2], bb[reps / 2], 1e3 * tn[reps / 2], bn[reps / 2], ratio[reps / 2], ratio[0], ratio[reps - 1]);
    return same ? 0 : 1;
}
