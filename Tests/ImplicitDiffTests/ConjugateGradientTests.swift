import Testing
import DistillNumerics
import _TestSupport
@testable import ImplicitDiff

@Suite struct ConjugateGradientTests {
    /// A = Bᵀ B + I, SPD.
    func spd(_ n: Int) -> Matrix {
        let b = TestSupport.randomMatrix(n, n, seed: 21)
        return b.transposedMultiplied(by: b).adding(Matrix(rows: n, columns: n, values: (0..<(n * n)).map { $0 % (n + 1) == 0 ? 1 : 0 }))
    }

    func apply(_ a: Matrix, _ x: [Double]) -> [Double] {
        a.multiplied(by: Matrix(rows: x.count, columns: 1, values: x)).values
    }

    @Test func solvesAnSPDSystem() {
        let a = spd(30)
        let truth = TestSupport.randomMatrix(30, 1, seed: 22).values
        let b = apply(a, truth)
        let solution = ConjugateGradient(tolerance: 1e-12).solve({ apply(a, $0) }, b, initialGuess: nil)
        #expect(solution.converged)
        #expect(solution.relativeResidual <= 1e-12)
        #expect(TestSupport.relativeError(solution.x, truth) < 1e-9)
        #expect(solution.iterations <= 60)
    }

    @Test func warmStartAtTheAnswerTakesNoIteration() {
        let a = spd(10)
        let truth = TestSupport.randomMatrix(10, 1, seed: 23).values
        let solution = ConjugateGradient(tolerance: 1e-8).solve({ apply(a, $0) }, apply(a, truth), initialGuess: truth)
        #expect(solution.iterations == 0)
        #expect(solution.converged)
    }

    @Test func reportsTheTrueResidualWhenCapped() {
        let a = spd(30)
        let b = TestSupport.randomMatrix(30, 1, seed: 24).values
        let solution = ConjugateGradient(tolerance: 1e-14, maxIterations: 3).solve({ apply(a, $0) }, b, initialGuess: nil)
        #expect(!solution.converged)
        #expect(solution.iterations == 3)
        let r = zip(b, apply(a, solution.x)).map { $0 - $1 }
        #expect(abs(solution.residualNorm - norm(r)) <= 1e-12 * norm(b))
    }

    @Test func stopsOnAnIndefiniteSystem() {
        // diag(1, -1): pᵀ A p can be 0 or negative; CG must not claim success.
        let solution = ConjugateGradient(tolerance: 1e-10).solve({ [$0[0], -$0[1]] }, [1, 1], initialGuess: nil)
        #expect(!solution.converged)
    }

    @Test func rootVJPOfALinearCondition() {
        // F(x, θ) = A x - θ: x* = A⁻¹ θ, so g ∂x*/∂θ = A⁻ᵀ g.
        struct Linear: RootCondition {
            let a: Matrix
            var dimension: Int { a.rows }
            var isSymmetric: Bool { true }
            func solutionVJP(_ u: [Double]) -> [Double] { a.transposedMultiplied(by: Matrix(rows: u.count, columns: 1, values: u)).values }
            func solutionJVP(_ v: [Double]) -> [Double] { a.multiplied(by: Matrix(rows: v.count, columns: 1, values: v)).values }
            func parametersVJP(_ u: [Double]) -> [Double] { u.map { -$0 } }
            func parametersJVP(_ t: [Double]) -> [Double] { t.map { -$0 } }
        }
        let a = spd(12)
        let g = TestSupport.randomMatrix(12, 1, seed: 25).values
        let result = rootVJP(Linear(a: a), cotangent: g, solver: ConjugateGradient(tolerance: 1e-13))
        #expect(TestSupport.relativeError(apply(a, result.cotangent), g) < 1e-10)
    }
}

@Suite struct ConjugateGradientRecurrenceResidualTests {
    /// Without the recomputed residual: the same x, one product fewer, and the
    /// recurrence's residual, which tracks the true one.
    @Test func skippingTheResidualProductKeepsTheSolution() {
        let b0 = TestSupport.randomMatrix(25, 25, seed: 31)
        let a = b0.transposedMultiplied(by: b0).adding(Matrix(rows: 25, columns: 25, values: (0..<625).map { $0 % 26 == 0 ? 1 : 0 }))
        let rhs = TestSupport.randomMatrix(25, 1, seed: 32).values
        var products = [0, 0]
        func solve(recomputing: Bool, _ counter: Int) -> LinearSolution {
            ConjugateGradient(tolerance: 1e-8, recomputesResidual: recomputing).solve({ x in
                products[counter] += 1
                return a.multiplied(by: Matrix(rows: 25, columns: 1, values: x)).values
            }, rhs, initialGuess: nil)
        }
        let checked = solve(recomputing: true, 0), unchecked = solve(recomputing: false, 1)
        #expect(checked.x == unchecked.x)
        #expect(checked.iterations == unchecked.iterations)
        #expect(products[1] == products[0] - 1)
        #expect(unchecked.converged)
        #expect(abs(unchecked.residualNorm - checked.residualNorm) <= 1e-6 * norm(rhs))
    }
}
