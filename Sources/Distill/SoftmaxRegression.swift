import DistillNumerics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The inner problem: L2-regularised multinomial logistic regression, no bias,
/// trained on a small (synthetic) set of images with label distributions.
///
/// With images `S` (`m x p`), labels `T` (`m x C`, rows usually one-hot),
/// weights `W` (`p x C`) and `Z = S W`, `P = softmax(Z)` row by row:
///
///     g(W)  = (1/m) Σ_j [ logsumexp(z_j) - t_j · z_j ] + (λ/2) ‖W‖²
///     F(W)  = ∇g = (1/m) Sᵀ (P - T) + λ W
///     H[V]  = (1/m) Sᵀ Q(S V) + λ V,   Q_j(M) = p_j ⊙ m_j - p_j (p_j · m_j)
///
/// the same objective as JAXopt's `l2_multiclass_logreg`. H is symmetric
/// positive definite for λ > 0.
public struct SoftmaxRegression: Sendable {
    public let images: Matrix
    public let labels: Matrix
    public let l2: Double

    public init(images: Matrix, labels: Matrix, l2: Double) {
        precondition(images.rows == labels.rows, "SoftmaxRegression: images and labels differ in count")
        self.images = images
        self.labels = labels
        self.l2 = l2
    }

    public var features: Int { images.columns }
    public var classes: Int { labels.columns }
    public var count: Int { images.rows }

    /// Everything the objective, its gradient and its Hessian need at one `W`.
    public struct Evaluation: Sendable {
        public let weights: Matrix
        /// softmax(S W), `m x C`.
        public let probabilities: Matrix
        /// g(W).
        public let value: Double
        /// F(W) = ∇g(W), `p x C`.
        public let gradient: Matrix
    }

    /// Evaluates the objective, the softmax probabilities and the gradient at `w`.
    public func evaluate(at w: Matrix) -> Evaluation {
        let (probabilities, dataTerm) = softmaxCrossEntropy(logits: images.multiplied(by: w))
        let residual = probabilities.adding(labels, scaledBy: -1)
        let gradient = images.transposedMultiplied(by: residual).scaled(by: 1 / Double(count)).adding(w, scaledBy: l2)
        let value = dataTerm + 0.5 * l2 * w.dot(w)
        return Evaluation(weights: w, probabilities: probabilities, value: value, gradient: gradient)
    }

    /// The objective alone (for line searches).
    public func value(at w: Matrix) -> Double {
        softmaxCrossEntropy(logits: images.multiplied(by: w)).meanLoss + 0.5 * l2 * w.dot(w)
    }

    /// `Q(M)` for probabilities `P`: row j is `p_j ⊙ m_j - p_j (p_j · m_j)`, the
    /// softmax Jacobian of row j applied to `m_j`.
    public static func softmaxJacobianProduct(probabilities p: Matrix, _ m: Matrix) -> Matrix {
        var out = Matrix(zeros: m.rows, m.columns)
        for j in 0..<m.rows {
            var pm = 0.0
            for c in 0..<m.columns { pm += p[j, c] * m[j, c] }
            for c in 0..<m.columns { out[j, c] = p[j, c] * (m[j, c] - pm) }
        }
        return out
    }

    /// H[V] at the point whose probabilities are `p`.
    public func hessianProduct(probabilities p: Matrix, _ v: Matrix) -> Matrix {
        let q = Self.softmaxJacobianProduct(probabilities: p, images.multiplied(by: v))
        return images.transposedMultiplied(by: q).scaled(by: 1 / Double(count)).adding(v, scaledBy: l2)
    }

    /// Row-wise softmax of `logits` and the mean of `logsumexp(z_j) - t_j · z_j`.
    private func softmaxCrossEntropy(logits z: Matrix) -> (probabilities: Matrix, meanLoss: Double) {
        var p = Matrix(zeros: z.rows, z.columns)
        var total = 0.0
        for j in 0..<z.rows {
            var zmax = -Double.infinity
            for c in 0..<z.columns { zmax = max(zmax, z[j, c]) }
            var sum = 0.0
            for c in 0..<z.columns {
                let e = exp(z[j, c] - zmax)
                p[j, c] = e
                sum += e
            }
            let lse = zmax + log(sum)
            var tz = 0.0
            for c in 0..<z.columns {
                p[j, c] /= sum
                tz += labels[j, c] * z[j, c]
            }
            total += lse - tz
        }
        return (p, total / Double(z.rows))
    }
}
