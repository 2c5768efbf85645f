#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
}

/// Computes, for weights `W` (`features x classes`, row-major),
///
///     L = (1/n) sum_i [ logsumexp(x_i W) - x_i W[:, y_i] ]
///     G = (1/n) X^T (softmax(X W) - Y)
///
/// in one pass over the images, split over `threads` threads in fixed contiguous
/// chunks and reduced in order, so the result is deterministic for a thread count.
/// Arithmetic is Float32 inside a block of rows, accumulated in Double across blocks.
public final class OuterPass: Sendable {
    public let data: LabeledImages
    public let threads: Int

    public init(data: LabeledImages, threads: Int) {
        self.data = data
        self.threads = max(1, threads)
    }

    public func evaluate(weights: [Double], gradient wantGradient: Bool) -> OuterPassResult {
        let data = self.data
        let p = data.features, c = data.classes, n = data.count
        precondition(weights.count == p * c, "weights must be features x classes")
        let w = weights.map { Float($0) * data.scale }   // fold the pixel scale into W
        let chunks = Parallel.chunks(of: n, parts: threads)
        let results = Parallel.map(parts: chunks.count) { part in
            OuterPass.evaluateRows(data: data, w: w, rows: chunks[part], wantGradient: wantGradient)
        }
        var total = OuterPassResult(loss: 0, correct: 0, gradient: wantGradient ? [Double](repeating: 0, count: p * c) : [])
        for part in results.indices {
            total.loss += results[part].loss
            total.correct += results[part].correct
            if wantGradient { for j in 0..<(p * c) { total.gradient[j] += results[part].gradient[j] } }
        }
        let scaleG = Double(data.scale) / Double(n)
        total.loss /= Double(n)
        if wantGradient { for j in 0..<(p * c) { total.gradient[j] *= scaleG } }
        return total
    }

    /// Sums (not means) over `rows`; the gradient is in stored-pixel units.
    private static func evaluateRows(data: LabeledImages, w: [Float], rows: Range<Int>, wantGradient: Bool) -> OuterPassResult {
        let p = data.features, c = data.classes
        var loss = 0.0, correct = 0
        var g = [Double](repeating: 0, count: wantGradient ? p * c : 0)
        var gBlock = [Float](repeating: 0, count: wantGradient ? p * c : 0)
        var z = [Float](repeating: 0, count: c)
        var x = [Float](repeating: 0, count: p)
        let block = 256
        var start = rows.lowerBound
        while start < rows.upperBound {
            let end = min(rows.upperBound, start + block)
            for i in start..<end {
                switch data.pixels {
                case .bytes(let b): for k in 0..<p { x[k] = Float(b[i * p + k]) }
                case .floats(let f): for k in 0..<p { x[k] = f[i * p + k] }
                }
                for j in 0..<c { z[j] = 0 }
                for k in 0..<p where x[k] != 0 {
                    let xk = x[k]
                    for j in 0..<c { z[j] += xk * w[k * c + j] }
                }
                var zmax = z[0], arg = 0
                for j in 1..<c where z[j] > zmax { zmax = z[j]; arg = j }
                let label = Int(data.labels[i])
                let margin = z[label] - zmax
                var sum: Float = 0
                for j in 0..<c { z[j] = exp(z[j] - zmax); sum += z[j] }
                if arg == label { correct += 1 }
                loss += Double(log(sum)) - Double(margin)
                if wantGradient {
                    for j in 0..<c { z[j] /= sum }
                    z[label] -= 1
                    for k in 0..<p where x[k] != 0 {
                        let xk = x[k]
                        for j in 0..<c { gBlock[k * c + j] += xk * z[j] }
                    }
                }
            }
            if wantGradient {
                for j in 0..<(p * c) { g[j] += Double(gBlock[j]); gBlock[j] = 0 }
            }
            start = end
        }
        return OuterPassResult(loss: loss, correct: correct, gradient: g)
    }
}
