import DistillImages
import DistillNumerics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The linear softmax outer pass entirely in Double, for checking derivatives:
///
///     L = (1/n) Σ_i [ logsumexp(x_i W) - x_i W[:, y_i] ]
///     G = (1/n) Xᵀ (softmax(X W) - Y)
///
/// The same quantities as `OuterPass` (whose arithmetic is Float32 inside blocks
/// of rows, relative error about 1e-7), with round-off near 1e-16 relative, so
/// that central finite differences of `L` can use a small step. Plain loops,
/// rows split over `threads` contiguous chunks and reduced in order; about 3 to
/// 5 times slower than the fused pass.
public enum ExactOuterPass {
    public static func evaluate(weights: Matrix, on data: LabeledImages, threads: Int, gradient: Bool) -> OuterPassResult {
        let p = data.features, c = data.classes, n = data.count
        precondition(weights.rows == p && weights.columns == c, "weights must be features x classes")
        let w = weights.values
        let chunks = Parallel.chunks(of: n, parts: max(1, threads))
        let parts = Parallel.map(parts: chunks.count) { part in
            var loss = 0.0, correct = 0
            var g = [Double](repeating: 0, count: gradient ? p * c : 0)
            var z = [Double](repeating: 0, count: c)
            for i in chunks[part] {
                let x = data.image(i)
                for j in 0..<c { z[j] = 0 }
                for k in 0..<p where x[k] != 0 {
                    for j in 0..<c { z[j] += x[k] * w[k * c + j] }
                }
                var zmax = z[0], arg = 0
                for j in 1..<max(1, c) where z[j] > zmax { zmax = z[j]; arg = j }
                let label = Int(data.labels[i])
                if arg == label { correct += 1 }
                var sum = 0.0
                for j in 0..<c { sum += exp(z[j] - zmax) }
                loss += zmax + log(sum) - z[label]
                guard gradient else { continue }
                for j in 0..<c { z[j] = exp(z[j] - zmax) / sum - (j == label ? 1 : 0) }
                for k in 0..<p where x[k] != 0 {
                    for j in 0..<c { g[k * c + j] += x[k] * z[j] }
                }
            }
            return OuterPassResult(loss: loss, correct: correct, gradient: g)
        }
        var loss = 0.0, correct = 0
        var g = [Double](repeating: 0, count: gradient ? p * c : 0)
        for part in parts {
            loss += part.loss
            correct += part.correct
            for k in g.indices { g[k] += part.gradient[k] }
        }
        let scale = 1 / Double(max(1, n))
        return OuterPassResult(loss: loss * scale, correct: correct, gradient: g.map { $0 * scale })
    }
}
