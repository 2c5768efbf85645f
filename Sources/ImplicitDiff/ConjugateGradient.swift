/// Conjugate gradient for symmetric positive definite systems.
///
/// Stops when `‖b - A x‖ ≤ tolerance · ‖b‖` or after `maxIterations` products.
/// The reported residual is recomputed from the returned `x` (one extra product),
/// so it is the true residual, not CG's recurrence estimate; a caller that only
/// needs `x` (an inexact Newton step, say) can set `recomputesResidual` to false
/// and have the recurrence's residual reported instead, saving that product.
/// It must not be used on indefinite or non-symmetric systems: a non-positive
/// curvature `pᵀ A p ≤ 0` stops it and reports no convergence.
public struct ConjugateGradient: LinearSolver {
    public var tolerance: Double
    public var maxIterations: Int
    /// Whether the reported residual is recomputed as `‖b - A x‖` (one more product)
    /// rather than taken from CG's recurrence. The returned `x` is the same either way.
    public var recomputesResidual: Bool

    public init(tolerance: Double = 1e-10, maxIterations: Int = 1000, recomputesResidual: Bool = true) {
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.recomputesResidual = recomputesResidual
    }

    public func solve(_ matvec: ([Double]) -> [Double], _ b: [Double], initialGuess: [Double]?) -> LinearSolution {
        var x = initialGuess ?? [Double](repeating: 0, count: b.count)
        precondition(x.count == b.count, "initial guess and right-hand side differ in size")
        var r = initialGuess != nil ? difference(b, matvec(x)) : b
        let bNorm = norm(b)
        let target = tolerance * bNorm
        var rr = dot(r, r)
        var p = r
        var iterations = 0
        while rr.squareRoot() > target && iterations < maxIterations {
            let ap = matvec(p)
            let curvature = dot(p, ap)
            if !(curvature > 0) { break }
            let alpha = rr / curvature
            axpy(alpha, p, &x)
            axpy(-alpha, ap, &r)
            let rrNew = dot(r, r)
            let beta = rrNew / rr
            rr = rrNew
            xpby(r, beta, &p)
            iterations += 1
        }
        if recomputesResidual {
            return LinearSolution(certifying: x, iterations: iterations, tolerance: tolerance, matvec, b)
        }
        let residual = rr.squareRoot()
        return LinearSolution(x: x, iterations: iterations, residualNorm: residual,
                              rightHandSideNorm: bNorm, converged: residual <= target || (bNorm == 0 && residual == 0))
    }
}
