// Compilation helpers shared by the kernels (private to CDistillKernels).
#ifndef DISTILL_KERNEL_SUPPORT_H
#define DISTILL_KERNEL_SUPPORT_H

// Portable loops are also compiled for x86-64-v3 (AVX2, FMA), chosen at load time.
#if defined(__x86_64__) && defined(__linux__)
#define DISPATCH_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DISPATCH_CLONES
#endif

#if defined(__x86_64__)
// AVX-512 code paths: compiled for that target only, run when
// distill_outer_has_avx512() says the CPU and OS support it.
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#endif

#define INLINE static inline __attribute__((always_inline))

#endif
