import Testing
import DistillNumerics
import _TestSupport
@testable import ImplicitDiff

/// The blocked Cholesky factorisation and the all-right-hand-sides substitutions
/// against the textbook's loops (the implementation they replaced, kept here as
/// the reference): the same bits, on sizes below, at and around multiples of the
/// block; `A = L Lᵀ` to round-off; and nil for matrices that are not positive
/// definite, wherever the failing pivot lies.
@Suite struct CholeskyFactorizationTests {
    /// The unblocked triple loop: `L_ij = (a_ij - Σ_{k<j} L_ik L_jk) / L_jj`, the
    /// sum in increasing `k`; nil at the first pivot that is not strictly positive and finite.
    static func textbookLower(_ a: [Double], _ n: Int) -> [Double]? {
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
        return l
    }

    /// One right-hand side by forward then back substitution, sums in increasing `k`.
    static func textbookSolve(_ l: [Double], _ n: Int, _ b: [Double]) -> [Double] {
        var x = b
        for i in 0..<n {
            var s = x[i]
            for k in 0..<i { s -= l[i * n + k] * x[k] }
            x[i] = s / l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = x[i]
            for k in (i + 1)..<n { s -= l[k * n + i] * x[k] }
            x[i] = s / l[i * n + i]
        }
        return x
    }

    /// `B Bᵀ / n + shift I` for a random `n x n` B: symmetric positive definite for `shift > 0`.
    static func spd(_ n: Int, seed: UInt64, shift: Double = 0.1) -> [Double] {
        let b = TestSupport.randomMatrix(n, n, seed: seed)
        var a = b.multipliedTransposed(by: b).scaled(by: 1 / Double(n))
        for i in 0..<n { a[i, i] += shift }
        // Exactly symmetric (the product may differ in the last bit across the diagonal).
        for i in 0..<n { for j in 0..<i { a[j, i] = a[i, j] } }
        return a.values
    }

    static let sizes = [1, 2, 5, 31, 32, 33, 64, 65, 97, 130]

    @Test(arguments: sizes)
    func blockedFactorisationIsTheTextbookOneBitForBit(n: Int) throws {
        let a = Self.spd(n, seed: UInt64(400 + n))
        let factor = try #require(CholeskyFactorization(symmetric: a, dimension: n))
        let reference = try #require(Self.textbookLower(a, n))
        #expect(factor.lower == reference)
        // L Lᵀ = A to round-off, and the strict upper triangle is zero.
        let l = Matrix(rows: n, columns: n, values: factor.lower)
        let product = l.multipliedTransposed(by: l)
        #expect(TestSupport.relativeError(product.values, a) < 1e-14)
        for i in 0..<n { for j in (i + 1)..<n { #expect(factor.lower[i * n + j] == 0) } }
    }

    /// The trailing updates split over threads (column by column) change no bit.
    @Test(arguments: [(130, 2), (131, 3), (300, 2), (301, 4)])
    func moreThreadsGiveTheSameBits(n: Int, threads: Int) throws {
        let a = Self.spd(n, seed: UInt64(450 + n))
        let one = try #require(CholeskyFactorization(symmetric: a, dimension: n))
        let many = try #require(CholeskyFactorization(symmetric: a, dimension: n, threads: threads))
        #expect(many.lower == one.lower)
        #expect(many.lower == Self.textbookLower(a, n))
        var indefinite = a
        indefinite[(n - 1) * n + (n - 1)] = -1
        #expect(CholeskyFactorization(symmetric: indefinite, dimension: n, threads: threads) == nil)
    }

    @Test(arguments: sizes)
    func substitutionsAreTheTextbookOnesBitForBit(n: Int) throws {
        let a = Self.spd(n, seed: UInt64(500 + n))
        let factor = try #require(CholeskyFactorization(symmetric: a, dimension: n))
        let columns = 3
        let b = TestSupport.randomMatrix(n, columns, seed: UInt64(600 + n)).values
        let x = factor.solve(rowMajor: b, columns: columns)
        for c in 0..<columns {
            let column = (0..<n).map { b[$0 * columns + c] }
            let reference = Self.textbookSolve(factor.lower, n, column)
            #expect((0..<n).map { x[$0 * columns + c] } == reference)
            #expect(factor.solve(column) == reference)
        }
        // A X = B to round-off.
        let ax = Matrix(rows: n, columns: n, values: a).multiplied(by: Matrix(rows: n, columns: columns, values: x))
        #expect(TestSupport.relativeError(ax.values, b) < 1e-12)
    }

    @Test func onlyTheLowerTriangleIsRead() throws {
        let n = 40
        var a = Self.spd(n, seed: 701)
        let clean = try #require(CholeskyFactorization(symmetric: a, dimension: n))
        for i in 0..<n { for j in (i + 1)..<n { a[i * n + j] = .nan } }
        let factor = try #require(CholeskyFactorization(symmetric: a, dimension: n))
        #expect(factor.lower == clean.lower)
    }

    /// Indefinite matrices fail at their first non-positive pivot, in the first
    /// panel or in a later one; so do a zero pivot, NaN and infinity.
    @Test(arguments: [0, 7, 31, 32, 45, 69])
    func aMatrixThatIsNotPositiveDefiniteGivesNil(failingPivot: Int) {
        let n = 70
        var a = Self.spd(n, seed: 702, shift: 0)
        // Make the leading (p + 1) x (p + 1) block singular-or-worse: row and column
        // p equal to row and column 0, with a smaller diagonal.
        let p = failingPivot
        if p == 0 {
            a[0] = -1
        } else {
            for k in 0..<n { a[p * n + k] = a[k]; a[k * n + p] = a[k] }
            a[p * n + p] = a[0] * 0.5
        }
        #expect(Self.textbookLower(a, n) == nil)
        #expect(CholeskyFactorization(symmetric: a, dimension: n) == nil)
    }

    @Test(arguments: [Double.nan, .infinity, 0])
    func aNonFiniteOrZeroEntryGivesNil(value: Double) {
        let n = 36
        var a = Self.spd(n, seed: 703)
        if value == 0 {
            a[35 * n + 35] = 0
            for k in 0..<35 { a[35 * n + k] = 0; a[k * n + 35] = 0 }
        } else {
            a[34 * n + 3] = value
            a[3 * n + 34] = value
        }
        #expect(CholeskyFactorization(symmetric: a, dimension: n) == nil)
    }

    /// `stopRequested` is asked before each panel of `blockSize` columns; once it
    /// says stop, the factorisation ends there (nil) without another panel, and a
    /// factorisation never told to stop is the same bits as one without it.
    @Test(arguments: [(300, 1), (300, 2), (64, 1), (65, 2)])
    func aStopRequestedEndsTheFactorisationBetweenPanels(n: Int, threads: Int) throws {
        let a = Self.spd(n, seed: 11)
        let panels = (n + CholeskyFactorization.blockSize - 1) / CholeskyFactorization.blockSize
        var asked = 0
        let whole = try #require(CholeskyFactorization(symmetric: a, dimension: n, threads: threads,
                                                       stopRequested: { asked += 1; return false }))
        #expect(asked == panels)
        #expect(whole.lower == CholeskyFactorization(symmetric: a, dimension: n, threads: threads)?.lower)
        for stopAt in [1, 2, panels] {
            asked = 0
            #expect(CholeskyFactorization(symmetric: a, dimension: n, threads: threads,
                                          stopRequested: { asked += 1; return asked >= stopAt }) == nil)
            #expect(asked == stopAt, "asked \(asked) times, stopped at \(stopAt)")
        }
    }

    @Test func theOneByOneAndEmptyCases() throws {
        let one = try #require(CholeskyFactorization(symmetric: [9], dimension: 1))
        #expect(one.lower == [3])
        #expect(one.solve([6]) == [6.0 / 3 / 3])
        #expect(CholeskyFactorization(symmetric: [-1], dimension: 1) == nil)
        #expect(CholeskyFactorization(symmetric: [0], dimension: 1) == nil)
        let empty = try #require(CholeskyFactorization(symmetric: [], dimension: 0))
        #expect(empty.lower.isEmpty)
        #expect(empty.solve(rowMajor: [], columns: 4).isEmpty)
    }
}
