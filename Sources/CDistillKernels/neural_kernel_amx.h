// The two products of the NNGP / NTK fused pass on AMX-INT8 tiles, exact in integers
// (private to CDistillKernels; used by neural_kernel_pass.c for byte images and at most
// 16 support images).
//
// Both products multiply stored bytes x (0..255) with Float32 values v (the support
// images' standardised pixels, or the cotangents D). Each Float32 vector is written as
// v_j = 2^(e_j - 30) n_j with integers |n_j| < 2^30 (e_j: one more than the exponent of
// the vector's largest magnitude; for values within 2^6 of that largest one n_j is v_j
// exactly, for smaller ones it is v_j rounded at 2^(e_j - 31), a relative 2^-31 of the
// largest), and n_j as four signed 8-bit digits, n = d0 + 2^8 d1 + 2^16 d2 + 2^24 d3
// (each in -128..127). The tiles multiply bytes by digits and add in 32-bit integers
// (TDPBUSD / TDPBSUD: no rounding), the
// four digit sums are joined exactly (below 2^53) and scaled by 2^(e_j - 30): each
// product is the exact one of x with n, rounded once (to Float32 for X Sᵀ, added in
// Double for Dᵀ X). The FMA products round at every one of their 784 additions.
// A tile's 32-bit sums stay below 2^31: at most K x 255 x 128 for K <= 4096 pixels
// (X Sᵀ) or K = DISTILL_AMX_BACKWARD_ROWS rows (Dᵀ X).
#ifndef DISTILL_NEURAL_KERNEL_AMX_H
#define DISTILL_NEURAL_KERNEL_AMX_H

#include <stddef.h>
#include <stdint.h>

/// Rows of the backward product's super-block: its K dimension, three tiles of 64.
#define DISTILL_AMX_BACKWARD_ROWS 192

/// Whether this process can run AMX-INT8 tiles: x86-64 with AMX-TILE and AMX-INT8
/// (CPUID leaf 7 EDX bits 24 and 25) and Linux's permission for the tile data
/// (arch_prctl ARCH_REQ_XCOMP_PERM, asked once per process). 0 elsewhere.
int distill_amx_usable(void);

/// Scratch bytes distill_amx_begin needs for `features` <= 4096 pixels.
size_t distill_amx_scratch_bytes(long features);

/// The support set as tiles for the forward product, and the scratch of both products.
typedef struct {
    long features, count;      // p, and J <= 16 support rows
    long chunks;               // 64-pixel chunks: ceil(p / 64)
    int8_t *support;           // chunks x T x 1024 bytes (T = ceil(4 count / 16)): B tiles, VNNI order, column t count + j
    int exponent[16];          // e_j - 30 per support row (0 for a zero row)
    uint16_t not_finite;       // support rows with an infinite or NaN value (bit j)
    uint8_t *pad;              // 16 rows x 64 chunks bytes: rows near the data's end, zero-padded
    int8_t *digits;            // 3 chunks of 64 rows x T x 1024 bytes: A tiles of Dᵀ's digits, row t count + j
    uint8_t *packed;           // ldp / 16 pixel blocks x DISTILL_AMX_BACKWARD_ROWS / 4 x 64 bytes (B tiles of X)
    int32_t *sums;             // 2 sets x 4 x 256 int32: the result tiles, stored
} distill_amx;

/// Prepares `amx` from `s_rows` (1 <= count <= 16 rows of Float32, ldp apart, features <=
/// 4096 of them used) in `scratch` (distill_amx_scratch_bytes(features) bytes), and loads the
/// tile configuration of this thread. Call only where distill_amx_usable(); pair with
/// distill_amx_end on the same thread.
void distill_amx_begin(distill_amx *amx, const float *s_rows, long ldp, long count, long features, void *scratch);

/// Releases this thread's tiles.
void distill_amx_end(void);

/// A = X Sᵀ for rows 0..<rows of `x` (bytes, `features` a row, consecutive) into `a`
/// (rows lda apart, 16 columns: the support rows', then +0), rows rows..<padded +0.
/// `readable`: how many rows from x on may be read (whole rows); rows whose 64-byte
/// chunks would run past them are copied into the zero-padded scratch first.
void distill_amx_forward(const distill_amx *amx, const uint8_t *x, long rows, long padded, long readable, float *a,
                         long lda);

/// dot_sum[j ldp + k] += Σ_i D[i][j] x_ik for j < count, k < features, over rows
/// 0..<rows <= DISTILL_AMX_BACKWARD_ROWS of `d` (Float32, lda apart; columns < count
/// read) and of `x` (bytes, `features` a row). A column of D with an infinite or NaN
/// value adds NaN to its row of dot_sum.
void distill_amx_backward(const distill_amx *amx, const float *d, long lda, const uint8_t *x, long rows, double *dot_sum,
                          long ldp);

#endif
