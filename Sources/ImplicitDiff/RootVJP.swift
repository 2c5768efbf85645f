/// The result of a vector-Jacobian product through an optimality condition.
public struct RootVJPResult<Cotangent> {
    /// `g ∂x*/∂θ`: the cotangent on the parameters.
    public var cotangent: Cotangent
    /// The solution `u` of `Aᵀ u = g` (reusable as the next solve's warm start).
    public var adjoint: [Double]
    /// How the linear solve went: iterations and residual.
    public var solve: LinearSolution
}

/// Vector-Jacobian product of the implicit solution map `θ ↦ x*(θ)` (reverse mode).
///
/// Given a cotangent `g` on the solution (for example the gradient of an outer
/// loss with respect to `x*`), solves `Aᵀ u = g` with `solver` (through the
/// condition's `solutionVJP`, so non-symmetric conditions are handled) and
/// returns `-uᵀ B = g ∂x*/∂θ`, where `A = ∂F/∂x` and `B = ∂F/∂θ` at the solution.
///
/// - Parameters:
///   - solver: the linear solver; nil for the condition's `defaultSolver`.
///   - initialGuess: a warm start for `u` (for example the previous adjoint).
public func rootVJP<Condition: RootCondition>(
    _ condition: Condition,
    cotangent g: [Double],
    solver: (any LinearSolver)? = nil,
    initialGuess: [Double]? = nil
) -> RootVJPResult<Condition.ParameterCotangent> {
    precondition(g.count == condition.dimension, "cotangent size does not match the condition's dimension")
    let solver = solver ?? condition.defaultSolver
    let solution = solver.solve({ condition.solutionVJP($0) }, g, initialGuess: initialGuess)
    let negated = solution.x.map { -$0 }
    return RootVJPResult(cotangent: condition.parametersVJP(negated), adjoint: solution.x, solve: solution)
}

/// The result of a Jacobian-vector product through an optimality condition.
public struct RootJVPResult {
    /// `∂x*/∂θ θ̇`: the tangent on the solution.
    public var tangent: [Double]
    /// How the linear solve went: iterations and residual.
    public var solve: LinearSolution
}

/// Jacobian-vector product of the implicit solution map `θ ↦ x*(θ)` (forward mode).
///
/// Given a tangent `θ̇` on the parameters, solves
///
///     A t = -B θ̇
///
/// with `solver` (through the condition's `solutionJVP`) and returns
/// `t = ∂x*/∂θ θ̇`, the first-order change of the solution along `θ̇`. One solve
/// per direction: use it when the parameters have few directions of interest
/// (a scalar hyperparameter), `rootVJP` when the solution feeds a scalar loss.
///
/// - Parameters:
///   - solver: the linear solver; nil for the condition's `defaultSolver`.
///   - initialGuess: a warm start for `t`.
public func rootJVP<Condition: RootCondition>(
    _ condition: Condition,
    tangent: Condition.ParameterTangent,
    solver: (any LinearSolver)? = nil,
    initialGuess: [Double]? = nil
) -> RootJVPResult {
    let bTangent = condition.parametersJVP(tangent)
    precondition(bTangent.count == condition.dimension, "parametersJVP size does not match the condition's dimension")
    let solver = solver ?? condition.defaultSolver
    let solution = solver.solve({ condition.solutionJVP($0) }, bTangent.map { -$0 }, initialGuess: initialGuess)
    return RootJVPResult(tangent: solution.x, solve: solution)
}
