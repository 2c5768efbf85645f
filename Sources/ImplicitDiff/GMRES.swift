/// Restarted GMRES (Saad and Schultz, 1986) for any invertible system:
/// non-symmetric or symmetric indefinite.
///
/// Each cycle builds an orthonormal basis `V` of the Krylov space
/// `span{r, A r, …, A^{k-1} r}` of the residual `r = b - A x` by Arnoldi (modified
/// Gram–Schmidt), and moves `x` to the point `x + V y` with the least residual
/// norm, `y = argmin ‖β e₁ - H̄ y‖` (`H̄` the `(k+1) x k` Hessenberg matrix,
/// reduced to triangular form by Givens rotations as it grows). After `restart`
/// products the basis is dropped and a new cycle starts from the true residual.
///
/// Stops when `‖b - A x‖ ≤ tolerance · ‖b‖` or after `maxIterations` products
/// (restart residuals not counted); the reported residual is recomputed from the
/// returned `x`. Memory: `restart + 1` vectors of the system's size. Without
/// restarts (`restart ≥ n`) it converges in at most `n` iterations in exact
/// arithmetic; restarted, it may stagnate on hard systems, which it then reports.
public struct GMRES: LinearSolver {
    public var tolerance: Double
    public var maxIterations: Int
    /// Krylov dimension of a cycle.
    public var restart: Int

    public init(tolerance: Double = 1e-10, maxIterations: Int = 1000, restart: Int = 50) {
        precondition(restart >= 1, "GMRES: restart must be at least 1")
        self.tolerance = tolerance
        self.maxIterations = maxIterations
        self.restart = restart
    }

    public func solve(_ matvec: ([Double]) -> [Double], _ b: [Double], initialGuess: [Double]?) -> LinearSolution {
        let n = b.count
        var x = initialGuess ?? [Double](repeating: 0, count: n)
        precondition(x.count == n, "initial guess and right-hand side differ in size")
        let target = tolerance * norm(b)
        var iterations = 0
        var r = initialGuess != nil ? difference(b, matvec(x)) : b
        while iterations < maxIterations {
            let beta = norm(r)
            if !(beta > target) { break }
            var basis = [r.map { $0 / beta }]
            // The columns of the rotated Hessenberg matrix (upper triangular R).
            var columns: [[Double]] = []
            var cosines: [Double] = [], sines: [Double] = []
            var g = [beta]   // the rotated β e₁; |g[k]| is the residual norm after k steps
            while columns.count < restart && iterations < maxIterations {
                let k = columns.count
                var w = matvec(basis[k])
                iterations += 1
                var h = [Double](repeating: 0, count: k + 2)
                for i in 0...k {
                    h[i] = dot(w, basis[i])
                    axpy(-h[i], basis[i], &w)
                }
                let next = norm(w)
                h[k + 1] = next
                for i in 0..<k {
                    let t = cosines[i] * h[i] + sines[i] * h[i + 1]
                    h[i + 1] = -sines[i] * h[i] + cosines[i] * h[i + 1]
                    h[i] = t
                }
                let radius = (h[k] * h[k] + h[k + 1] * h[k + 1]).squareRoot()
                let c = radius > 0 ? h[k] / radius : 1
                let s = radius > 0 ? h[k + 1] / radius : 0
                cosines.append(c)
                sines.append(s)
                h[k] = radius
                g.append(-s * g[k])
                g[k] *= c
                columns.append(Array(h[0...k]))
                // Converged by the recurrence, or an exact solution in this space.
                if abs(g[k + 1]) <= target || !(next > 0) || !next.isFinite { break }
                basis.append(w.map { $0 / next })
            }
            // Back substitution R y = g[0..<k].
            let k = columns.count
            var y = [Double](repeating: 0, count: k)
            for i in stride(from: k - 1, through: 0, by: -1) {
                var s = g[i]
                for j in (i + 1)..<k { s -= columns[j][i] * y[j] }
                y[i] = columns[i][i] != 0 ? s / columns[i][i] : 0
            }
            for j in 0..<k { axpy(y[j], basis[j], &x) }
            if !x.allSatisfy(\.isFinite) { break }
            r = difference(b, matvec(x))
        }
        return LinearSolution(certifying: x, iterations: iterations, tolerance: tolerance, matvec, b)
    }
}
