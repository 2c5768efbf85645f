#ifndef DISTILL_KERNELS_H
#define DISTILL_KERNELS_H

#include <stdint.h>

/// Pixel storage of an image matrix (row-major, `features` values per row).
#define DISTILL_PIXELS_U8 0
#define DISTILL_PIXELS_F32 1

/// Kernel selection: the portable C loops, or AVX-512 (used only when
/// `distill_outer_has_avx512()`; otherwise the portable loops run).
#define DISTILL_KERNEL_PORTABLE 0
#define DISTILL_KERNEL_AVX512 1

/// Rows of one cache block: its logits are computed, turned into P - Y and
/// folded into the gradient while its pixels are still in cache.
#define DISTILL_BLOCK_ROWS 128

/// One outer-pass problem: images X (count x features, `pixel_kind` storage),
/// labels, and the transposed, pixel-scaled Float32 weights `weights_t`
/// (classes x ldw row-major, columns features..<ldw zero).
typedef struct {
    const void *pixels;
    int pixel_kind;
    const int32_t *labels;
    long features;
    long classes;
    const float *weights_t;
    long ldw;
} distill_outer_problem;

/// Leading dimension of the transposed weights and of the gradient: `features`
/// rounded up to a multiple of 16.
long distill_outer_ldw(long features);

/// Number of floats of per-thread scratch `distill_outer_rows` needs.
long distill_outer_scratch_count(long features, long classes);

/// 1 when the AVX-512 kernel runs on this CPU (and OS), else 0.
int distill_outer_has_avx512(void);

/// Evaluates rows begin..<end: adds the sum over rows of the cross-entropy to
/// `*loss_sum`, the number of rows whose first arg-max logit is the label to
/// `*correct` and, when `gradient_t` is not NULL, X^T (P - Y) (in stored pixel
/// units, transposed: classes x ldw, Double) to `gradient_t`. Float32 inside a
/// block of DISTILL_BLOCK_ROWS rows, Double across blocks; deterministic.
void distill_outer_rows(const distill_outer_problem *problem, int kernel,
                        long begin, long end, float *scratch,
                        double *loss_sum, long *correct, double *gradient_t);

/// How the AVX-512 outer pass treats byte images' all-zero 16-pixel chunks: skipped
/// when a block of rows (or a pair of rows) has few enough nonzero chunks (automatic),
/// never skipped (dense), or always skipped. Skipping gives the same bits for finite
/// weights (outer_pass.c, "Sparse byte images"); float pixels and the portable kernel
/// are always dense.
#define DISTILL_OUTER_ZEROS_AUTO 0
#define DISTILL_OUTER_ZEROS_DENSE 1
#define DISTILL_OUTER_ZEROS_SKIPPED 2

/// 64-bit words of one row's chunk mask: ceil(ceil(features / 16) / 64).
long distill_outer_mask_words(long features);

/// The chunk masks of rows begin..<end: bit q % 64 of masks[r words + q / 64] is set
/// when row r's pixels 16q..<min(16q + 16, features) are not all zero (words =
/// distill_outer_mask_words(features); masks holds count x words values; rows outside
/// begin..<end are not touched). Float pixels: every chunk's bit set.
void distill_outer_chunk_masks(const distill_outer_problem *problem, long begin, long end, uint64_t *masks);

/// distill_outer_rows with the treatment of zero chunks chosen (`zeros`, one of the
/// DISTILL_OUTER_ZEROS_ values) and, optionally, the image set's chunk masks from
/// distill_outer_chunk_masks, as `count x words` values (NULL: under _AUTO the pass is
/// dense, since finding them in each call costs about what skipping saves; under
/// _SKIPPED they are found in each call). The same results either way.
/// distill_outer_rows is this with _AUTO and NULL.
void distill_outer_rows_with(const distill_outer_problem *problem, int kernel, int zeros, const uint64_t *masks,
                             long begin, long end, float *scratch,
                             double *loss_sum, long *correct, double *gradient_t);

/// distill_outer_rows_with that also adds to *multiply_adds (when not NULL) the
/// multiply-adds its logits and gradient did: pixels < features, each row once,
/// counted from the chunk masks the pass runs over (a pair of rows over the union of
/// their nonzero chunks, a gradient tile over its nonzero rows). The dense count is
/// (end - begin) x features x classes for the logits and as many for the gradient.
void distill_outer_rows_counted(const distill_outer_problem *problem, int kernel, int zeros, const uint64_t *masks,
                                long begin, long end, float *scratch, double *loss_sum, long *correct,
                                double *gradient_t, double *multiply_adds);

// ---------------------------------------------------------------------------
// Dense Double products for small matrices (row-major, leading dimensions
// lda, ldb, ldc). Each overwrites the m x n result c; k is the shared depth.
// `kernel` as above (AVX-512 only where the CPU has it).

/// c = a b^T: a is m x k, b is n x k (dot products over contiguous depth).
void distill_matrix_nt(int kernel, long m, long n, long k, const double *a, long lda,
                       const double *b, long ldb, double *c, long ldc);

/// c = a^T b: a is k x m, b is k x n.
void distill_matrix_tn(int kernel, long m, long n, long k, const double *a, long lda,
                       const double *b, long ldb, double *c, long ldc);

/// c = a b: a is m x k, b is k x n.
void distill_matrix_nn(int kernel, long m, long n, long k, const double *a, long lda,
                       const double *b, long ldb, double *c, long ldc);

/// c = a b as distill_matrix_nn computes it, entry for entry the same bits, in
/// tiles and depth blocks that suit larger products (n >= 16, k in the hundreds).
void distill_matrix_nn_blocked(int kernel, long m, long n, long k, const double *a, long lda,
                               const double *b, long ldb, double *c, long ldc);

/// b = a^T: a is m x n, b is n x m.
void distill_matrix_transpose(long m, long n, const double *a, long lda, double *b, long ldb);

// ---------------------------------------------------------------------------
// Adam's element-wise update (see Adam.swift for the formulas).

/// The scalars of one Adam step; bias1 = 1 - beta1^t, bias2 = 1 - beta2^t.
typedef struct {
    double beta1, beta2, learning_rate, epsilon, bias1, bias2;
} distill_adam_step;

/// Updates the moments and moves x (count values each) against the gradient.
/// The AVX-512 kernel gives the same bits as the portable one.
void distill_adam_update(int kernel, long count, double *x, const double *gradient,
                         double *first_moment, double *second_moment, const distill_adam_step *step);

#include "distill_neural_kernel.h"

#endif
