/// The Cholesky factorisation `A = L Lᵀ` of a dense symmetric positive definite
/// matrix, `L` lower triangular with a positive diagonal.
///
/// Row-major storage throughout. Used by `CholeskySolver` and by the closed-form
/// solutions of the ridge and kernel ridge inner problems.
public struct CholeskyFactorization: Sendable {
    /// The order `n` of the matrix.
    public let dimension: Int
    /// `L`, row-major `n x n` (the strict upper triangle is zero).
    public let lower: [Double]

    /// Factors the symmetric matrix `a` (`n x n`, row-major; only its lower
    /// triangle is read). Returns nil when `a` is not numerically positive
    /// definite: a pivot `a_jj - Σ_k L_jk²` that is not strictly positive and finite.
    public init?(symmetric a: [Double], dimension n: Int) {
        precondition(a.count == n * n, "CholeskyFactorization: \(a.count) values for \(n) x \(n)")
        var l = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var pivot = a[j * n + j]
            for k in 0..<j { pivot -= l[j * n + k] * l[j * n + k] }
            guard pivot > 0, pivot.isFinite else { return nil }
            let ljj = pivot.squareRoot()
            l[j * n + j] = ljj
            for i in (j + 1)..<n {
                var s = a[i * n + j]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = s / ljj
            }
        }
        dimension = n
        lower = l
    }

    /// Solves `A x = b` by forward substitution `L y = b`, then back
    /// substitution `Lᵀ x = y`.
    public func solve(_ b: [Double]) -> [Double] {
        let n = dimension
        precondition(b.count == n, "CholeskyFactorization.solve: right-hand side of size \(b.count) for order \(n)")
        var x = b
        for i in 0..<n {
            var s = x[i]
            for k in 0..<i { s -= lower[i * n + k] * x[k] }
            x[i] = s / lower[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = x[i]
            for k in (i + 1)..<n { s -= lower[k * n + i] * x[k] }
            x[i] = s / lower[i * n + i]
        }
        return x
    }

    /// Solves `A X = B` for `B` with `columns` right-hand sides, stored row-major
    /// `n x columns` (so row `i` of `B` is the `i`-th entry of every right-hand side).
    public func solve(rowMajor b: [Double], columns: Int) -> [Double] {
        let n = dimension
        precondition(b.count == n * columns, "CholeskyFactorization.solve: \(b.count) values for \(n) x \(columns)")
        var out = [Double](repeating: 0, count: n * columns)
        var column = [Double](repeating: 0, count: n)
        for c in 0..<columns {
            for i in 0..<n { column[i] = b[i * columns + c] }
            let x = solve(column)
            for i in 0..<n { out[i * columns + c] = x[i] }
        }
        return out
    }
}

/// A direct solver for small symmetric positive definite systems.
///
/// Builds `A` column by column from `n` products `A e_j`, symmetrises it as
/// `(A + Aᵀ)/2` (products computed in floating point are symmetric only up to
/// round-off), factors it `L Lᵀ` and solves by substitution. Exact up to
/// round-off whatever the conditioning, but `O(n²)` memory and `O(n³/3)` flops:
/// meant for dimensions up to a few thousand (`maxDimension`).
///
/// Reports `converged == false`, with `x` the initial guess (or 0), when the
/// dimension exceeds `maxDimension` (no product spent) or `A` is not positive
/// definite (the `n` products spent). On a non-symmetric `A` it solves the
/// symmetric part's system, which the true residual then exposes. `iterations`
/// counts the products that built the matrix.
public struct CholeskySolver: LinearSolver {
    /// The relative residual `‖b - A x‖ / ‖b‖` that certifies the answer.
    public var tolerance: Double
    /// The largest order it will build and factor.
    public var maxDimension: Int

    public init(tolerance: Double = 1e-10, maxDimension: Int = 4096) {
        self.tolerance = tolerance
        self.maxDimension = maxDimension
    }

    public func solve(_ matvec: ([Double]) -> [Double], _ b: [Double], initialGuess: [Double]?) -> LinearSolution {
        let n = b.count
        let fallback = initialGuess ?? [Double](repeating: 0, count: n)
        precondition(fallback.count == n, "initial guess and right-hand side differ in size")
        guard n <= maxDimension else {
            return LinearSolution(certifying: fallback, iterations: 0, tolerance: tolerance, matvec, b)
        }
        var a = [Double](repeating: 0, count: n * n)
        var unit = [Double](repeating: 0, count: n)
        for j in 0..<n {
            unit[j] = 1
            let column = matvec(unit)
            unit[j] = 0
            for i in 0..<n { a[i * n + j] = column[i] }
        }
        for i in 0..<n {
            for j in 0..<i {
                let mean = 0.5 * (a[i * n + j] + a[j * n + i])
                a[i * n + j] = mean
                a[j * n + i] = mean
            }
        }
        guard let factor = CholeskyFactorization(symmetric: a, dimension: n) else {
            return LinearSolution(certifying: fallback, iterations: n, tolerance: tolerance, matvec, b)
        }
        return LinearSolution(certifying: factor.solve(b), iterations: n, tolerance: tolerance, matvec, b)
    }
}
