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
///
/// Its Gram matrix `S Sᵀ` and its condition's parameters-VJP
/// (`SoftmaxRegressionCondition`) split their rows over `threads`, the same bits
/// for any thread count.
public struct SoftmaxRegression: Sendable {
    public let images: Matrix
    public let labels: Matrix
    public let l2: Double
    /// Threads of `gram` and of the parameters-VJP (at least 1).
    public let threads: Int

    public init(images: Matrix, labels: Matrix, l2: Double, threads: Int = 1) {
        precondition(images.rows == labels.rows, "SoftmaxRegression: images and labels differ in count")
        self.images = images
        self.labels = labels
        self.l2 = l2
        self.threads = max(1, threads)
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
        let gradient = gradient(residual: probabilities.adding(labels, scaledBy: -1), at: w)
        let value = dataTerm + 0.5 * l2 * w.dot(w)
        return Evaluation(weights: w, probabilities: probabilities, value: value, gradient: gradient)
    }

    /// `‖F(0)‖`, the scale of the problem, with one product: at `W = 0` every
    /// row of `P` is uniform, so `F(0) = (1/m) Sᵀ (1/C - T)`. The same arithmetic
    /// as `evaluate(at: 0).gradient.norm`.
    public var gradientNormAtZero: Double {
        let uniform = Matrix(rows: count, columns: classes,
                             values: [Double](repeating: 1 / Double(classes), count: count * classes))
        let zero = Matrix(zeros: features, classes)
        return gradient(residual: uniform.adding(labels, scaledBy: -1), at: zero).norm
    }

    /// `F(W) = (1/m) Sᵀ (P - T) + λ W` from the residual `P - T`.
    private func gradient(residual: Matrix, at w: Matrix) -> Matrix {
        images.transposedMultiplied(by: residual).scaled(by: 1 / Double(count), adding: w, scaledBy: l2)
    }

    /// `S Sᵀ` (`m x m`), the bits of `images.multipliedTransposed(by: images)` for
    /// about half the work (its lower triangle, rows over `threads`).
    public var gram: Matrix { images.multipliedBySelfTransposed(threads: threads) }

    /// The objective alone (for line searches).
    public func value(at w: Matrix) -> Double {
        softmaxCrossEntropy(logits: images.multiplied(by: w)).meanLoss + 0.5 * l2 * w.dot(w)
    }

    /// `Q(M)` for probabilities `P`: row j is `p_j ⊙ m_j - p_j (p_j · m_j)`, the
    /// softmax Jacobian of row j applied to `m_j`.
    public static func softmaxJacobianProduct(probabilities p: Matrix, _ m: Matrix) -> Matrix {
        precondition(p.rows == m.rows && p.columns == m.columns, "softmaxJacobianProduct: shapes differ")
        let (rows, columns) = (m.rows, m.columns)
        let out = [Double](unsafeUninitializedCapacity: rows * columns) { out, initialized in
            p.values.withUnsafeBufferPointer { p in
                m.values.withUnsafeBufferPointer { m in
                    for j in 0..<rows {
                        let row = flatRow(j, columns)
                        var pm = 0.0
                        for c in row { pm += p[c] * m[c] }
                        for c in row { out[c] = p[c] * (m[c] - pm) }
                    }
                }
            }
            initialized = rows * columns
        }
        return Matrix(rows: rows, columns: columns, values: out)
    }

    /// H[V] at the point whose probabilities are `p`.
    public func hessianProduct(probabilities p: Matrix, _ v: Matrix) -> Matrix {
        let q = Self.softmaxJacobianProduct(probabilities: p, images.multiplied(by: v))
        return images.transposedMultiplied(by: q).scaled(by: 1 / Double(count), adding: v, scaledBy: l2)
    }

    /// Row-wise softmax of `logits` and the mean of `logsumexp(z_j) - t_j · z_j`.
    /// Whether Hessian systems are cheaper in the images' space (`LogisticHessianSolver`):
    /// its products cost `m²C` against `2mpC`, but GMRES takes more iterations than
    /// CG, so it pays for few images only. Measured on MNIST: faster at 100 images,
    /// slower at 500.
    public var prefersImageSpaceSolves: Bool { count * 4 <= features }

    /// `softmax(S W)`, row by row.
    public func probabilities(at w: Matrix) -> Matrix {
        softmaxCrossEntropy(logits: images.multiplied(by: w)).probabilities
    }

    private func softmaxCrossEntropy(logits z: Matrix) -> (probabilities: Matrix, meanLoss: Double) {
        let (rows, columns) = (z.rows, z.columns)
        var total = 0.0
        let p = [Double](unsafeUninitializedCapacity: rows * columns) { p, initialized in
            z.values.withUnsafeBufferPointer { z in
                labels.values.withUnsafeBufferPointer { t in
                    for j in 0..<rows {
                        let row = flatRow(j, columns)
                        var zmax = -Double.infinity
                        for c in row { zmax = max(zmax, z[c]) }
                        var sum = 0.0
                        for c in row {
                            let e = exp(z[c] - zmax)
                            p[c] = e
                            sum += e
                        }
                        let lse = zmax + log(sum)
                        var tz = 0.0
                        for c in row {
                            p[c] /= sum
                            tz += t[c] * z[c]
                        }
                        total += lse - tz
                    }
                }
            }
            initialized = rows * columns
        }
        return (Matrix(rows: rows, columns: columns, values: p), total / Double(rows))
    }
}

/// The flat indices of row `j` of a row-major matrix with `columns` columns.
@inline(__always)
private func flatRow(_ j: Int, _ columns: Int) -> Range<Int> { (j * columns)..<((j + 1) * columns) }
