import DistillImages
import CDistillKernels

/// The architecture of the infinitely wide fully connected ReLU network whose
/// NNGP or NTK kernel the pass evaluates (see `NeuralKernel` in Distill for the recursion).
public struct NeuralKernelArchitecture: Sendable, Equatable {
    /// True for the NTK, false for the NNGP kernel.
    public var tangent: Bool
    /// Hidden layers, 1 ... `NeuralKernelPass.maximumDepth`.
    public var depth: Int
    public var weightVariance: Double
    public var biasVariance: Double

    public init(tangent: Bool, depth: Int, weightVariance: Double, biasVariance: Double) {
        self.tangent = tangent
        self.depth = depth
        self.weightVariance = weightVariance
        self.biasVariance = biasVariance
    }

    /// `q_l` for `l = 1...depth` from `q_1` (the diagonal recursion `q_{l+1} = σ_w² q_l / 2 + σ_b²`).
    public func variances(firstLayer q1: Double) -> [Double] {
        var q = [Double](repeating: q1, count: depth)
        for l in 1..<max(1, depth) { q[l] = weightVariance * q[l - 1] / 2 + biasVariance }
        return q
    }
}

/// The full-training-set loss of kernel ridge regression with an NNGP / NTK kernel, and its gradients.
public struct NeuralKernelPassResult: Sendable {
    /// The mean loss over the images.
    public var loss: Double
    /// Images whose arg-max prediction is their label.
    public var correct: Int
    /// `∂L/∂α`, `count x classes` (empty when not requested).
    public var coefficientGradient: [Double]
    /// The explicit `∂L/∂U` at fixed α, `count x features`, with respect to the
    /// standardised support images `U` (empty when not requested).
    public var supportGradient: [Double]
    /// The multiply-adds the two products with the support set did: `2 n m p` with the
    /// gradient (`n m p` without) when dense; fewer where zero pixels of byte images
    /// were skipped (`NeuralKernelPass.ZeroPixels`; the same results, not a faster FMA).
    public var multiplyAdds: Double
    /// Whether the products ran on AMX-INT8 tiles (`NeuralKernelPass.Products`).
    public var usedAMX: Bool = false
}

/// One fused pass over a labelled image set for the kernel ridge predictor
/// `f(x) = K(x̃, U) α` with `x̃ = (x - mean)/std` (the pixels as the model sees
/// them, standardised) and the standardised support images `U` (`m x p`):
///
///     L = (1/n) Σ_i ℓ(f(x_i), y_i),   ℓ = ½ ‖f - (e_y - 1/C)‖²  or  logsumexp(f) - f_y,
///
/// with `∂L/∂α` and the explicit `∂L/∂U`, without storing anything of size
/// `n x m`. The C kernel (`distill_nk_rows`) works on blocks of 96 rows: Float32
/// products `X_b Uᵀ` and `Gᵀ X_b` from the stored pixels (the standardisation
/// folded into per-row and per-column constants), the first cosine, the
/// predictions and the sums in Double; the AVX-512 kernel runs the rest of the
/// recursion and its reverse sweep in Float32 over groups of 4 rows (16 lanes,
/// the group's forward state kept for the reverse sweep), the portable one in
/// Double. Rows are split over `threads` in fixed contiguous chunks reduced in
/// order: deterministic for a thread count.
///
/// Precision: the products are Float32 over 784 terms (relative error about
/// 1e-7 on Σ_1), or on AMX-INT8 tiles (`Products`) exact products of the bytes with
/// the support values rounded at `2^-31` of each image's largest, rounded once; the
/// AVX-512 recursion is Float32 (a single-precision
/// arccos polynomial, about 1e-7); the loss and gradients agree with the
/// Double reference to about 2e-7 relative (measured). Because the cosine carries that
/// Float32 error, the cone threshold (`∂K̇/∂c` taken as 0 below this `1 - c²`)
/// is `coneEpsilon = 1e-6` here rather than the Double reference's 1e-12.
public final class NeuralKernelPass: Sendable {
    public static let maximumDepth = Int(DISTILL_NK_MAX_DEPTH)
    public static let coneEpsilon = 1e-6

    public enum Loss: Sendable { case meanSquaredError, crossEntropy }

    /// Whether the AVX-512 kernel's products skip the zero pixels of byte images
    /// (`distill_nk_options.sparse`): by their measured density (`automatic`), never
    /// (`dense`) or always (`skipped`). The results are the same bits either way for
    /// finite inputs; `dense` and `skipped` exist for tests and benchmarks.
    public enum ZeroPixels: Sendable { case automatic, dense, skipped }

    /// Which units run the two products with the support set for byte images and 3 to
    /// 16 support images (`distill_nk_options.products`; elsewhere always the FMA
    /// loops): AMX-INT8 tiles where the CPU and the OS allow them (`automatic`), or the
    /// Float32 FMA loops (`fusedMultiplyAdd`, for tests and benchmarks). On the tiles
    /// each product `<x, u_j>` is exact in integers for the bytes `x` and `u_j` written as
    /// `2^e` times 31-bit integers (so within `2^-31` of `u_j`'s largest value), rounded
    /// once; the FMA loops round at each of their `p` additions. Not the same bits.
    public enum Products: Sendable { case automatic, fusedMultiplyAdd }

    /// Per image of a byte image set: the sum and the sum of squares of its stored
    /// bytes (exact integers) and which of its 16-pixel chunks are nonzero. They depend
    /// on the images alone, so the image set's `OuterPass` finds them once, when a pass
    /// first asks (`OuterPass.rowStatistics`), and keeps them as long as it keeps the
    /// images; every pass made from it (`init(pass:zeroPixels:)`) is given them, and the
    /// AVX-512 sweep of `m <= 16` support images copies them instead of reading every
    /// byte once more in each pass. The results are the same bits with or without them.
    public final class RowStatistics: Sendable {
        /// `Σ_k x_ik` per image (`count`).
        public let sums: [Double]
        /// `Σ_k x_ik²` per image (`count`).
        public let squares: [Double]
        /// The image set's chunk masks (`distill_outer_chunk_masks`, the ones its
        /// `OuterPass` skips zeros by, not a copy): `count x distill_outer_mask_words(features)`,
        /// bit `c % 64` of word `c / 64` of image `i` set when its pixels `16c ..< 16c + 16`
        /// are not all zero (the bits the fused pass would find itself).
        public let chunks: [UInt64]

        /// `data`'s sums (`distill_nk_row_statistics`, split over `threads`) beside its
        /// chunk masks `chunks`; nil for float pixels (the pass uses them for bytes only).
        /// `kernel`: `.portable` finds the sums without AVX-512 (the same values).
        init?(data: LabeledImages, threads: Int, kernel: OuterPass.Kernel = .automatic, chunks: [UInt64]) {
            guard case .bytes(let bytes) = data.pixels else { return nil }
            precondition(chunks.count == data.count * distill_outer_mask_words(data.features), "RowStatistics: chunk masks")
            let n = data.count, p = data.features
            let cKernel = kernel == .automatic ? DISTILL_KERNEL_AVX512 : DISTILL_KERNEL_PORTABLE
            let parts = Parallel.chunks(of: n, parts: max(1, threads))
            // Each thread's rows (written from the start of its arrays), concatenated in order.
            let found = Parallel.map(parts: parts.count) { part -> (sums: [Double], squares: [Double]) in
                let rows = parts[part]
                var sums = [Double](repeating: 0, count: rows.count), squares = sums
                if !rows.isEmpty {
                    bytes.withUnsafeBytes { b in
                    sums.withUnsafeMutableBufferPointer { s in
                    squares.withUnsafeMutableBufferPointer { q in
                        distill_nk_row_statistics(b.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) + rows.lowerBound * p },
                                                  p, cKernel, 0, rows.count, s.baseAddress, q.baseAddress)
                    }}}
                }
                return (sums, squares)
            }
            sums = found.flatMap(\.sums)
            squares = found.flatMap(\.squares)
            self.chunks = chunks
        }
    }

    public let data: LabeledImages
    public let threads: Int
    public let usesAVX512: Bool
    public let zeroPixels: ZeroPixels
    public let products: Products
    /// `data`'s row statistics that the AVX-512 kernel over byte pixels is given
    /// (nil: it finds them in each call).
    public let rowStatistics: RowStatistics?

    /// A pass over `data` whose kernel finds the row statistics in each call.
    public convenience init(data: LabeledImages, threads: Int, kernel: OuterPass.Kernel = .automatic,
                            zeroPixels: ZeroPixels = .automatic, products: Products = .automatic) {
        self.init(data: data, threads: threads, usesAVX512: kernel == .automatic && distill_outer_has_avx512() != 0,
                  zeroPixels: zeroPixels, products: products, rowStatistics: nil)
    }

    /// A pass over the training set `pass.data`, on its threads and kernel, given the
    /// set's row statistics (`pass.rowStatistics`: found once for the set, on the first
    /// such pass; the same bits as a pass that finds them in each call).
    public convenience init(pass: OuterPass, zeroPixels: ZeroPixels = .automatic, products: Products = .automatic) {
        self.init(data: pass.data, threads: pass.threads, usesAVX512: pass.usesAVX512, zeroPixels: zeroPixels,
                  products: products, rowStatistics: pass.rowStatistics)
    }

    private init(data: LabeledImages, threads: Int, usesAVX512: Bool, zeroPixels: ZeroPixels, products: Products,
                 rowStatistics: RowStatistics?) {
        self.data = data
        self.threads = max(1, threads)
        self.usesAVX512 = usesAVX512
        self.zeroPixels = zeroPixels
        self.products = products
        self.rowStatistics = rowStatistics
    }

    /// Multiply-adds of one pass with the gradient, for `count` support images
    /// (both products; the recursion not counted): `2 n m p`.
    public func multiplyAdds(count m: Int) -> Double { 2 * Double(data.count) * Double(m) * Double(data.features) }

    /// - Parameters:
    ///   - support: `U`, `count x features`, row-major, standardised.
    ///   - alpha: `count x classes`, row-major.
    ///   - mean, std: the standardisation of the pixels (as the model sees them, `stored · scale`).
    public func evaluate(support: [Double], count m: Int, alpha: [Double], architecture: NeuralKernelArchitecture,
                         mean: Double, std: Double, loss: Loss, gradient wantGradient: Bool) -> NeuralKernelPassResult {
        let data = self.data
        let p = data.features, c = data.classes, n = data.count
        precondition(support.count == m * p && alpha.count == m * c, "NeuralKernelPass: shapes")
        precondition((1...Self.maximumDepth).contains(architecture.depth), "NeuralKernelPass: depth")
        let ldm = distill_nk_ldm(m)
        let w = architecture.weightVariance, b = architecture.biasVariance
        let scale = Double(data.scale), dp = Double(p)
        var supportTransposed = [Float](repeating: 0, count: p * ldm)
        var columnOffset = [Double](repeating: 0, count: ldm)
        var supportQ = [Double](repeating: 0, count: architecture.depth * m)
        for j in 0..<m {
            var sum = 0.0, squares = 0.0
            for k in 0..<p {
                let u = support[j * p + k]
                supportTransposed[k * ldm + j] = Float(u)
                sum += u
                squares += u * u
            }
            columnOffset[j] = b - w * mean * sum / (dp * std)
            for (l, v) in architecture.variances(firstLayer: w * squares / dp + b).enumerated() { supportQ[l * m + j] = v }
        }
        let dotScale = w * scale / (dp * std)
        let rowSquare = w * scale * scale / (dp * std * std)
        let rowLinear = -2 * w * mean * scale / (dp * std * std)
        let rowConstant = w * mean * mean / (std * std) + b
        let (supportT, offset, q) = (supportTransposed, columnOffset, supportQ)
        // The row statistics, or empty arrays (passed as NULL: found in each call).
        let (rowSumsArray, rowSquaresArray, rowChunksArray) = (rowStatistics?.sums ?? [], rowStatistics?.squares ?? [],
                                                               rowStatistics?.chunks ?? [])
        let kernel = usesAVX512 ? DISTILL_KERNEL_AVX512 : DISTILL_KERNEL_PORTABLE
        let chunks = Parallel.chunks(of: n, parts: threads)
        let productsChoice: Int32 = products == .automatic ? DISTILL_NK_PRODUCTS_AUTO : DISTILL_NK_PRODUCTS_FMA
        let sparse: Int32 = switch zeroPixels {
        case .automatic: DISTILL_NK_SPARSE_AUTO
        case .dense: DISTILL_NK_SPARSE_OFF
        case .skipped: DISTILL_NK_SPARSE_ON
        }
        struct Partial: Sendable {
            var loss = 0.0, correct = 0, multiplyAdds = 0.0, usedAMX = false
            var dAlpha: [Double], dDot: [Double], dSum: [Double], dQ: [Double]
        }
        let parts = Parallel.map(parts: chunks.count) { part -> Partial in
            var dAlpha = [Double](repeating: 0, count: wantGradient ? m * c : 0)
            var dDot = [Double](repeating: 0, count: wantGradient ? m * p : 0)
            var dSum = [Double](repeating: 0, count: wantGradient ? m : 0)
            var dQ = [Double](repeating: 0, count: wantGradient ? m : 0)
            var lossSum = 0.0, correct = 0
            var options = distill_nk_options(sparse: sparse, multiply_adds: 0,
                                             products: productsChoice,
                                             used_amx: 0)
            // distill_nk_rows_with's status: 0, or -1 when its scratch memory could not be allocated.
            func run(_ pixels: UnsafeRawPointer?, _ kind: Int32) -> Int32 {
                supportT.withUnsafeBufferPointer { st in
                offset.withUnsafeBufferPointer { off in
                q.withUnsafeBufferPointer { qs in
                alpha.withUnsafeBufferPointer { a in
                data.labels.withUnsafeBufferPointer { labels in
                rowSumsArray.withUnsafeBufferPointer { rowSums in
                rowSquaresArray.withUnsafeBufferPointer { rowSquares in
                rowChunksArray.withUnsafeBufferPointer { rowChunks in
                    var problem = distill_nk_problem(
                        pixels: pixels, pixel_kind: kind, labels: labels.baseAddress,
                        features: p, classes: c, count: m, ldm: ldm, support_t: st.baseAddress,
                        dot_scale: dotScale, column_offset: off.baseAddress,
                        row_square: rowSquare, row_linear: rowLinear, row_constant: rowConstant,
                        support_q: qs.baseAddress, alpha: a.baseAddress, depth: Int32(architecture.depth),
                        kind: architecture.tangent ? DISTILL_NK_NTK : DISTILL_NK_NNGP,
                        loss: loss == .meanSquaredError ? DISTILL_NK_LOSS_MSE : DISTILL_NK_LOSS_CROSS_ENTROPY,
                        weight_variance: w, bias_variance: b, cone_epsilon: Self.coneEpsilon,
                        row_sums: rowSums.isEmpty ? nil : rowSums.baseAddress,
                        row_squares: rowSquares.isEmpty ? nil : rowSquares.baseAddress,
                        row_chunks: rowChunks.isEmpty ? nil : rowChunks.baseAddress)
                    return dAlpha.withUnsafeMutableBufferPointer { da in
                    dDot.withUnsafeMutableBufferPointer { dd in
                    dSum.withUnsafeMutableBufferPointer { ds in
                    dQ.withUnsafeMutableBufferPointer { dq in
                        distill_nk_rows_with(&problem, kernel, &options, chunks[part].lowerBound, chunks[part].upperBound,
                                        &lossSum, &correct,
                                        wantGradient ? da.baseAddress : nil, dd.baseAddress, ds.baseAddress, dq.baseAddress)
                    }}}}
                }}}}}}}}
            }
            let status: Int32
            switch data.pixels {
            case .bytes(let bytes): status = bytes.withUnsafeBytes { run($0.baseAddress, DISTILL_PIXELS_U8) }
            case .floats(let floats): status = floats.withUnsafeBytes { run($0.baseAddress, DISTILL_PIXELS_F32) }
            }
            return Partial(loss: status == 0 ? lossSum : .nan, correct: correct, multiplyAdds: options.multiply_adds,
                           usedAMX: options.used_amx != 0,
                           dAlpha: dAlpha, dDot: dDot, dSum: dSum, dQ: dQ)
        }
        var total = Partial(dAlpha: [Double](repeating: 0, count: wantGradient ? m * c : 0),
                            dDot: [Double](repeating: 0, count: wantGradient ? m * p : 0),
                            dSum: [Double](repeating: 0, count: wantGradient ? m : 0),
                            dQ: [Double](repeating: 0, count: wantGradient ? m : 0))
        for part in parts {   // in part order: deterministic
            total.loss += part.loss
            total.correct += part.correct
            total.multiplyAdds += part.multiplyAdds
            total.usedAMX = total.usedAMX || part.usedAMX
            for t in total.dAlpha.indices { total.dAlpha[t] += part.dAlpha[t] }
            for t in total.dDot.indices { total.dDot[t] += part.dDot[t] }
            for t in total.dSum.indices { total.dSum[t] += part.dSum[t]; total.dQ[t] += part.dQ[t] }
        }
        let invN = 1 / Double(max(1, n))
        var supportGradient = [Double](repeating: 0, count: wantGradient ? m * p : 0)
        if wantGradient {
            // ∂Σ_1/∂u_jk = w (scale x_ik - mean) / (p std); ∂q_1(u_j)/∂u_jk = 2 w u_jk / p.
            let a = w / (dp * std)
            for j in 0..<m {
                for k in 0..<p {
                    supportGradient[j * p + k] = invN * (a * (scale * total.dDot[j * p + k] - mean * total.dSum[j])
                                                         + 2 * w / dp * total.dQ[j] * support[j * p + k])
                }
            }
        }
        return NeuralKernelPassResult(loss: total.loss * invN, correct: total.correct,
                                      coefficientGradient: total.dAlpha.map { $0 * invN }, supportGradient: supportGradient,
                                      multiplyAdds: total.multiplyAdds, usedAMX: total.usedAMX)
    }
}

/// The machine's compute bound, measured: `distill_peak_fma` (12 independent
/// chains of 16-lane Float32 FMAs where AVX-512 exists) on `threads` threads at
/// once, for benchmarks to report a pass's rate as a ratio to a bound measured
/// in the same run rather than to a constant.
public enum PeakCompute {
    /// Floating-point operations per second (2 per FMA lane) of the loop on
    /// `threads` threads, each running `iterations` rounds; the median of `repetitions`.
    public static func measure(threads: Int, iterations: Int = 20_000_000, repetitions: Int = 5,
                               clock: () -> Double) -> Double {
        var rates: [Double] = []
        for _ in 0..<max(1, repetitions) {
            let start = clock()
            let flops = Parallel.map(parts: max(1, threads)) { _ -> Double in
                var sink: Float = 0
                let done = distill_peak_fma(iterations, &sink)
                return sink.isNaN ? 0 : done
            }.reduce(0, +)
            let seconds = clock() - start
            rates.append(seconds > 0 ? flops / seconds : 0)
        }
        return rates.sorted()[rates.count / 2]
    }
}
