/// An optimality condition `F(x, θ) = 0` that a solution `x*(θ)` satisfies.
///
/// The condition is stated once; its derivative is all that implicit
/// differentiation needs. By the implicit function theorem, for `A = ∂F/∂x` and
/// `B = ∂F/∂θ` at the solution (A invertible),
///
///     ∂x*/∂θ = -A⁻¹ B,
///
/// so a vector-Jacobian product with a cotangent `g` on `x*` (reverse mode,
/// `rootVJP`) is
///
///     g ∂x*/∂θ = -uᵀ B   with   Aᵀ u = g,
///
/// and a Jacobian-vector product with a tangent `θ̇` on the parameters (forward
/// mode, `rootJVP`) is
///
///     ẋ = ∂x*/∂θ θ̇ = t   with   A t = -B θ̇.
///
/// Both need only the four linear maps below, never the matrices themselves.
/// The inner solver that found `x*` is a black box: nothing is unrolled.
///
/// A condition is evaluated *at a solution*: an instance captures `x*` and `θ`.
/// (The maps are partial derivatives, so they are defined at any `x`; the
/// implicit derivative is only meaningful where `F(x, θ) = 0`.)
///
/// Which linear solver suits a condition depends on `A`:
/// - the gradient of a strongly convex objective (`F = ∇ₓ g`): `A` is its Hessian,
///   symmetric positive definite: `ConjugateGradient` (the default), or
///   `CholeskySolver` when the dimension is small (a few thousand at most);
/// - anything else (a fixed point `T(x) - x`, a non-symmetric or indefinite
///   Jacobian): `GMRES`.
public protocol RootCondition {
    /// The cotangent type on the parameters θ (for example a struct of arrays).
    associatedtype ParameterCotangent
    /// The tangent type on the parameters θ (usually the same type as the cotangent).
    associatedtype ParameterTangent = ParameterCotangent

    /// The dimension of the solution `x`.
    var dimension: Int { get }

    /// Whether `A = ∂F/∂x` is symmetric (then `solutionVJP` equals `solutionJVP`).
    var isSymmetric: Bool { get }

    /// `v ↦ A v`: the solution Jacobian applied to a vector (used by `rootJVP`).
    func solutionJVP(_ v: [Double]) -> [Double]

    /// `u ↦ Aᵀ u`: the transposed solution Jacobian applied to a vector (used by `rootVJP`).
    func solutionVJP(_ u: [Double]) -> [Double]

    /// `u ↦ uᵀ B`: the parameters' cotangent of `⟨u, F(x*, θ)⟩`.
    func parametersVJP(_ u: [Double]) -> ParameterCotangent

    /// `θ̇ ↦ B θ̇`: the directional derivative of `F(x*, θ)` along `θ̇`, at fixed `x*`.
    func parametersJVP(_ tangent: ParameterTangent) -> [Double]

    /// The solver `rootVJP` and `rootJVP` use when none is given.
    ///
    /// Default: `ConjugateGradient()` when `isSymmetric` (the Hessian of a strongly
    /// convex objective is symmetric positive definite), `GMRES()` otherwise.
    var defaultSolver: any LinearSolver { get }
}

extension RootCondition {
    public var defaultSolver: any LinearSolver {
        isSymmetric ? ConjugateGradient() : GMRES()
    }
}
