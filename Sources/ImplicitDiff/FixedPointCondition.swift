/// The optimality condition of a fixed point, as JAXopt's `custom_fixed_point`.
///
/// A solver that iterates a map `x ← T(x, θ)` to its fixed point `x* = T(x*, θ)`
/// (gradient descent, proximal gradient, a damped Newton map, an equilibrium
/// model's layer) is differentiated through the root condition
///
///     F(x, θ) = T(x, θ) - x = 0,
///
/// so `A = ∂F/∂x = ∂T/∂x - I` and `B = ∂F/∂θ = ∂T/∂θ`:
///
///     Aᵀ u = (∂T/∂x)ᵀ u - u,    A v = (∂T/∂x) v - v,
///     uᵀ B = uᵀ ∂T/∂θ,          B θ̇ = ∂T/∂θ θ̇.
///
/// The adapter is built from `T`'s four linear maps at the fixed point. `A` is
/// invertible when `T` is a contraction in `x` (`‖∂T/∂x‖ < 1`). It is in
/// general not symmetric, and even when `∂T/∂x` is symmetric `A` is then
/// negative definite, so conjugate gradient does not apply: the default solver
/// is `GMRES`, whatever `isSymmetric` says.
public struct FixedPointCondition<ParameterCotangent, ParameterTangent>: RootCondition {
    public let dimension: Int
    /// Whether `∂T/∂x` (hence `A`) is symmetric.
    public let isSymmetric: Bool
    private let mapSolutionVJP: ([Double]) -> [Double]
    private let mapSolutionJVP: ([Double]) -> [Double]
    private let mapParametersVJP: ([Double]) -> ParameterCotangent
    private let mapParametersJVP: (ParameterTangent) -> [Double]

    /// - Parameters:
    ///   - dimension: the size of `x`.
    ///   - isSymmetric: whether `∂T/∂x` is symmetric.
    ///   - solutionVJP: `u ↦ (∂T/∂x)ᵀ u` at the fixed point.
    ///   - solutionJVP: `v ↦ (∂T/∂x) v` at the fixed point.
    ///   - parametersVJP: `u ↦ uᵀ ∂T/∂θ` at the fixed point.
    ///   - parametersJVP: `θ̇ ↦ (∂T/∂θ) θ̇` at the fixed point.
    public init(dimension: Int, isSymmetric: Bool = false,
                solutionVJP: @escaping ([Double]) -> [Double],
                solutionJVP: @escaping ([Double]) -> [Double],
                parametersVJP: @escaping ([Double]) -> ParameterCotangent,
                parametersJVP: @escaping (ParameterTangent) -> [Double]) {
        self.dimension = dimension
        self.isSymmetric = isSymmetric
        mapSolutionVJP = solutionVJP
        mapSolutionJVP = solutionJVP
        mapParametersVJP = parametersVJP
        mapParametersJVP = parametersJVP
    }

    /// `Aᵀ u = (∂T/∂x)ᵀ u - u`.
    public func solutionVJP(_ u: [Double]) -> [Double] { difference(mapSolutionVJP(u), u) }

    /// `A v = (∂T/∂x) v - v`.
    public func solutionJVP(_ v: [Double]) -> [Double] { difference(mapSolutionJVP(v), v) }

    /// `uᵀ B = uᵀ ∂T/∂θ` (the `-x` term does not depend on θ).
    public func parametersVJP(_ u: [Double]) -> ParameterCotangent { mapParametersVJP(u) }

    /// `B θ̇ = (∂T/∂θ) θ̇`.
    public func parametersJVP(_ tangent: ParameterTangent) -> [Double] { mapParametersJVP(tangent) }

    /// `GMRES()`: `A = ∂T/∂x - I` is not positive definite.
    public var defaultSolver: any LinearSolver { GMRES() }
}
