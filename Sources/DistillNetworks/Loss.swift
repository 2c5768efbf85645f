/// The training loss on a batch's logits, averaged over the batch's images.
public enum NetworkLoss: String, Sendable, Codable, CaseIterable {
    /// `-Σ_k t_k log softmax(z)_k` per image: with one-hot targets PyTorch's
    /// `CrossEntropyLoss`; with soft targets the soft cross-entropy.
    case crossEntropy = "cross-entropy"
    /// `½ ‖z - t‖²` per image: regression on the label rows, as KIP and FRePo train.
    case meanSquaredError = "mean-squared-error"

    /// Writes `∂L/∂z` for `count` rows of `logits` against `targets` (both
    /// `count x classes`), where `L` is the loss summed over these rows divided by
    /// `batch` (the whole batch's size, so that chunks of one batch add up).
    /// Returns the summed (undivided) loss of these rows.
    @discardableResult
    func gradient<S: NetworkScalar>(logits z: UnsafePointer<S>, targets t: UnsafePointer<S>, count: Int, classes: Int,
                                    batch: Int, into dz: UnsafeMutablePointer<S>) -> Double {
        var total = 0.0
        let inverse = 1 / S(batch)
        for i in 0..<count {
            let row = z + i * classes, target = t + i * classes, out = dz + i * classes
            switch self {
            case .crossEntropy:
                var top = row[0]
                for k in 1..<classes where row[k] > top { top = row[k] }
                var sum: S = 0
                for k in 0..<classes { out[k] = S.exponential(row[k] - top); sum += out[k] }
                let logSum = S.logarithm(sum) + top
                var mass: S = 0
                for k in 0..<classes { mass += target[k] }
                for k in 0..<classes {
                    total -= Double(target[k]) * Double(row[k] - logSum)
                    out[k] = (mass * out[k] / sum - target[k]) * inverse
                }
            case .meanSquaredError:
                for k in 0..<classes {
                    let d = row[k] - target[k]
                    total += 0.5 * Double(d * d)
                    out[k] = d * inverse
                }
            }
        }
        return total
    }
}
