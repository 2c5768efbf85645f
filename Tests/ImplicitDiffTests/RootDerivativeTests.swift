import Foundation
import Testing
import DistillNumerics
import _TestSupport
@testable import ImplicitDiff

/// `F(x, θ) = A x - B θ` with a non-symmetric `A` of known inverse: `x* = A⁻¹ B θ`,
/// so `∂x*/∂θ = A⁻¹ B`, `g ∂x*/∂θ = Bᵀ A⁻ᵀ g` and `∂x*/∂θ θ̇ = A⁻¹ B θ̇` in closed form.
struct AffineCondition: RootCondition {
    let a: KnownMatrix
    let b: Matrix   // n x k
    var dimension: Int { a.n }
    var isSymmetric: Bool { false }
    func solutionVJP(_ u: [Double]) -> [Double] { a.applyTransposed(u) }
    func solutionJVP(_ v: [Double]) -> [Double] { a.apply(v) }
    func parametersVJP(_ u: [Double]) -> [Double] {
        b.transposedMultiplied(by: Matrix(rows: u.count, columns: 1, values: u)).values.map { -$0 }
    }
    func parametersJVP(_ t: [Double]) -> [Double] {
        b.multiplied(by: Matrix(rows: t.count, columns: 1, values: t)).values.map { -$0 }
    }
}

@Suite struct RootDerivativeTests {
    let condition = AffineCondition(a: KnownMatrix(d: (1...20).map { 0.5 + Double($0) }, seed: 51, symmetric: false),
                                    b: TestSupport.randomMatrix(20, 7, seed: 52))

    @Test func rootVJPMatchesTheClosedForm() {
        let g = TestSupport.randomMatrix(20, 1, seed: 53).values
        let closed = condition.b.transposedMultiplied(by: Matrix(rows: 20, columns: 1, values: condition.a.inverseTransposed(g))).values
        let result = rootVJP(condition, cotangent: g)   // default solver: GMRES (not symmetric)
        #expect(result.solve.converged)
        let error = TestSupport.relativeError(result.cotangent, closed)
        print("rootVJP vs closed form (non-symmetric, GMRES): relative error \(error)")
        #expect(error < 1e-9)
        let cg = rootVJP(condition, cotangent: g, solver: ConjugateGradient())
        #expect(!cg.solve.converged || TestSupport.relativeError(cg.cotangent, closed) < 1e-8,
                "CG may fail on a non-symmetric system, but must not claim a wrong answer")
    }

    @Test func rootJVPMatchesTheClosedForm() {
        let tangent = TestSupport.randomMatrix(7, 1, seed: 54).values
        let closed = condition.a.inverse(condition.b.multiplied(by: Matrix(rows: 7, columns: 1, values: tangent)).values)
        for solver: any LinearSolver in [GMRES(tolerance: 1e-12), GMRES(tolerance: 1e-12, restart: 4)] {
            let result = rootJVP(condition, tangent: tangent, solver: solver)
            #expect(result.solve.converged)
            let error = TestSupport.relativeError(result.tangent, closed)
            print("rootJVP vs closed form (\(solver)): relative error \(error)")
            #expect(error < 1e-9)
        }
    }

    @Test func rootJVPAndRootVJPAreAdjoint() {
        let g = TestSupport.randomMatrix(20, 1, seed: 55).values
        let tangent = TestSupport.randomMatrix(7, 1, seed: 56).values
        let forward = dot(g, rootJVP(condition, tangent: tangent, solver: GMRES(tolerance: 1e-13)).tangent)
        let reverse = dot(rootVJP(condition, cotangent: g, solver: GMRES(tolerance: 1e-13)).cotangent, tangent)
        #expect(abs(forward - reverse) < 1e-11 * abs(forward))
    }
}

/// The fixed-point adapter on contractions.
@Suite struct FixedPointConditionTests {
    /// Iterates `x ← T(x)` from 0 until the step is below 1e-15 (a contraction converges).
    func fixedPoint(_ map: ([Double]) -> [Double], dimension: Int) -> [Double] {
        var x = [Double](repeating: 0, count: dimension)
        for _ in 0..<10_000 {
            let next = map(x)
            let step = norm(difference(next, x))
            x = next
            if step <= 1e-15 * max(1, norm(x)) { break }
        }
        return x
    }

    /// Elementwise `T(x, θ) = a cos(x) + θ` (`|∂T/∂x| ≤ a < 1`): at the fixed point
    /// `x = a cos(x) + θ`, so `dx*_i/dθ_i = 1 / (1 + a sin(x*_i))`, diagonal.
    @Test func elementwiseContractionMatchesTheClosedForm() {
        let a = 0.6, n = 8
        let theta = TestSupport.randomMatrix(n, 1, seed: 61).values
        let x = fixedPoint({ zip($0, theta).map { a * cos($0) + $1 } }, dimension: n)
        let jacobian = x.map { -a * sin($0) }   // ∂T/∂x, diagonal
        let condition = FixedPointCondition<[Double], [Double]>(
            dimension: n, isSymmetric: true,
            solutionVJP: { zip($0, jacobian).map { $0 * $1 } },
            solutionJVP: { zip($0, jacobian).map { $0 * $1 } },
            parametersVJP: { $0 }, parametersJVP: { $0 })
        let closed = x.map { 1 / (1 + a * sin($0)) }
        let g = TestSupport.randomMatrix(n, 1, seed: 62).values
        let vjp = rootVJP(condition, cotangent: g)
        let jvp = rootJVP(condition, tangent: g)
        #expect(vjp.solve.converged && jvp.solve.converged)
        let expected = zip(g, closed).map { $0 * $1 }
        let errors = (TestSupport.relativeError(vjp.cotangent, expected), TestSupport.relativeError(jvp.tangent, expected))
        print("fixed point, elementwise cos: rootVJP \(errors.0), rootJVP \(errors.1) relative error vs closed form")
        #expect(errors.0 < 1e-9 && errors.1 < 1e-9)
    }

    /// A coupled, non-symmetric contraction `T(x, θ) = ½ tanh(M x + θ)` with
    /// `‖M‖₂ ≤ 1` (M = U diag(d) V, d ≤ 1): the implicit derivative against central
    /// finite differences of the solution found by iteration.
    @Test func coupledContractionMatchesFiniteDifferences() {
        let n = 10
        let m = KnownMatrix(d: (0..<n).map { 0.3 + 0.07 * Double($0) }, seed: 63, symmetric: false)
        let theta = TestSupport.randomMatrix(n, 1, seed: 64).values
        func map(_ x: [Double], _ theta: [Double]) -> [Double] { zip(m.apply(x), theta).map { 0.5 * tanh($0 + $1) } }
        let x = fixedPoint({ map($0, theta) }, dimension: n)
        // ∂T/∂x = D M and ∂T/∂θ = D with D = diag(½ sech²(M x + θ)).
        let d = zip(m.apply(x), theta).map { 0.5 / pow(cosh($0 + $1), 2) }
        func diag(_ v: [Double]) -> [Double] { zip(v, d).map { $0 * $1 } }
        let condition = FixedPointCondition<[Double], [Double]>(
            dimension: n,
            solutionVJP: { m.applyTransposed(diag($0)) },
            solutionJVP: { diag(m.apply($0)) },
            parametersVJP: diag, parametersJVP: diag)
        let g = TestSupport.randomMatrix(n, 1, seed: 65).values
        let vjp = rootVJP(condition, cotangent: g)
        #expect(vjp.solve.converged)
        let numeric = TestSupport.centralDifferences(of: { t in dot(g, fixedPoint({ map($0, t) }, dimension: n)) }, at: theta, step: 1e-5)
        let vjpError = TestSupport.relativeError(vjp.cotangent, numeric)
        let tangent = TestSupport.randomMatrix(n, 1, seed: 66).values
        let jvp = rootJVP(condition, tangent: tangent)
        #expect(jvp.solve.converged)
        let h = 1e-5
        let plus = fixedPoint({ map($0, zip(theta, tangent).map { $0 + h * $1 }) }, dimension: n)
        let minus = fixedPoint({ map($0, zip(theta, tangent).map { $0 - h * $1 }) }, dimension: n)
        let jvpError = TestSupport.relativeError(jvp.tangent, difference(plus, minus).map { $0 / (2 * h) })
        print("fixed point, coupled tanh: rootVJP \(vjpError), rootJVP \(jvpError) relative error vs central differences")
        #expect(vjpError < 1e-8 && jvpError < 1e-8)
    }
}
