#ifndef DISTILL_OUTER_OPTIONS_H
#define DISTILL_OUTER_OPTIONS_H

#include "distill_kernels.h"

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
/// distill_outer_chunk_masks (NULL: the AVX-512 kernel finds them each call, which costs
/// a sweep of the bytes); the same results either way. distill_outer_rows is this with
/// _AUTO and NULL.
void distill_outer_rows_with(const distill_outer_problem *problem, int kernel, int zeros, const uint64_t *masks,
                             long begin, long end, float *scratch,
                             double *loss_sum, long *correct, double *gradient_t);

#endif
