import DistillNumerics
import ImplicitDiff

/// Cotangents on everything that defines the inner problem: the synthetic
/// images `S`, their labels `T` and the L2 strength `λ`.
///
/// The same triple serves as a tangent (a direction `(Ṡ, Ṫ, λ̇)` for `rootJVP`):
/// see `SyntheticSetTangent`.
public struct SyntheticSetCotangent: Sendable {
    public var images: Matrix
    public var labels: Matrix
    public var l2: Double

    public init(images: Matrix, labels: Matrix, l2: Double) {
        self.images = images
        self.labels = labels
        self.l2 = l2
    }
}

/// A direction `(Ṡ, Ṫ, λ̇)` in the synthetic images, labels and L2 strength:
/// the same shapes as the cotangent.
public typealias SyntheticSetTangent = SyntheticSetCotangent

/// The optimality condition of `SoftmaxRegression` at its solution `W*`:
///
///     F(W, S, T, λ) = (1/m) Sᵀ (P - T) + λ W = 0.
///
/// Its solution Jacobian is the Hessian (symmetric positive definite); its
/// parameters-VJP with a vector `U` (`p x C`) is
///
///     ∂⟨U, F⟩/∂S = (1/m) [ (P - T) Uᵀ + Q(S U) Wᵀ ]
///     ∂⟨U, F⟩/∂T = -(1/m) S U
///     ∂⟨U, F⟩/∂λ = ⟨W, U⟩
///
/// and its parameters-JVP along a direction `(Ṡ, Ṫ, λ̇)` is
///
///     Ḟ = (1/m) [ Ṡᵀ (P - T) + Sᵀ (Q(Ṡ W) - Ṫ) ] + λ̇ W
///
/// (the change of `P = softmax(S W)` is `Q(Ṡ W)`).
public struct SoftmaxRegressionCondition: RootCondition {
    public let problem: SoftmaxRegression
    public let solution: SoftmaxRegression.Evaluation

    public init(problem: SoftmaxRegression, solution: SoftmaxRegression.Evaluation) {
        self.problem = problem
        self.solution = solution
    }

    public var dimension: Int { problem.features * problem.classes }
    public var isSymmetric: Bool { true }

    public func solutionVJP(_ u: [Double]) -> [Double] {
        problem.hessianProduct(probabilities: solution.probabilities, asWeights(u)).values
    }

    /// `A v = H[v]`: the Hessian is symmetric, so this is `solutionVJP`.
    public func solutionJVP(_ v: [Double]) -> [Double] { solutionVJP(v) }

    public func parametersVJP(_ u: [Double]) -> SyntheticSetCotangent {
        let u = asWeights(u)
        let m = Double(problem.count)
        let su = problem.images.multiplied(by: u)
        let residual = solution.probabilities.adding(problem.labels, scaledBy: -1)
        let q = SoftmaxRegression.softmaxJacobianProduct(probabilities: solution.probabilities, su)
        // (1/m) (P - T) Uᵀ + (1/m) Q Wᵀ in one sweep over the m x p result.
        let images = residual.multipliedTransposed(by: u, scaledBy: 1 / m, adding: q,
                                                   multipliedTransposed: solution.weights, scaledBy: 1 / m,
                                                   threads: problem.threads)
        return SyntheticSetCotangent(images: images, labels: su.scaled(by: -1 / m), l2: solution.weights.dot(u))
    }

    public func parametersJVP(_ tangent: SyntheticSetTangent) -> [Double] {
        let m = Double(problem.count)
        let w = solution.weights
        let residual = solution.probabilities.adding(problem.labels, scaledBy: -1)
        let q = SoftmaxRegression.softmaxJacobianProduct(probabilities: solution.probabilities,
                                                          tangent.images.multiplied(by: w))
        return tangent.images.transposedMultiplied(by: residual)
            .adding(problem.images.transposedMultiplied(by: q.adding(tangent.labels, scaledBy: -1)))
            .scaled(by: 1 / m)
            .adding(w, scaledBy: tangent.l2)
            .values
    }

    private func asWeights(_ v: [Double]) -> Matrix {
        Matrix(rows: problem.features, columns: problem.classes, values: v)
    }
}
