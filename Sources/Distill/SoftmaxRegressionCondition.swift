import DistillNumerics
import ImplicitDiff

/// Cotangents on everything that defines the inner problem: the synthetic
/// images `S`, their labels `T` and the L2 strength `λ`.
public struct SyntheticSetCotangent: Sendable {
    public var images: Matrix
    public var labels: Matrix
    public var l2: Double
}

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

    public func parametersVJP(_ u: [Double]) -> SyntheticSetCotangent {
        let u = asWeights(u)
        let m = Double(problem.count)
        let su = problem.images.multiplied(by: u)
        let residual = solution.probabilities.adding(problem.labels, scaledBy: -1)
        let q = SoftmaxRegression.softmaxJacobianProduct(probabilities: solution.probabilities, su)
        let images = residual.multipliedTransposed(by: u)
            .scaled(by: 1 / m, adding: q.multipliedTransposed(by: solution.weights), scaledBy: 1 / m)
        return SyntheticSetCotangent(images: images, labels: su.scaled(by: -1 / m), l2: solution.weights.dot(u))
    }

    private func asWeights(_ v: [Double]) -> Matrix {
        Matrix(rows: problem.features, columns: problem.classes, values: v)
    }
}
