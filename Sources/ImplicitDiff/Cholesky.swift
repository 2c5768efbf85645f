import Dispatch

/// The columns of `L` being updated, shared by the threads of one trailing
/// update, each of which writes only its own columns.
private struct SharedMatrix: @unchecked Sendable {
    let base: UnsafeMutablePointer<Double>
}

/// The Cholesky factorisation `A = L Lᵀ` of a dense symmetric positive definite
/// matrix, `L` lower triangular with a positive diagonal.
///
/// Row-major storage throughout. Used by `CholeskySolver` and by the closed-form
/// solutions of the ridge and kernel ridge inner problems.
///
/// The factorisation is blocked and right-looking (panels of `blockSize`
/// columns; the trailing update runs in registers over 8 rows x 2 columns), and
/// every entry still receives exactly the textbook's operations in the
/// textbook's order: `L_ij = (a_ij - L_i0 L_j0 - L_i1 L_j1 - ... - L_i,j-1 L_j,j-1) / L_jj`,
/// each product rounded before it is subtracted (no fused multiply-add) and the
/// subtractions in increasing `k`. The result is therefore bit for bit that of
/// the unblocked triple loop (`CholeskyFactorizationTests` checks it against
/// one), only about 10x faster at `n = 500`. The substitutions keep the same
/// per-entry order too, over all right-hand sides at once.
public struct CholeskyFactorization: Sendable {
    /// The order `n` of the matrix.
    public let dimension: Int
    /// `L`, row-major `n x n` (the strict upper triangle is zero).
    public let lower: [Double]
    /// `Lᵀ`, row-major `n x n` (column `j` of `L` is row `j` here), for the back substitution.
    let upper: [Double]

    /// Columns per panel of the blocked factorisation.
    static let blockSize = 32
    /// Rows and columns per tile of the copy of `a`'s lower triangle into the work array.
    static let copyTile = 64

    /// Factors the symmetric matrix `a` (`n x n`, row-major; only its lower
    /// triangle is read). Returns nil when `a` is not numerically positive
    /// definite: a pivot `a_jj - Σ_k L_jk²` that is not strictly positive and finite.
    ///
    /// `threads` split each trailing update's columns (the result is the same
    /// bits for any count: each column's update is its own).
    ///
    /// `stopRequested` is asked before each panel of `blockSize` columns (a
    /// signal's stop, for a factorisation that takes minutes: at `n = 10000` a
    /// panel takes well under a second on 2 cores); when it returns true the
    /// factorisation ends there and the initialiser returns nil, as for a matrix
    /// that is not positive definite: a caller that asks tells them apart by asking again.
    public init?(symmetric a: [Double], dimension n: Int, threads: Int = 1, stopRequested: () -> Bool = { false }) {
        precondition(a.count == n * n, "CholeskyFactorization: \(a.count) values for \(n) x \(n)")
        // w is column-major (w[j n + i] = entry (i, j)), so that a column of L is
        // contiguous; only its lower part (i ≥ j) is ever read. It is copied in
        // tiles of `copyTile` x `copyTile` (a column of `a` at a time took about
        // 1 s at n = 10000, before the first panel's stopRequested).
        var w = [Double](repeating: 0, count: n * n)
        let factored: Bool = a.withUnsafeBufferPointer { a in
            w.withUnsafeMutableBufferPointer { w in
                guard let a = a.baseAddress, let w = w.baseAddress else { return true }   // n = 0
                let tile = Self.copyTile
                for j0 in stride(from: 0, to: n, by: tile) {
                    let j1 = min(n, j0 + tile)
                    for i0 in stride(from: j0, to: n, by: tile) {
                        let i1 = min(n, i0 + tile)
                        for j in j0..<j1 {
                            for i in max(i0, j)..<i1 { w[j * n + i] = a[i * n + j] }
                        }
                    }
                }
                return Self.factor(w, n, threads: max(1, threads), stopRequested: stopRequested)
            }
        }
        guard factored else { return nil }
        dimension = n
        upper = w
        var l = [Double](repeating: 0, count: n * n)
        w.withUnsafeBufferPointer { w in
            l.withUnsafeMutableBufferPointer { l in
                for j in 0..<n {
                    for i in j..<n { l[i * n + j] = w[j * n + i] }
                }
            }
        }
        lower = l
    }

    /// Overwrites the lower part of the column-major `w` (`n x n`) with `L`,
    /// zeroing its strict upper part; false at the first pivot that is not
    /// strictly positive and finite, or when `stopRequested` (asked before each panel) returns true.
    private static func factor(_ w: UnsafeMutablePointer<Double>, _ n: Int, threads: Int, stopRequested: () -> Bool) -> Bool {
        var k0 = 0
        while k0 < n {
            if stopRequested() { return false }
            let k1 = min(n, k0 + blockSize)
            // The panel: columns k0..<k1, whose entries already carry the updates of
            // every column before k0; add those of the panel's own earlier columns.
            for j in k0..<k1 {
                let column = w + j * n
                for k in k0..<j {
                    subtractProduct(column, from: j, to: n, w + k * n, w[k * n + j])
                }
                let pivot = column[j]
                guard pivot > 0, pivot.isFinite else { return false }
                let ljj = pivot.squareRoot()
                column[j] = ljj
                for i in (j + 1)..<n { column[i] = column[i] / ljj }
            }
            if k1 < n { updateTrailing(w, n, k0, k1, threads: threads) }
            k0 = k1
        }
        for j in 0..<n {
            for i in 0..<j { w[j * n + i] = 0 }
        }
        return true
    }

    /// `y[i] -= x[i] · s` for `i` in `from..<to`, the product rounded before the subtraction.
    @inline(__always)
    private static func subtractProduct(_ y: UnsafeMutablePointer<Double>, from: Int, to: Int,
                                        _ x: UnsafeMutablePointer<Double>, _ s: Double) {
        var i = from
        let vs = SIMD8<Double>(repeating: s)
        while i + 8 <= to {
            let product = load8(x + i) * vs
            store8(load8(y + i) - product, y + i)
            i += 8
        }
        while i < to {
            let product = x[i] * s
            y[i] = y[i] - product
            i += 1
        }
    }

    /// The trailing update after the panel `k0..<k1`: for every column `j ≥ k1`
    /// and row `i ≥ j`, `w_ij -= L_ik L_jk` for `k = k0, k0 + 1, ..., k1 - 1` in
    /// turn, over tiles of 8 rows x 2 columns held in registers.
    private static func updateTrailing(_ w: UnsafeMutablePointer<Double>, _ n: Int, _ k0: Int, _ k1: Int, threads: Int) {
        // Column j has n - j rows to update: split the columns by that work.
        let parts = min(threads, (n - k1) / minimumColumnsPerThread)
        guard parts > 1 else { return updateTrailing(w, n, k0, k1, columns: k1..<n) }
        let total = Double((n - k1) * (n - k1 + 1) / 2)
        var bounds = [k1]
        for part in 1..<parts {
            // Σ_{j < x} (n - j) from k1 = total · part / parts, in closed form for x.
            let remaining = total * Double(parts - part) / Double(parts)
            let x = n - Int(((2 * remaining + 0.25).squareRoot() - 0.5).rounded())
            bounds.append(min(n, max(bounds[bounds.count - 1], x)))
        }
        bounds.append(n)
        let matrix = SharedMatrix(base: w), columns = bounds
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            updateTrailing(matrix.base, n, k0, k1, columns: columns[part]..<columns[part + 1])
        }
    }

    /// Columns per thread below which the trailing update stays on one thread.
    static let minimumColumnsPerThread = 48

    /// `updateTrailing` for the columns `columns` (each column's update is its own).
    private static func updateTrailing(_ w: UnsafeMutablePointer<Double>, _ n: Int, _ k0: Int, _ k1: Int,
                                       columns: Range<Int>) {
        let n1 = columns.upperBound
        var j = columns.lowerBound
        while j < n1 {
            let pair = j + 1 < n1
            let c0 = w + j * n, c1 = w + (j + 1) * n
            // Rows from j (column j + 1 also gets row j, in its unused upper part).
            var i = j
            while i + 8 <= n {
                var a0 = load8(c0 + i)
                var a1 = pair ? load8(c1 + i) : SIMD8<Double>()
                for k in k0..<k1 {
                    let panel = w + k * n
                    let x = load8(panel + i)
                    let p0 = x * SIMD8<Double>(repeating: panel[j])
                    a0 = a0 - p0
                    if pair {
                        let p1 = x * SIMD8<Double>(repeating: panel[j + 1])
                        a1 = a1 - p1
                    }
                }
                store8(a0, c0 + i)
                if pair { store8(a1, c1 + i) }
                i += 8
            }
            while i < n {
                var a0 = c0[i], a1 = pair ? c1[i] : 0
                for k in k0..<k1 {
                    let panel = w + k * n
                    let p0 = panel[i] * panel[j]
                    a0 = a0 - p0
                    if pair {
                        let p1 = panel[i] * panel[j + 1]
                        a1 = a1 - p1
                    }
                }
                c0[i] = a0
                if pair { c1[i] = a1 }
                i += 1
            }
            j += 2
        }
    }

    /// `x_i = (x_i - Σ_{k ∈ range} t_k x_k) / t_i` for every column of the
    /// row-major `x` (`c` columns), `k` increasing, each product rounded before
    /// it is subtracted; eight columns at a time in registers.
    @inline(__always)
    private static func substitute(_ x: UnsafeMutablePointer<Double>, row i: Int, _ c: Int,
                                   _ t: UnsafeMutablePointer<Double>, _ range: Range<Int>) {
        let row = x + i * c, pivot = t[i]
        var q = 0
        while q + 8 <= c {
            var acc = load8(row + q)
            for k in range {
                let product = SIMD8<Double>(repeating: t[k]) * load8(x + k * c + q)
                acc = acc - product
            }
            store8(acc / SIMD8<Double>(repeating: pivot), row + q)
            q += 8
        }
        while q < c {
            var acc = row[q]
            for k in range {
                let product = t[k] * x[k * c + q]
                acc = acc - product
            }
            row[q] = acc / pivot
            q += 1
        }
    }

    @inline(__always)
    private static func load8(_ p: UnsafeMutablePointer<Double>) -> SIMD8<Double> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Double>.self)
    }

    @inline(__always)
    private static func store8(_ v: SIMD8<Double>, _ p: UnsafeMutablePointer<Double>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Double>.self)
    }

    /// Solves `A x = b` by forward substitution `L y = b`, then back
    /// substitution `Lᵀ x = y`.
    public func solve(_ b: [Double]) -> [Double] {
        precondition(b.count == dimension, "CholeskyFactorization.solve: right-hand side of size \(b.count) for order \(dimension)")
        return solve(rowMajor: b, columns: 1)
    }

    /// Solves `A X = B` for `B` with `columns` right-hand sides, stored row-major
    /// `n x columns` (so row `i` of `B` is the `i`-th entry of every right-hand side).
    ///
    /// Row by row over all right-hand sides at once: `y_i = (b_i - Σ_{k<i} L_ik y_k) / L_ii`,
    /// then `x_i = (y_i - Σ_{k>i} L_ki x_k) / L_ii`, the sums in increasing `k`
    /// (as `columns` separate substitutions would take them).
    public func solve(rowMajor b: [Double], columns c: Int) -> [Double] {
        let n = dimension
        precondition(b.count == n * c, "CholeskyFactorization.solve: \(b.count) values for \(n) x \(c)")
        var x = b
        guard n > 0, c > 0 else { return x }
        lower.withUnsafeBufferPointer { lower in
            upper.withUnsafeBufferPointer { upper in
                x.withUnsafeMutableBufferPointer { x in
                    guard let l = lower.baseAddress, let u = upper.baseAddress, let x = x.baseAddress else { return }
                    // Forward: row i of L is contiguous; back: row i of Lᵀ (column i of L) is.
                    for i in 0..<n { Self.substitute(x, row: i, c, UnsafeMutablePointer(mutating: l + i * n), 0..<i) }
                    for i in stride(from: n - 1, through: 0, by: -1) {
                        Self.substitute(x, row: i, c, UnsafeMutablePointer(mutating: u + i * n), (i + 1)..<n)
                    }
                }
            }
        }
        return x
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
