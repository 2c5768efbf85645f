/* The fused NNGP/NTK pass (Sources/CDistillKernels/neural_kernel_pass.c, included
 * whole) on MNIST's training bytes, against the peak-FMA loop measured in the same
 * run: the pass with gradients, the loss-only pass, and their ratio to the compute
 * bound 4 n m p / peak (the dense operation count), and the share of those multiply-adds
 * the pass did (less where it skipped zero pixels). Built and run by tools/nk-pass-bench.sh.
 *
 * One thread (threads = 1) is timed by the thread's CPU clock, the pass and the
 * peak loop alike: on a shared machine the time other processes take is then not
 * counted (only their effect on the caches). More threads: wall clock, each thread
 * a contiguous share of the rows, as `distill bench` runs them.
 *
 * Built with -DNK_PROFILE (one thread): also the shares of the pass's phases
 * (time-stamp counter around each phase, so the total runs a little slower).
 *
 * Usage: nk-pass-bench IMAGES LABELS m threads repetitions [rows]
 * (IMAGES, LABELS: uncompressed IDX files). The support images are training images
 * with noise, standardised as the model does; α is random; depth 3, w 2, b 0.01. */
#include NK_PASS_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include "mnist-bytes.h"

static int thread_clock;
static double now(void) {
    struct timespec t;
    clock_gettime(thread_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
static unsigned long long state = 88172645463325252ull;
static double uniform(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (state >> 11) * (1.0 / 9007199254740992.0); }
static int ascending(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

typedef struct { const distill_nk_problem *pb; long begin, end; int gradient; double loss; long correct; double *da, *dd, *ds, *dq; } job;
static void *run_job(void *arg) {
    job *j = arg;
    long m = j->pb->count, p = j->pb->features, c = j->pb->classes;
    memset(j->da, 0, 8 * m * c); memset(j->dd, 0, 8 * m * p); memset(j->ds, 0, 8 * m); memset(j->dq, 0, 8 * m);
    j->loss = 0; j->correct = 0;
    distill_nk_rows(j->pb, DISTILL_KERNEL_AVX512, j->begin, j->end, &j->loss, &j->correct, j->gradient ? j->da : NULL, j->dd, j->ds, j->dq);
    return NULL;
}
static void *run_peak(void *arg) { float sink; distill_peak_fma(4000000, &sink); (void)arg; return NULL; }
static double timed(int threads, void *(*body)(void *), job *jobs) {
    pthread_t th[16];
    double t0 = now();
    if (threads == 1) body(jobs);
    else {
        for (int t = 0; t < threads; t++) pthread_create(&th[t], NULL, body, jobs ? &jobs[t] : NULL);
        for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
    }
    return now() - t0;
}

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: %s IMAGES LABELS m threads repetitions [rows]\n", argv[0]); return 2; }
    const long m = atol(argv[3]); const int threads = atoi(argv[4]), reps = atoi(argv[5]);
    long n = argc > 6 ? atol(argv[6]) : 60000;
    const long p = 784, c = 10; const int depth = 3; const long ldm = distill_nk_ldm(m);
    if (m < 1 || threads < 1 || threads > 16 || reps < 1 || reps > 99 || n < 1 || n > 60000) { fprintf(stderr, "nk-pass-bench: bad arguments\n"); return 2; }
    thread_clock = threads == 1;
    uint8_t *pixels; int32_t *labels;
    if (load_mnist_bytes("nk-pass-bench", argv[1], argv[2], n, p, c, &pixels, &labels)) return 1;
    const double mean = 0.1307 * 255, sd = 0.3081 * 255, w = 2.0, b = 0.01;
    float *support_t = calloc(p * ldm, 4); double *offset = calloc(ldm, 8), *support_q = calloc(depth * m, 8), *alpha = malloc(8 * m * c);
    for (long j = 0; j < m; j++) {
        const long source = (long)(uniform() * n);
        double s = 0, s2 = 0;
        for (long k = 0; k < p; k++) {
            const double u = (pixels[source * p + k] - mean) / sd + 0.05 * (uniform() - 0.5);
            support_t[k * ldm + j] = (float)u; s += u; s2 += u * u;
        }
        offset[j] = b - w * mean * s / (p * sd);
        double q = w * s2 / p + b;
        for (int l = 0; l < depth; l++) { support_q[l * m + j] = q; q = w * q / 2 + b; }
    }
    for (long t = 0; t < m * c; t++) alpha[t] = (uniform() - 0.5) * 0.1;
    const distill_nk_problem pb = {pixels, DISTILL_PIXELS_U8, labels, p, c, m, ldm, support_t, w / (p * sd), offset,
                                   w / (p * sd * sd), -2 * w * mean / (p * sd * sd), w * mean * mean / (sd * sd) + b,
                                   support_q, alpha, depth, DISTILL_NK_NTK, DISTILL_NK_LOSS_MSE, w, b, 1e-6};
    job jobs[16];
    for (int t = 0; t < threads; t++)
        jobs[t] = (job){&pb, n * t / threads, n * (t + 1) / threads, 1, 0, 0, malloc(8 * m * c), malloc(8 * m * p), malloc(8 * m), malloc(8 * m)};
    // The multiply-adds the pass with the gradients does, against the dense 2 n m p the bound
    // counts (kernels from before distill_nk_rows_with: reported as dense).
    double done = 2.0 * n * m * p;
#ifdef DISTILL_NK_SPARSE_AUTO
    distill_nk_options options = {DISTILL_NK_SPARSE_AUTO, 0};
    double lsum = 0; long hits = 0;
    distill_nk_rows_with(&pb, DISTILL_KERNEL_AVX512, &options, 0, n, &lsum, &hits, jobs[0].da, jobs[0].dd, jobs[0].ds, jobs[0].dq);
    done = options.multiply_adds;
#ifdef NK_PROFILE
    memset(nk_profile, 0, sizeof nk_profile);
#endif
#endif
    double pass[99], loss_only[99], peak[99], ratio[99];
    const double operations = 4.0 * n * m * p;
    for (int r = 0; r < reps; r++) {
        peak[r] = threads * 4000000.0 * 384 / timed(threads, run_peak, NULL);
        for (int t = 0; t < threads; t++) jobs[t].gradient = 1;
        pass[r] = timed(threads, run_job, jobs);
        ratio[r] = pass[r] / (operations / peak[r]);
        for (int t = 0; t < threads; t++) jobs[t].gradient = 0;
        loss_only[r] = timed(threads, run_job, jobs);
    }
    qsort(pass, reps, 8, ascending); qsort(loss_only, reps, 8, ascending); qsort(peak, reps, 8, ascending); qsort(ratio, reps, 8, ascending);
    printf("m %ld, %ld rows, %d thread%s (%s): pass %.2f ms (min %.2f), loss only %.2f ms, peak %.1f GFLOP/s, bound %.2f ms, pass/bound %.2f (min %.2f); "
           "multiply-adds done %.1f%% of the dense 2 n m p (the bound counts the dense ones)\n",
           m, n, threads, threads == 1 ? "" : "s", thread_clock ? "thread CPU time" : "wall clock", 1e3 * pass[reps / 2], 1e3 * pass[0],
           1e3 * loss_only[reps / 2], peak[reps / 2] / 1e9, 1e3 * operations / peak[reps / 2], ratio[reps / 2], ratio[0],
           100 * done / (operations / 2));
#ifdef NK_PROFILE
    // Phases 0-4 run in both the pass with gradients and the loss-only pass: halved, to give the former's shares.
    const char *names[8] = {"bytes, lists", "X S^T", "recursion", "predictions", "loss", "d alpha", "reverse sweep", "D^T X"};
    double share[8], total = 0;
    for (int i = 0; i < 8; i++) { share[i] = (double)nk_profile[i] * (i < 5 ? 0.5 : 1.0); total += share[i]; }
    for (int i = 0; i < 8; i++) printf("  %-17s %5.1f%%\n", names[i], 100 * share[i] / total);
#endif
    return 0;
}
