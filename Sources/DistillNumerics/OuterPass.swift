import CDistillKernels
import DistillImages
import Synchronization

/// Loss, accuracy and weight-gradient of a linear softmax classifier over a whole
/// labelled image set: the "outer pass" of dataset distillation.
public struct OuterPassResult: Sendable {
    /// Mean cross-entropy over the images.
    public var loss: Double
    /// Number of images whose arg-max logit is their label.
    public var correct: Int
    /// Gradient of `loss` with respect to the weights, `features x classes`
    /// row-major; empty when it was not requested.
    public var gradient: [Double]

    public init(loss: Double, correct: Int, gradient: [Double]) {
        self.loss = loss
        self.correct = correct
        self.gradient = gradient
    }
}

/// Computes, for weights `W` (`features x classes`, row-major),
///
///     L = (1/n) sum_i [ logsumexp(x_i W) - x_i W[:, y_i] ]
///     G = (1/n) X^T (softmax(X W) - Y)
///
/// in one fused pass over the images: each block of rows is read once, and its
/// logits, softmax, loss, correct count and rank-C gradient update are computed
/// while it is in cache. The pixels stay in their stored form (bytes stay bytes);
/// the pixel scale is folded into the weights. The rows are split over `threads`
/// threads in fixed contiguous chunks and reduced in order, so the result is
/// deterministic for a thread count. Arithmetic is Float32 inside a block of rows,
/// accumulated in Double across blocks.
public final class OuterPass: Sendable {
    /// Which implementation of the kernel runs.
    public enum Kernel: Sendable {
        /// AVX-512 when the CPU has it, else the portable loops.
        case automatic
        /// Plain C loops that run on any CPU (slower; for checking and fallback).
        case portable
    }

    /// Whether the AVX-512 kernel leaves out byte images' all-zero 16-pixel chunks
    /// (the same results: outer_pass.c, "Sparse byte images"): where they are many
    /// (`automatic`), never, or always. Float pixels and the portable kernel are dense.
    public enum ZeroPixels: Sendable { case automatic, dense, skipped }

    public let data: LabeledImages
    public let threads: Int
    /// The kernel that actually runs (`.automatic` resolved against the CPU).
    public let usesAVX512: Bool
    public let zeroPixels: ZeroPixels
    /// Per image, which 16-pixel chunks of its bytes are nonzero (`distill_outer_chunk_masks`),
    /// found once here for the AVX-512 kernel: `count x distill_outer_mask_words(features)`
    /// (also under `.dense`, which does not read them: the NTK / NNGP pass's `rowStatistics`
    /// hold them). Empty for float pixels or the portable kernel.
    private let chunkMasks: [UInt64]
    /// `rowStatistics` once found.
    private let foundRowStatistics = Mutex<NeuralKernelPass.RowStatistics?>(nil)

    /// The NTK / NNGP fused pass's statistics of `data`'s images (`NeuralKernelPass.RowStatistics`,
    /// the chunk masks among them), for the passes made from this one
    /// (`NeuralKernelPass(pass:)`): found when first asked for (by whichever thread; any
    /// other waits for them), then the same object for as long as this pass lives. nil
    /// where the fused pass does not read them: float pixels, the portable kernel.
    public var rowStatistics: NeuralKernelPass.RowStatistics? {
        guard usesAVX512, case .bytes = data.pixels else { return nil }
        return foundRowStatistics.withLock { found in
            if let found { return found }
            found = NeuralKernelPass.RowStatistics(data: data, threads: threads, chunks: chunkMasks)
            return found
        }
    }

    public convenience init(data: LabeledImages, threads: Int) {
        self.init(data: data, threads: threads, kernel: .automatic)
    }

    public init(data: LabeledImages, threads: Int, kernel: Kernel, zeroPixels: ZeroPixels = .automatic) {
        self.data = data
        self.threads = max(1, threads)
        self.usesAVX512 = kernel == .automatic && distill_outer_has_avx512() != 0
        self.zeroPixels = zeroPixels
        var masks: [UInt64] = []
        if usesAVX512, case .bytes(let bytes) = data.pixels {
            // Each thread's rows (the pass's split), concatenated in order.
            let words = distill_outer_mask_words(data.features)
            let chunks = Parallel.chunks(of: data.count, parts: max(1, threads))
            let parts = Parallel.map(parts: chunks.count) { part -> [UInt64] in
                let rows = chunks[part]
                var partMasks = [UInt64](repeating: 0, count: data.count == 0 ? 0 : rows.count * words)
                bytes.withUnsafeBytes { b in
                    // Rows begin..<end of the part, written from the start of partMasks.
                    var problem = distill_outer_problem(
                        pixels: b.baseAddress.map { $0 + rows.lowerBound * data.features }, pixel_kind: DISTILL_PIXELS_U8,
                        labels: nil, features: data.features, classes: data.classes, weights_t: nil,
                        ldw: distill_outer_ldw(data.features))
                    partMasks.withUnsafeMutableBufferPointer { distill_outer_chunk_masks(&problem, 0, rows.count, $0.baseAddress) }
                }
                return partMasks
            }
            masks = parts.flatMap { $0 }
        }
        chunkMasks = masks
    }

    public func evaluate(weights: [Double], gradient wantGradient: Bool) -> OuterPassResult {
        evaluate(weights: weights, gradient: wantGradient, counting: false).result
    }

    /// The multiply-adds the pass with `weights` does (`distill_outer_rows_counted`):
    /// pixels < features, each image once, counted from the chunk masks the pass runs
    /// over, so below `denseMultiplyAdds` where it leaves out byte images' all-zero
    /// 16-pixel chunks. Runs the pass once.
    public func multiplyAdds(weights: [Double], gradient: Bool) -> Double {
        evaluate(weights: weights, gradient: gradient, counting: true).multiplyAdds
    }

    /// The multiply-adds of the dense pass: n p C for the logits, as many again for
    /// the gradient (n images, p pixels, C classes).
    public func denseMultiplyAdds(gradient: Bool) -> Double {
        Double(data.count) * Double(data.features) * Double(data.classes) * (gradient ? 2 : 1)
    }

    private func evaluate(weights: [Double], gradient wantGradient: Bool, counting: Bool) -> (result: OuterPassResult, multiplyAdds: Double) {
        let data = self.data
        let p = data.features, c = data.classes, n = data.count
        precondition(weights.count == p * c, "weights must be features x classes")
        let ldw = distill_outer_ldw(p)
        // W^T (classes x ldw, zero-padded), pixel scale folded in, Float32.
        let scale = Double(data.scale)
        let weightsT = [Float](unsafeUninitializedCapacity: c * ldw) { buffer, initialized in
            for j in 0..<c {
                for k in 0..<ldw { buffer[j * ldw + k] = k < p ? Float(weights[k * c + j] * scale) : 0 }
            }
            initialized = c * ldw
        }
        let kernel = usesAVX512 ? DISTILL_KERNEL_AVX512 : DISTILL_KERNEL_PORTABLE
        let zeros: Int32 = switch zeroPixels {
        case .automatic: DISTILL_OUTER_ZEROS_AUTO
        case .dense: DISTILL_OUTER_ZEROS_DENSE
        case .skipped: DISTILL_OUTER_ZEROS_SKIPPED
        }
        let chunks = Parallel.chunks(of: n, parts: threads)
        let masks = chunkMasks
        let parts = Parallel.map(parts: chunks.count) { part in
            OuterPass.evaluateRows(data: data, weightsT: weightsT, ldw: ldw, kernel: kernel, zeros: zeros, masks: masks,
                                   rows: chunks[part], wantGradient: wantGradient, counting: counting)
        }
        var loss = 0.0, correct = 0, multiplyAdds = 0.0
        var gradientT = [Double](repeating: 0, count: wantGradient ? c * ldw : 0)
        for part in parts {   // in part order: deterministic
            loss += part.lossSum
            correct += part.correct
            multiplyAdds += part.multiplyAdds
            for j in gradientT.indices { gradientT[j] += part.gradientT[j] }
        }
        var gradient = [Double](repeating: 0, count: wantGradient ? p * c : 0)
        if wantGradient {
            let scaleG = scale / Double(n)   // stored-pixel units -> model units, mean
            for k in 0..<p {
                for j in 0..<c { gradient[k * c + j] = gradientT[j * ldw + k] * scaleG }
            }
        }
        return (OuterPassResult(loss: loss / Double(n), correct: correct, gradient: gradient), multiplyAdds)
    }

    private struct Partial: Sendable {
        var lossSum: Double
        var correct: Int
        /// Sum over the rows of x_i (p_i - y_i)^T in stored-pixel units, classes x ldw.
        var gradientT: [Double]
        /// The multiply-adds done (0 unless counted).
        var multiplyAdds: Double
    }

    private static func evaluateRows(data: LabeledImages, weightsT: [Float], ldw: Int, kernel: Int32, zeros: Int32,
                                     masks: [UInt64], rows: Range<Int>, wantGradient: Bool, counting: Bool) -> Partial {
        var lossSum = 0.0, correct = 0, multiplyAdds = 0.0
        var gradientT = [Double](repeating: 0, count: wantGradient ? data.classes * ldw : 0)
        var scratch = [Float](repeating: 0, count: distill_outer_scratch_count(data.features, data.classes))
        func run(_ pixels: UnsafeRawPointer?, _ kind: Int32) {
            weightsT.withUnsafeBufferPointer { w in
                data.labels.withUnsafeBufferPointer { labels in
                    var problem = distill_outer_problem(
                        pixels: pixels, pixel_kind: kind, labels: labels.baseAddress,
                        features: data.features, classes: data.classes,
                        weights_t: w.baseAddress, ldw: ldw)
                    gradientT.withUnsafeMutableBufferPointer { g in
                        masks.withUnsafeBufferPointer { m in
                            withUnsafeMutablePointer(to: &multiplyAdds) { macs in
                                distill_outer_rows_counted(&problem, kernel, zeros, m.isEmpty ? nil : m.baseAddress,
                                                           rows.lowerBound, rows.upperBound, &scratch,
                                                           &lossSum, &correct, wantGradient ? g.baseAddress : nil,
                                                           counting ? macs : nil)
                            }
                        }
                    }
                }
            }
        }
        switch data.pixels {
        case .bytes(let b): b.withUnsafeBytes { run($0.baseAddress, DISTILL_PIXELS_U8) }
        case .floats(let f): f.withUnsafeBytes { run($0.baseAddress, DISTILL_PIXELS_F32) }
        }
        return Partial(lossSum: lossSum, correct: correct, gradientT: gradientT, multiplyAdds: multiplyAdds)
    }
}
