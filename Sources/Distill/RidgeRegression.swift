import DistillImages
import DistillNumerics
import ImplicitDiff

/// Ridge regression as an inner model: least squares from the (synthetic) images
/// to their targets (one-hot labels by default), no bias.
///
/// With images `S` (`m x p`), targets `T` (`m x C`) and weights `W` (`p x C`):
///
///     g(W)  = (1/2m) ‖S W - T‖² + (λ/2) ‖W‖²
///     F(W)  = ∇g = (1/m) Sᵀ (S W - T) + λ W
///     H[V]  = (1/m) Sᵀ S V + λ V                   (symmetric positive definite for λ > 0)
///     W*    = (SᵀS/m + λ I)⁻¹ SᵀT/m = Sᵀ (S Sᵀ + λ m I)⁻¹ T
///
/// The last equality is the push-through identity; `solution()` uses it, so the
/// closed form costs an `m x m` Cholesky factorisation (m is tiny) instead of a
/// `p x p` one. The predictions `X W` are linear in `W`, like softmax
/// regression's logits, so the same outer loss (softmax cross-entropy of `X W`
/// on the training set, `OuterPass`) applies unchanged.
public struct RidgeRegression: Sendable {
    public let images: Matrix
    public let labels: Matrix
    public let l2: Double

    public init(images: Matrix, labels: Matrix, l2: Double) {
        precondition(images.rows == labels.rows, "RidgeRegression: images and labels differ in count")
        self.images = images
        self.labels = labels
        self.l2 = l2
    }

    public var features: Int { images.columns }
    public var classes: Int { labels.columns }
    public var count: Int { images.rows }

    /// `S W - T`.
    public func residual(at w: Matrix) -> Matrix {
        images.multiplied(by: w).adding(labels, scaledBy: -1)
    }

    /// g(W).
    public func value(at w: Matrix) -> Double {
        let r = residual(at: w)
        return 0.5 * r.dot(r) / Double(count) + 0.5 * l2 * w.dot(w)
    }

    /// F(W) = (1/m) Sᵀ (S W - T) + λ W.
    public func gradient(at w: Matrix) -> Matrix {
        images.transposedMultiplied(by: residual(at: w)).scaled(by: 1 / Double(count)).adding(w, scaledBy: l2)
    }

    /// H[V] = (1/m) Sᵀ S V + λ V (independent of W).
    public func hessianProduct(_ v: Matrix) -> Matrix {
        images.transposedMultiplied(by: images.multiplied(by: v)).scaled(by: 1 / Double(count)).adding(v, scaledBy: l2)
    }

    /// The closed-form minimiser `W* = Sᵀ (S Sᵀ + λ m I)⁻¹ T`, or nil when
    /// `S Sᵀ + λ m I` is not numerically positive definite (λ ≤ 0 with
    /// linearly dependent images, or non-finite input).
    public func solution() -> Matrix? {
        var gram = images.multipliedTransposed(by: images)
        for j in 0..<count { gram[j, j] += l2 * Double(count) }
        guard let factor = CholeskyFactorization(symmetric: gram.values, dimension: count) else { return nil }
        let dual = Matrix(rows: count, columns: classes, values: factor.solve(rowMajor: labels.values, columns: classes))
        return images.transposedMultiplied(by: dual)
    }
}

/// The optimality condition of `RidgeRegression` at a solution `W*`:
///
///     F(W, S, T, λ) = (1/m) Sᵀ (S W - T) + λ W = 0.
///
/// Its solution Jacobian is the Hessian `(1/m) SᵀS + λ I` (symmetric positive
/// definite); with `R = S W - T`, its parameters-VJP with `U` (`p x C`) is
///
///     ∂⟨U, F⟩/∂S = (1/m) [ R Uᵀ + S U Wᵀ ]
///     ∂⟨U, F⟩/∂T = -(1/m) S U
///     ∂⟨U, F⟩/∂λ = ⟨W, U⟩
///
/// and its parameters-JVP along `(Ṡ, Ṫ, λ̇)` is
///
///     Ḟ = (1/m) [ Ṡᵀ R + Sᵀ (Ṡ W - Ṫ) ] + λ̇ W.
///
/// (Softmax regression's condition with `P = S W` and `Q` the identity.)
public struct RidgeRegressionCondition: RootCondition {
    public let problem: RidgeRegression
    public let weights: Matrix

    public init(problem: RidgeRegression, weights: Matrix) {
        precondition(weights.rows == problem.features && weights.columns == problem.classes,
                     "RidgeRegressionCondition: weights must be features x classes")
        self.problem = problem
        self.weights = weights
    }

    public var dimension: Int { problem.features * problem.classes }
    public var isSymmetric: Bool { true }

    public func solutionVJP(_ u: [Double]) -> [Double] { problem.hessianProduct(asWeights(u)).values }

    public func solutionJVP(_ v: [Double]) -> [Double] { solutionVJP(v) }

    public func parametersVJP(_ u: [Double]) -> SyntheticSetCotangent {
        let u = asWeights(u)
        let m = Double(problem.count)
        let su = problem.images.multiplied(by: u)
        let images = problem.residual(at: weights).multipliedTransposed(by: u)
            .adding(su.multipliedTransposed(by: weights))
            .scaled(by: 1 / m)
        return SyntheticSetCotangent(images: images, labels: su.scaled(by: -1 / m), l2: weights.dot(u))
    }

    public func parametersJVP(_ tangent: SyntheticSetTangent) -> [Double] {
        let m = Double(problem.count)
        let change = tangent.images.multiplied(by: weights).adding(tangent.labels, scaledBy: -1)
        return tangent.images.transposedMultiplied(by: problem.residual(at: weights))
            .adding(problem.images.transposedMultiplied(by: change))
            .scaled(by: 1 / m)
            .adding(weights, scaledBy: tangent.l2)
            .values
    }

    private func asWeights(_ v: [Double]) -> Matrix {
        Matrix(rows: problem.features, columns: problem.classes, values: v)
    }
}

extension RidgeRegression {
    /// Ridge regression on a whole labelled set with one-hot labels, in the weights'
    /// space: `W = (XᵀX/n + λ I)⁻¹ XᵀY/n` (`p x C`), or nil when the system is not
    /// numerically positive definite. `XᵀX` is accumulated over blocks of 4,096 rows
    /// (`p²` Doubles of memory, not `n p`).
    public static func fullDataSolution(_ data: LabeledImages, l2: Double) -> Matrix? {
        let n = data.count, p = data.features, c = data.classes
        guard n > 0 else { return nil }
        var gram = Matrix(zeros: p, p), moment = Matrix(zeros: p, c)
        var start = 0
        while start < n {
            let rows = min(4096, n - start)
            var block = Matrix(zeros: rows, p)
            var labels = Matrix(zeros: rows, c)
            for r in 0..<rows {
                let image = data.image(start + r)
                for k in 0..<p { block.values[r * p + k] = image[k] }
                labels[r, Int(data.labels[start + r])] = 1
            }
            gram = gram.adding(block.transposedMultiplied(by: block))
            moment = moment.adding(block.transposedMultiplied(by: labels))
            start += rows
        }
        for k in 0..<p { gram[k, k] += l2 * Double(n) }
        guard let factor = CholeskyFactorization(symmetric: gram.values, dimension: p) else { return nil }
        return Matrix(rows: p, columns: c, values: factor.solve(rowMajor: moment.values, columns: c))
    }
}
