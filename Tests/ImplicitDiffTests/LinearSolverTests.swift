import Testing
import DistillNumerics
import _TestSupport
@testable import ImplicitDiff

/// Matrices with known spectra and inverses, built from Householder reflections
/// `Q = I - 2 v vᵀ / vᵀv` (symmetric and orthogonal, `Q⁻¹ = Q`):
/// `A = U diag(d) V` has `A⁻¹ = V diag(1/d) U` and `Aᵀ = V diag(d) U`.
struct KnownMatrix {
    let u: [Double], v: [Double], d: [Double]
    var n: Int { d.count }

    init(d: [Double], seed: UInt64, symmetric: Bool) {
        self.d = d
        u = TestSupport.randomMatrix(d.count, 1, seed: seed).values
        v = symmetric ? u : TestSupport.randomMatrix(d.count, 1, seed: seed + 1000).values
    }

    static func reflect(_ w: [Double], _ x: [Double]) -> [Double] {
        let c = 2 * dot(w, x) / dot(w, w)
        return zip(x, w).map { $0 - c * $1 }
    }
    func scaled(_ x: [Double], by s: [Double]) -> [Double] { zip(x, s).map { $0 * $1 } }

    func apply(_ x: [Double]) -> [Double] { Self.reflect(u, scaled(Self.reflect(v, x), by: d)) }
    func applyTransposed(_ x: [Double]) -> [Double] { Self.reflect(v, scaled(Self.reflect(u, x), by: d)) }
    func inverse(_ x: [Double]) -> [Double] { Self.reflect(v, scaled(Self.reflect(u, x), by: d.map { 1 / $0 })) }
    func inverseTransposed(_ x: [Double]) -> [Double] { Self.reflect(u, scaled(Self.reflect(v, x), by: d.map { 1 / $0 })) }
}

@Suite struct LinearSolverTests {
    static let n = 24
    /// Eigenvalues 1…24 (condition number 24).
    let spd = KnownMatrix(d: (1...n).map(Double.init), seed: 31, symmetric: true)
    /// Singular values 1…24 with different left and right reflections: not symmetric.
    let nonSymmetric = KnownMatrix(d: (1...n).map(Double.init), seed: 32, symmetric: false)
    /// Eigenvalues ±1…±12: symmetric indefinite.
    let indefinite = KnownMatrix(d: (1...n).map { (i: Int) -> Double in
        let magnitude = Double((i + 1) / 2)
        return i % 2 == 0 ? magnitude : -magnitude
    }, seed: 33, symmetric: true)

    func truth(_ seed: UInt64) -> [Double] { TestSupport.randomMatrix(Self.n, 1, seed: seed).values }

    func check(_ solution: LinearSolution, _ truth: [Double], tolerance: Double, _ label: String) -> Double {
        let error = TestSupport.relativeError(solution.x, truth)
        #expect(solution.converged, "\(label)")
        #expect(solution.relativeResidual <= tolerance, "\(label)")
        #expect(error < 1e-8, "\(label): relative error \(error)")
        print("\(label): iterations \(solution.iterations), relative residual \(solution.relativeResidual), relative error \(error)")
        return error
    }

    @Test func everySolverSolvesAnSPDSystem() {
        let x = truth(41), b = spd.apply(x)
        let solvers: [(String, any LinearSolver)] = [
            ("CG", ConjugateGradient(tolerance: 1e-12)),
            ("Cholesky", CholeskySolver(tolerance: 1e-12)),
            ("GMRES", GMRES(tolerance: 1e-12)),
            ("GMRES(restart 5)", GMRES(tolerance: 1e-12, restart: 5)),
        ]
        for (label, solver) in solvers {
            let solution = solver.solve(spd.apply, b, initialGuess: nil)
            _ = check(solution, x, tolerance: 1e-12, "SPD, \(label)")
        }
        #expect(CholeskySolver().solve(spd.apply, b, initialGuess: nil).iterations == Self.n)
    }

    @Test func gmresSolvesANonSymmetricSystemThatCholeskyRefuses() {
        let x = truth(42), b = nonSymmetric.apply(x)
        let gmres = GMRES(tolerance: 1e-12).solve(nonSymmetric.apply, b, initialGuess: nil)
        _ = check(gmres, x, tolerance: 1e-12, "non-symmetric, GMRES")
        #expect(gmres.iterations <= Self.n)
        // Cholesky solves the symmetric part's system (or finds it indefinite): the true residual says so.
        let cholesky = CholeskySolver(tolerance: 1e-8).solve(nonSymmetric.apply, b, initialGuess: nil)
        #expect(!cholesky.converged)
        #expect(cholesky.relativeResidual > 1e-3)
    }

    @Test func onASymmetricIndefiniteSystemOnlyGMRESConverges() {
        // b weighted towards the negative eigenvectors: bᵀ A b < 0, so CG's first
        // curvature is negative and it must stop without claiming success.
        let weights = (0..<Self.n).map { indefinite.d[$0] < 0 ? 2.0 : 1.0 }
        let b = KnownMatrix.reflect(indefinite.u, weights)
        #expect(dot(b, indefinite.apply(b)) < 0)
        let x = indefinite.inverse(b)
        let cg = ConjugateGradient(tolerance: 1e-10).solve(indefinite.apply, b, initialGuess: nil)
        #expect(!cg.converged)
        #expect(cg.relativeResidual > 0.1)
        let cholesky = CholeskySolver(tolerance: 1e-10).solve(indefinite.apply, b, initialGuess: nil)
        #expect(!cholesky.converged, "not positive definite: no factorisation")
        #expect(cholesky.iterations == Self.n)
        #expect(cholesky.x == [Double](repeating: 0, count: Self.n))
        let gmres = GMRES(tolerance: 1e-12).solve(indefinite.apply, b, initialGuess: nil)
        _ = check(gmres, x, tolerance: 1e-12, "indefinite, GMRES")
    }

    @Test func gmresReportsTheTrueResidualWhenCapped() {
        let b = truth(43)
        let solution = GMRES(tolerance: 1e-14, maxIterations: 4, restart: 3).solve(nonSymmetric.apply, b, initialGuess: nil)
        #expect(!solution.converged)
        #expect(solution.iterations == 4)
        let r = difference(b, nonSymmetric.apply(solution.x))
        #expect(abs(solution.residualNorm - norm(r)) <= 1e-12 * norm(b))
        #expect(solution.relativeResidual < 1, "GMRES never increases the residual")
    }

    @Test func warmStartsAtTheAnswerTakeNoIteration() {
        let x = truth(44), b = nonSymmetric.apply(x)
        let gmres = GMRES(tolerance: 1e-8).solve(nonSymmetric.apply, b, initialGuess: x)
        #expect(gmres.iterations == 0 && gmres.converged)
    }

    @Test func choleskyRefusesAboveItsMaximumDimension() {
        var products = 0
        let solution = CholeskySolver(maxDimension: 10).solve({ products += 1; return spd.apply($0) }, truth(45), initialGuess: nil)
        #expect(!solution.converged)
        #expect(solution.iterations == 0)
        #expect(products == 1, "only the certificate's product")
    }

    @Test func choleskyFactorizationSolvesSeveralRightHandSides() throws {
        // A = [[4, 2], [2, 3]]: L = [[2, 0], [1, √2]].
        let factor = try #require(CholeskyFactorization(symmetric: [4, 2, 2, 3], dimension: 2))
        #expect(abs(factor.lower[0] - 2) < 1e-15 && abs(factor.lower[2] - 1) < 1e-15 && abs(factor.lower[3] - 2.0.squareRoot()) < 1e-15)
        // Columns (1, 0) and (0, 1): the inverse [[3, -2], [-2, 4]] / 8.
        let inverse = factor.solve(rowMajor: [1, 0, 0, 1], columns: 2)
        #expect(TestSupport.relativeError(inverse, [3.0 / 8, -2.0 / 8, -2.0 / 8, 4.0 / 8]) < 1e-15)
        #expect(CholeskyFactorization(symmetric: [1, 2, 2, 1], dimension: 2) == nil)
    }
}
