/// An optimality condition `F(x, θ) = 0` that a solution `x*(θ)` satisfies.
///
/// The condition is stated once; its derivative is all that implicit
/// differentiation needs. By the implicit function theorem, for `A = ∂F/∂x` and
/// `B = ∂F/∂θ` at the solution,
///
///     ∂x*/∂θ = -A⁻¹ B,
///
/// so a vector-Jacobian product with a cotangent `g` on `x*` is
///
///     g ∂x*/∂θ = -(Aᵀ u)ᵀ B  with  Aᵀ u = g,
///
/// which needs only the two linear maps below, never the matrices themselves.
/// The inner solver that found `x*` is a black box: nothing is unrolled.
///
/// A condition is evaluated *at a solution*: an instance captures `x*` and `θ`.
/// For the gradient of a strongly convex objective, `A` is its Hessian, which is
/// symmetric positive definite, so conjugate gradient applies.
public protocol RootCondition {
    /// The cotangent type on the parameters θ (for example a struct of arrays).
    associatedtype ParameterCotangent

    /// The dimension of the solution `x`.
    var dimension: Int { get }

    /// Whether `A = ∂F/∂x` is symmetric (then `solutionVJP` equals the JVP).
    var isSymmetric: Bool { get }

    /// `u ↦ Aᵀ u`: the transposed solution Jacobian applied to a vector.
    func solutionVJP(_ u: [Double]) -> [Double]

    /// `u ↦ uᵀ B`: the parameters' cotangent of `⟨u, F(x*, θ)⟩`.
    func parametersVJP(_ u: [Double]) -> ParameterCotangent
}
