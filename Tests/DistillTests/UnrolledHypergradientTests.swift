import Testing
import DistillNumerics
import ImplicitDiff
import _TestSupport
@testable import Distill

/// Unrolled gradient descent: exact reverse mode through N steps, and its
/// convergence to the implicit hypergradient as N grows.
@Suite struct UnrolledHypergradientTests {
    let m = 6, p = 5, classes = 3, l2 = 0.3
    var images: Matrix { TestSupport.randomMatrix(m, p, seed: 301, scale: 0.7) }
    var labels: Matrix { TestSupport.oneHot([0, 1, 2, 0, 1, 2], classes: classes) }
    var problem: SoftmaxRegression { SoftmaxRegression(images: images, labels: labels, l2: l2) }
    var outer: SoftmaxRegression {
        let train = DerivativeCheck.trainingSet(count: 40, features: p, classes: classes, seed: 302)
        return SoftmaxRegression(images: train.x, labels: train.y, l2: 0)
    }

    /// η = 1/L bounds the Hessian: Rayleigh quotients at random points stay below L.
    @Test func stepSizeBoundsTheHessian() {
        let bound = 1 / UnrolledGradientDescent.stepSize(for: problem)
        for seed in UInt64(0)..<20 {
            let w = TestSupport.randomMatrix(p, classes, seed: 310 + seed, scale: 2)
            let v = TestSupport.randomMatrix(p, classes, seed: 340 + seed)
            let rayleigh = v.dot(problem.hessianProduct(probabilities: problem.evaluate(at: w).probabilities, v)) / v.dot(v)
            #expect(rayleigh <= bound)
        }
    }

    /// The reverse pass is the exact gradient of θ ↦ L(W_N(θ)) at the same N and η.
    @Test func unrolledHypergradientMatchesFiniteDifferencesOfTheUnrolledMap() {
        let outer = self.outer
        let unrolled = UnrolledGradientDescent(steps: 25, stepSize: UnrolledGradientDescent.stepSize(for: problem))
        let trajectory = unrolled.run(problem)
        let hyper = trajectory.hypergradient(outerGradient: outer.evaluate(at: trajectory.weights).gradient)
        func loss(_ s: Matrix, _ t: Matrix, _ l: Double) -> Double {
            outer.value(at: unrolled.run(SoftmaxRegression(images: s, labels: t, l2: l)).weights)
        }
        let error = DerivativeCheck.compare("unrolled (N = 25) vs central differences of the unrolled map",
                                            hyper, with: loss, at: images, labels, l2)
        #expect(error < 1e-7)
    }

    @Test func unrolledApproachesImplicitAsStepsGrow() {
        let outer = self.outer
        let inner = NewtonCG(relativeTolerance: 1e-13).solve(problem)
        #expect(inner.converged)
        let implicit = Hypergradient(problem: problem, solution: inner, outerGradient: outer.evaluate(at: inner.weights).gradient,
                                     solver: ConjugateGradient(tolerance: 1e-13))
        let eta = UnrolledGradientDescent.stepSize(for: problem)
        var errors: [Double] = []
        for steps in [5, 10, 20, 40, 80, 160] {
            let trajectory = UnrolledGradientDescent(steps: steps, stepSize: eta).run(problem)
            let hyper = trajectory.hypergradient(outerGradient: outer.evaluate(at: trajectory.weights).gradient)
            let error = TestSupport.relativeError(hyper.images.values, implicit.cotangent.images.values)
            print("unrolled N = \(steps): ‖F(W_N)‖ = \(trajectory.gradientNorm), dL/dS relative error vs implicit \(error)")
            errors.append(error)
        }
        // Decreasing until it reaches round-off (the rate here is about (1 - ηλ)^N).
        #expect(zip(errors, errors.dropFirst()).allSatisfy { $1 < $0 || $1 < 1e-13 })
        #expect(errors.last.map { $0 < 1e-8 } == true)
    }
}
