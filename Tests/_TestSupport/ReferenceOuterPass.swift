import DistillImages
import DistillNumerics
import Foundation

/// The outer pass written as plainly as possible, entirely in Double: the
/// reference the fused kernels are tested against.
///
///     L = (1/n) sum_i [ logsumexp(x_i W) - x_i W[:, y_i] ]
///     G = (1/n) X^T (softmax(X W) - Y)
///
/// `correct` counts the rows whose first arg-max logit is the label.
public func referenceOuterPass(data: LabeledImages, weights: [Double]) -> OuterPassResult {
    let n = data.count, p = data.features, c = data.classes
    precondition(weights.count == p * c, "weights must be features x classes")
    var loss = 0.0, correct = 0
    var gradient = [Double](repeating: 0, count: p * c)
    var z = [Double](repeating: 0, count: c)
    for i in 0..<n {
        let x = data.image(i)
        for j in 0..<c {
            var s = 0.0
            for k in 0..<p { s += x[k] * weights[k * c + j] }
            z[j] = s
        }
        var zmax = z[0], arg = 0
        for j in 1..<c where z[j] > zmax { zmax = z[j]; arg = j }
        let label = Int(data.labels[i])
        if arg == label { correct += 1 }
        var sum = 0.0
        for j in 0..<c { sum += exp(z[j] - zmax) }
        loss += log(sum) + zmax - z[label]
        for j in 0..<c {
            let d = exp(z[j] - zmax) / sum - (j == label ? 1 : 0)
            for k in 0..<p { gradient[k * c + j] += x[k] * d }
        }
    }
    return OuterPassResult(loss: loss / Double(n), correct: correct,
                           gradient: gradient.map { $0 / Double(n) })
}
