import DistillNumerics
import ImplicitDiff

/// The implicit gradient of an outer loss `L(W*(S, T, λ))` with respect to the
/// synthetic images, labels and L2 strength, and how its linear solve went.
public struct Hypergradient: Sendable {
    /// dL/dS, dL/dT and dL/dλ.
    public let cotangent: SyntheticSetCotangent
    /// The solution `v` of `H v = ∂L/∂W` (a warm start for the next solve).
    public let adjoint: [Double]
    /// Iterations and residual of the conjugate-gradient solve.
    public let solve: LinearSolution

    /// Applies the implicit function theorem at the inner solution:
    /// solves `H v = G` (G = ∂L/∂W at W*) with `solver`, then
    ///
    ///     dL/dS = -(1/m) [ (P - T) vᵀ + Q(S v) W*ᵀ ],  dL/dT = (1/m) S v,  dL/dλ = -⟨W*, v⟩.
    public init(problem: SoftmaxRegression, solution: InnerSolution, outerGradient: Matrix,
                solver: some LinearSolver, initialGuess: [Double]? = nil) {
        let condition = SoftmaxRegressionCondition(problem: problem, solution: solution.evaluation)
        let result = rootVJP(condition, cotangent: outerGradient.values, solver: solver, initialGuess: initialGuess)
        cotangent = result.cotangent
        adjoint = result.adjoint
        solve = result.solve
    }
}
