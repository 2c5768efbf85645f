import DistillNumerics
import Foundation
import Testing

@Suite struct LBFGSTests {
    /// Rosenbrock's valley, f = (1-x)² + 100 (y-x²)², minimum 0 at (1, 1).
    @Test func findsRosenbrocksMinimum() {
        let result = LBFGS(relativeTolerance: 1e-10, maxIterations: 500).minimize(from: [-1.2, 1]) { v in
            let x = v[0], y = v[1]
            let value = (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x)
            return (value, [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
        }
        #expect(result.converged)
        #expect(abs(result.x[0] - 1) < 1e-6 && abs(result.x[1] - 1) < 1e-6)
        #expect(result.iterations < 100)
    }

    /// An ill-conditioned quadratic ½ Σ dᵢ xᵢ² (condition number 1e4) in 50 dimensions.
    /// `stopRequested` ends the minimisation before the iteration it first answers
    /// true for, and the result says so (a sweep stopped during its ceiling).
    @Test func stopsWhenAsked() {
        let d: [Double] = (0..<50).map { pow(10, Double($0) / 49 * 4) }
        func quadratic(_ x: [Double]) -> (value: Double, gradient: [Double]) {
            var value = 0.0, gradient = [Double](repeating: 0, count: x.count)
            for i in x.indices {
                value += 0.5 * d[i] * x[i] * x[i]
                gradient[i] = d[i] * x[i]
            }
            return (value, gradient)
        }
        let start = [Double](repeating: 1, count: 50)
        var asked = 0
        let result = LBFGS(relativeTolerance: 1e-8).minimize(from: start, stopRequested: { asked += 1; return asked > 3 }, quadratic)
        #expect(result.stopped && result.iterations == 3 && !result.converged)
        let whole = LBFGS(relativeTolerance: 1e-8).minimize(from: start, quadratic)
        #expect(!whole.stopped && whole.converged)
    }

    @Test func certifiesTheGradientNormOnAQuadratic() {
        let d: [Double] = (0..<50).map { pow(10, Double($0) / 49 * 4) }
        let start = [Double](repeating: 1, count: 50)
        let result = LBFGS(relativeTolerance: 1e-8).minimize(from: start) { x in
            var value = 0.0, gradient = [Double](repeating: 0, count: x.count)
            for i in x.indices {
                value += 0.5 * d[i] * x[i] * x[i]
                gradient[i] = d[i] * x[i]
            }
            return (value, gradient)
        }
        #expect(result.converged && result.gradientNorm <= result.tolerance)
        // ‖x‖ ≤ ‖D x‖ / min dᵢ = ‖∇f‖ (min dᵢ = 1).
        #expect(result.x.map { $0 * $0 }.reduce(0, +).squareRoot() <= result.tolerance)
    }

}
