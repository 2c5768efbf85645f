#ifndef DISTILL_NEURAL_KERNEL_H
#define DISTILL_NEURAL_KERNEL_H

// The fused pass of the NNGP / NTK kernel ridge model over a labelled image
// set, and a peak floating-point loop to measure the machine's compute bound.

#include <stdint.h>

/// Largest supported number of hidden layers.
#define DISTILL_NK_MAX_DEPTH 8

/// Largest supported number of classes.
#define DISTILL_NK_MAX_CLASSES 64

/// Rows of one block: converted to Float32, multiplied with the support set,
/// pushed through the recursion, the predictions and the backward pass while hot.
#define DISTILL_NK_BLOCK_ROWS 96

#define DISTILL_NK_NNGP 0
#define DISTILL_NK_NTK 1
#define DISTILL_NK_LOSS_MSE 0
#define DISTILL_NK_LOSS_CROSS_ENTROPY 1

/// One pass's problem. The model sees standardised images; the pass folds the
/// standardisation in:
///   Σ_1(x_i, s_j) = dot_scale * <x_i (stored), u_j> + column_offset[j],
///   q_1(x_i) = row_square * Σ_k x_ik² + row_linear * Σ_k x_ik + row_constant,
/// with `u_j` the standardised support images (`support_t`, features x ldm
/// Float32, columns count..<ldm zero) and the per-layer variances of the
/// support images `support_q` (depth x count, q_l(s_j)).
typedef struct {
    const void *pixels;
    int pixel_kind;              // DISTILL_PIXELS_U8 or DISTILL_PIXELS_F32 (distill_kernels.h)
    const int32_t *labels;
    long features, classes, count, ldm;
    const float *support_t;
    double dot_scale;
    const double *column_offset;
    double row_square, row_linear, row_constant;
    const double *support_q;
    const double *alpha;         // count x classes
    int depth, kind, loss;
    double weight_variance, bias_variance;
    /// Below this 1 - c², ∂K̇/∂c is taken as 0 (the cone's symmetric derivative).
    double cone_epsilon;
    /// Optional, byte pixels only: the image set's per-row statistics over these same
    /// `pixels` (all rows the call reads; rows are numbered from `pixels`, as `labels` are):
    /// row r's Σx at row_sums[r] and Σx² at row_squares[r] (distill_nk_row_statistics), and
    /// its nonzero 16-pixel chunks at row_chunks[r words ...], the masks
    /// distill_outer_chunk_masks gives (words = distill_outer_mask_words(features); the bits
    /// this pass would find itself). The AVX-512 narrow sweep (m <= 16) then copies them
    /// instead of reading every byte once more for them: the same results.
    /// All three NULL (as a positional initialiser leaves them): found in each call.
    /// Given together or not at all (otherwise distill_nk_rows returns -1).
    const double *row_sums, *row_squares;
    const uint64_t *row_chunks;
} distill_nk_problem;

/// Each byte image's Σx and Σx² for distill_nk_problem's row_sums and row_squares, rows
/// begin..<end of `pixels` (count x features bytes, row r at pixels + r features):
/// sums[r] = Σ_k x_rk and squares[r] = Σ_k x_rk² (exact: integers below 2^53); rows
/// outside begin..<end are not touched. `kernel`: DISTILL_KERNEL_PORTABLE or _AVX512
/// (used where the CPU has AVX-512 with VNNI and features <= 4096); the same values either way.
void distill_nk_row_statistics(const uint8_t *pixels, long features, int kernel, long begin, long end,
                               double *sums, double *squares);

/// `count` rounded up to a multiple of 16.
long distill_nk_ldm(long count);

/// Evaluates rows begin..<end. Adds to `*loss_sum` the summed loss
/// (0.5 ||f - y||² with y one-hot minus 1/C, or the cross-entropy of f), to
/// `*correct` the rows whose first arg-max prediction is their label, and,
/// when `d_alpha` is not NULL, the sums over the rows of: d_alpha (count x
/// classes) += K_iᵀ g_i; d_dot (count x features) += g^σ_ij x_i (stored
/// units); d_sum (count) += g^σ_ij; d_q (count) += ∂/∂q_1(s_j); where g_i is
/// the loss's gradient in f(x_i) and g^σ_ij its gradient in Σ_1(x_i, s_j).
/// `kernel` is DISTILL_KERNEL_PORTABLE or DISTILL_KERNEL_AVX512 (used only where
/// the CPU has it; for byte images with few nonzero pixels it skips the zero ones,
/// with the same results: see distill_nk_options). Returns 0, or -1 when scratch
/// memory cannot be allocated.
int distill_nk_rows(const distill_nk_problem *problem, int kernel, long begin, long end,
                    double *loss_sum, long *correct,
                    double *d_alpha, double *d_dot, double *d_sum, double *d_q);

/// distill_nk_options.sparse: whether the AVX-512 kernel's two products with the
/// support set skip the zero pixels of byte images (the results are the same bits
/// either way, for finite support values and finite gradients): by the density of
/// nonzero pixels of the call's first rows (AUTO, the default: below 35%, the
/// backward product only from 33 support images up), never (OFF) or always where
/// it can (ON; byte pixels, features <= 65535; the dot-product tiles of m <= 16 and
/// of the last m mod 16 <= 12 columns and a GEMM panel of one vector of 16 columns
/// stay dense). OFF and ON are for tests and benchmarks.
#define DISTILL_NK_SPARSE_AUTO 0
#define DISTILL_NK_SPARSE_OFF 1
#define DISTILL_NK_SPARSE_ON 2

/// distill_nk_options.products: which units run the two products with the support set
/// for byte images and 3 to 16 support images (elsewhere always the FMA loops):
/// AMX-INT8 tiles where the CPU and OS allow them (AUTO, the default; exact integer
/// products of the bytes with the Float32 values written as 2^e times 31-bit integers,
/// each product rounded once: see neural_kernel_amx.h), or the Float32 FMA loops (FMA,
/// for tests and benchmarks, and the bits of every version before AMX).
#define DISTILL_NK_PRODUCTS_AUTO 0
#define DISTILL_NK_PRODUCTS_FMA 1
/// Options of distill_nk_rows_with.
typedef struct {
    /// DISTILL_NK_SPARSE_AUTO, _OFF or _ON (the FMA loops' choice; AMX tiles take every pixel).
    int sparse;
    /// Output: increased by the multiply-adds the two products with the support set
    /// did (entries of support columns < count, pixels < features, rows begin..<end;
    /// the dense count is (end - begin) x features x count per product, and the
    /// backward product runs only with the gradient; on AMX tiles, the dense count).
    double multiply_adds;
    /// DISTILL_NK_PRODUCTS_AUTO or _FMA.
    int products;
    /// Output: set to 1 when the products ran on AMX tiles.
    int used_amx;
} distill_nk_options;

/// distill_nk_rows with options (NULL: the defaults). Also returns -1 for an
/// unknown `sparse` or `products`.
int distill_nk_rows_with(const distill_nk_problem *problem, int kernel, distill_nk_options *options, long begin, long end,
                         double *loss_sum, long *correct,
                         double *d_alpha, double *d_dot, double *d_sum, double *d_q);

/// The AVX-512 pass's e^x and log y (its cross-entropy loss), exposed for tests: exp_x[i] =
/// e^x[i] for x[i] <= 0 (finite; 0 below about -745) and log_y[i] = log y[i] for finite
/// y[i] >= 1, i < n, each within a few ulp. Returns -1 (and writes nothing) without AVX-512.
int distill_nk_exp_log(const double *x, const double *y, long n, double *exp_x, double *log_y);
/// A compute-bound loop: `iterations` rounds of 12 independent chains of
/// 16-lane Float32 fused multiply-adds (AVX-512; 8-lane FMA or plain C
/// elsewhere). Returns the floating-point operations done (2 per lane per FMA);
/// `sink` receives a value that depends on every chain.
double distill_peak_fma(long iterations, float *sink);

#endif
