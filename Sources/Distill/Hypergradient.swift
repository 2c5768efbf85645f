import DistillNumerics
import ImplicitDiff

/// The implicit gradient of an outer loss `L(W*(S, T, λ))` with respect to the
/// synthetic images, labels and L2 strength, and how its linear solve went.
public struct Hypergradient: Sendable {
    /// dL/dS, dL/dT and dL/dλ.
    public let cotangent: SyntheticSetCotangent
    /// The solution `v` of `Aᵀ v = ∂L/∂W` (a warm start for the next solve).
    public let adjoint: [Double]
    /// Iterations and residual of the linear solve.
    public let solve: LinearSolution

    /// Applies the implicit function theorem at the inner solution:
    /// solves `H v = G` (G = ∂L/∂W at W*) with `solver`, then
    ///
    ///     dL/dS = -(1/m) [ (P - T) vᵀ + Q(S v) W*ᵀ ],  dL/dT = (1/m) S v,  dL/dλ = -⟨W*, v⟩.
    public init(problem: SoftmaxRegression, solution: InnerSolution, outerGradient: Matrix,
                solver: some LinearSolver, initialGuess: [Double]? = nil) {
        self.init(condition: SoftmaxRegressionCondition(problem: problem, solution: solution.evaluation),
                  outerGradient: outerGradient.values, solver: solver, initialGuess: initialGuess)
    }

    /// The hypergradient through any inner model whose parameters are the synthetic
    /// set `(S, T, λ)` (softmax, ridge or kernel ridge regression):
    ///
    ///     dL/dθ = ∂L/∂θ|_{x*} - vᵀ ∂F/∂θ,   Aᵀ v = ∂L/∂x*,
    ///
    /// where the explicit term `∂L/∂θ|_{x*}` is `explicitImageGradient` on the
    /// images (for a model whose predictions depend on `S` directly, as kernel
    /// ridge regression's `K(X, S) α`) and zero on the labels and `λ`.
    ///
    /// - Parameters:
    ///   - outerGradient: `∂L/∂x*`, flattened as the condition's solution.
    ///   - solver: nil for the condition's default solver.
    public init<Condition: RootCondition>(
        condition: Condition, outerGradient: [Double], explicitImageGradient: Matrix? = nil,
        solver: (any LinearSolver)? = nil, initialGuess: [Double]? = nil
    ) where Condition.ParameterCotangent == SyntheticSetCotangent {
        let result = rootVJP(condition, cotangent: outerGradient, solver: solver, initialGuess: initialGuess)
        var cotangent = result.cotangent
        if let explicitImageGradient {
            cotangent.images = cotangent.images.adding(explicitImageGradient)
        }
        self.cotangent = cotangent
        adjoint = result.adjoint
        solve = result.solve
    }
}
