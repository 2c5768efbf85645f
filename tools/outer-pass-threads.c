/* The fused linear (logistic) outer pass on one thread and on two, each against the
 * peak-FMA loop (distill_peak_fma) on as many threads measured just before it: what
 * the C kernel reaches without the Swift layer around it (OuterPass, distill bench).
 * MNIST's 60,000 training images, chunk masks given as OuterPass gives them, random
 * weights, with the gradient; two threads take the halves of the rows, as OuterPass's
 * parts do. Per repetition: the peak loop on one thread, on two, the pass on one
 * thread, on two; medians over the repetitions. Also each thread's CPU time in the
 * two-thread pass (against half the one-thread pass's: a ratio near 1 means the
 * threads did not slow each other down) and the slower half's wall time over the faster's.
 * Built and run by tools/outer-pass-threads.sh. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "distill_kernels.h"
#include "distill_neural_kernel.h"
#include "mnist-bytes.h"

static double wall(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static double cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static double median(double *v, int n) { qsort(v, n, sizeof *v, cmpd); return v[n / 2]; }

static distill_outer_problem problem;
static uint64_t *masks;
static long ldw;

typedef struct {
    long begin, end, iterations;
    double start, stop, cpu_seconds, loss;
    long correct;
    double *gradient;
    float *scratch;
} job;

static void *pass_job(void *arg) {
    job *j = arg;
    j->start = wall();
    const double c0 = cpu();
    j->loss = 0; j->correct = 0;
    memset(j->gradient, 0, sizeof(double) * problem.classes * ldw);
    distill_outer_rows_with(&problem, DISTILL_KERNEL_AVX512, DISTILL_OUTER_ZEROS_AUTO, masks, j->begin, j->end, j->scratch,
                            &j->loss, &j->correct, j->gradient);
    j->cpu_seconds = cpu() - c0;
    j->stop = wall();
    return NULL;
}

static void *peak_job(void *arg) {
    job *j = arg;
    float sink;
    distill_peak_fma(j->iterations, &sink);
    return NULL;
}

/* Runs `body` on `threads` threads (1 or 2) over jobs[0..threads); returns the wall time. */
static double run(void *(*body)(void *), job *jobs, int threads) {
    pthread_t t[2];
    const double start = wall();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, body, &jobs[i]);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    return wall() - start;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s IMAGES LABELS repetitions\n", argv[0]); return 2; }
    const int reps = atoi(argv[3]);
    if (reps < 1 || reps > 999) { fprintf(stderr, "outer-pass-threads: repetitions: expected 1 to 999, found '%s'\n", argv[3]); return 2; }
    if (!distill_outer_has_avx512()) { fprintf(stderr, "outer-pass-threads: this CPU has no AVX-512; the tool times the AVX-512 kernel\n"); return 1; }
    const long n = 60000, p = 784, c = 10;
    ldw = distill_outer_ldw(p);
    uint8_t *pixels; int32_t *labels;
    if (load_mnist_bytes("outer-pass-threads", argv[1], argv[2], n, p, c, &pixels, &labels)) return 1;
    float *weights = calloc(c * ldw, sizeof(float));
    unsigned long long state = 88172645463325252ull;
    for (long j = 0; j < c; j++)
        for (long k = 0; k < p; k++) {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            weights[j * ldw + k] = (float)(((state >> 11) * (1.0 / 9007199254740992.0) - 0.5) * 0.02 / 255);
        }
    problem = (distill_outer_problem){pixels, DISTILL_PIXELS_U8, labels, p, c, weights, ldw};
    masks = malloc(sizeof(uint64_t) * n * distill_outer_mask_words(p));
    distill_outer_chunk_masks(&problem, 0, n, masks);
    job jobs[2];
    for (int i = 0; i < 2; i++) {
        jobs[i].gradient = malloc(sizeof(double) * c * ldw);
        jobs[i].scratch = malloc(sizeof(float) * distill_outer_scratch_count(p, c));
    }
    const long iterations = 2000000;   /* 0.77 GFLOP per thread: about 4.5 ms at 170 GFLOP/s */
    const double flops = 4.0 * n * p * c;
    double *peak1 = malloc(8 * reps), *peak2 = malloc(8 * reps), *pass1 = malloc(8 * reps), *pass2 = malloc(8 * reps);
    double *ratio1 = malloc(8 * reps), *ratio2 = malloc(8 * reps), *cpu1 = malloc(8 * reps), *cpu2 = malloc(8 * reps);
    double *balance = malloc(8 * reps);
    for (int r = 0; r < reps; r++) {
        jobs[0].iterations = jobs[1].iterations = iterations;
        peak1[r] = 384.0 * iterations / run(peak_job, jobs, 1);
        peak2[r] = 2 * 384.0 * iterations / run(peak_job, jobs, 2);
        jobs[0].begin = 0; jobs[0].end = n;
        pass1[r] = run(pass_job, jobs, 1);
        cpu1[r] = jobs[0].cpu_seconds;
        jobs[0].end = n / 2; jobs[1].begin = n / 2; jobs[1].end = n;
        pass2[r] = run(pass_job, jobs, 2);
        cpu2[r] = (jobs[0].cpu_seconds + jobs[1].cpu_seconds) / 2;
        const double a = jobs[0].stop - jobs[0].start, b = jobs[1].stop - jobs[1].start;
        balance[r] = a > b ? a / b : b / a;
        ratio1[r] = pass1[r] / (flops / peak1[r]);
        ratio2[r] = pass2[r] / (flops / peak2[r]);
    }
    const double c1 = median(cpu1, reps), c2 = median(cpu2, reps);
    printf("outer pass, MNIST 60000 x 784, C 10, with the gradient; medians of %d\n", reps);
    printf("  peak FMA loop   1 thread %.1f GFLOP/s, 2 threads %.1f GFLOP/s\n", median(peak1, reps) / 1e9, median(peak2, reps) / 1e9);
    printf("  1 thread        %.2f ms wall, %.2fx the bound (median of per-repetition ratios)\n", 1e3 * median(pass1, reps), median(ratio1, reps));
    printf("  2 threads       %.2f ms wall, %.2fx the bound; slower half / faster %.3f\n", 1e3 * median(pass2, reps), median(ratio2, reps), median(balance, reps));
    printf("  CPU time        1 thread %.2f ms; 2 threads %.2f ms each (half the 1-thread time / that: %.3f)\n", 1e3 * c1, 1e3 * c2, c1 / 2 / c2);
    return 0;
}
