/// The outcome of a linear solve, with the evidence to trust it.
public struct LinearSolution: Sendable {
    /// The solution found.
    public var x: [Double]
    /// Iterations of the solver: matrix-vector products spent, about one each
    /// (for `CholeskySolver`, the `n` products that build the matrix).
    public var iterations: Int
    /// `‖b - A x‖` at the end, recomputed from the returned `x`.
    public var residualNorm: Double
    /// `‖b‖`, the scale the tolerance is relative to.
    public var rightHandSideNorm: Double
    /// Whether `residualNorm ≤ tolerance · ‖b‖` was reached.
    public var converged: Bool

    /// `residualNorm / ‖b‖` (0 when `b = 0`).
    public var relativeResidual: Double {
        rightHandSideNorm > 0 ? residualNorm / rightHandSideNorm : residualNorm
    }

    public init(x: [Double], iterations: Int, residualNorm: Double, rightHandSideNorm: Double, converged: Bool) {
        self.x = x
        self.iterations = iterations
        self.residualNorm = residualNorm
        self.rightHandSideNorm = rightHandSideNorm
        self.converged = converged
    }

    /// Certifies `x` with one more product: the residual `‖b - A x‖` is the true
    /// one, not a solver's recurrence estimate, and `converged` is
    /// `‖b - A x‖ ≤ tolerance · ‖b‖` (false for a non-finite residual).
    init(certifying x: [Double], iterations: Int, tolerance: Double,
         _ matvec: ([Double]) -> [Double], _ b: [Double]) {
        let bNorm = norm(b)
        let residual = norm(difference(b, matvec(x)))
        self.init(x: x, iterations: iterations, residualNorm: residual, rightHandSideNorm: bNorm,
                  converged: residual <= max(tolerance, 0) * bNorm)
    }
}

/// Solves `A x = b` given only `v ↦ A v`.
///
/// One interface for every solver, so that the implicit derivative does not
/// depend on how the linear system is solved. Which solver suits which system:
///
/// | solver | systems | cost and memory |
/// | --- | --- | --- |
/// | `ConjugateGradient` | symmetric positive definite (the Hessian of a strongly convex inner objective: softmax, ridge and kernel ridge regression) | one product per iteration, O(n) memory |
/// | `CholeskySolver` | symmetric positive definite and small (n up to a few thousand) | exactly n products to build A, O(n²) memory, O(n³/3) flops; direct, insensitive to conditioning up to round-off |
/// | `GMRES` | any invertible system: non-symmetric (a fixed point `T(x) - x`), symmetric indefinite | one product per iteration, O(restart · n) memory; converges slowly when restarted on hard systems |
///
/// Every solver certifies its answer with the true residual `‖b - A x‖`
/// recomputed from the returned `x`; a solver used on a system it does not
/// suit reports `converged == false` rather than a wrong answer.
public protocol LinearSolver: Sendable {
    /// - Parameters:
    ///   - matvec: the linear map `A`.
    ///   - b: the right-hand side.
    ///   - initialGuess: a warm start (for example the previous solve's answer), or nil for 0.
    func solve(_ matvec: ([Double]) -> [Double], _ b: [Double], initialGuess: [Double]?) -> LinearSolution
}
