/// The result of a vector-Jacobian product through an optimality condition.
public struct RootVJPResult<Cotangent> {
    /// `g ∂x*/∂θ`: the cotangent on the parameters.
    public var cotangent: Cotangent
    /// The solution `u` of `Aᵀ u = g` (reusable as the next solve's warm start).
    public var adjoint: [Double]
    /// How the linear solve went: iterations and residual.
    public var solve: LinearSolution
}

/// Vector-Jacobian product of the implicit solution map `θ ↦ x*(θ)`.
///
/// Given a cotangent `g` on the solution (for example the gradient of an outer
/// loss with respect to `x*`), solves `Aᵀ u = g` with `solver` and returns
/// `-uᵀ B`, where `A = ∂F/∂x` and `B = ∂F/∂θ` at the solution.
public func rootVJP<Condition: RootCondition>(
    _ condition: Condition,
    cotangent g: [Double],
    solver: some LinearSolver = ConjugateGradient(),
    initialGuess: [Double]? = nil
) -> RootVJPResult<Condition.ParameterCotangent> {
    precondition(g.count == condition.dimension, "cotangent size does not match the condition's dimension")
    let solution = solver.solve({ condition.solutionVJP($0) }, g, initialGuess: initialGuess)
    let negated = solution.x.map { -$0 }
    return RootVJPResult(cotangent: condition.parametersVJP(negated), adjoint: solution.x, solve: solution)
}
