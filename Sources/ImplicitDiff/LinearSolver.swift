/// The outcome of an iterative linear solve, with the evidence to trust it.
public struct LinearSolution: Sendable {
    /// The solution found.
    public var x: [Double]
    /// Iterations of the solver (about one matrix-vector product each).
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
}

/// Solves `A x = b` given only `v ↦ A v`.
public protocol LinearSolver: Sendable {
    /// - Parameters:
    ///   - matvec: the linear map `A`.
    ///   - b: the right-hand side.
    ///   - initialGuess: a warm start (for example the previous solve's answer), or nil for 0.
    func solve(_ matvec: ([Double]) -> [Double], _ b: [Double], initialGuess: [Double]?) -> LinearSolution
}
