import Testing
import DistillNumerics
import ImplicitDiff
import _TestSupport
@testable import Distill

/// Every derivative of the inner problem against central finite differences in Double.
@Suite struct SoftmaxRegressionDerivativeTests {
    let m = 6, p = 9, classes = 4
    var images: Matrix { TestSupport.randomMatrix(m, p, seed: 1, scale: 0.7) }
    var softLabels: Matrix {
        // Free real-valued labels: rows need not be probability vectors.
        TestSupport.randomMatrix(m, classes, seed: 2, scale: 0.5)
            .adding(TestSupport.oneHot([0, 1, 2, 3, 0, 2], classes: classes))
    }
    var weights: Matrix { TestSupport.randomMatrix(p, classes, seed: 3, scale: 0.4) }

    @Test(arguments: [false, true])
    func gradientMatchesFiniteDifferences(soft: Bool) {
        let labels = soft ? softLabels : TestSupport.oneHot([0, 1, 2, 3, 0, 2], classes: classes)
        let problem = SoftmaxRegression(images: images, labels: labels, l2: 0.3)
        let w = weights
        let analytic = problem.evaluate(at: w).gradient.values
        let numeric = TestSupport.centralDifferences(of: { problem.value(at: Matrix(rows: p, columns: classes, values: $0)) },
                                                     at: w.values, step: 1e-5)
        #expect(TestSupport.relativeError(analytic, numeric) < 1e-8)
    }

    @Test func hessianProductMatchesFiniteDifferencesOfGradient() {
        let problem = SoftmaxRegression(images: images, labels: softLabels, l2: 0.3)
        let w = weights
        let v = TestSupport.randomMatrix(p, classes, seed: 4)
        let analytic = problem.hessianProduct(probabilities: problem.evaluate(at: w).probabilities, v).values
        let h = 1e-5
        let plus = problem.evaluate(at: w.adding(v, scaledBy: h)).gradient
        let minus = problem.evaluate(at: w.adding(v, scaledBy: -h)).gradient
        let numeric = plus.adding(minus, scaledBy: -1).scaled(by: 1 / (2 * h)).values
        #expect(TestSupport.relativeError(analytic, numeric) < 1e-8)
    }

    @Test func hessianProductIsSymmetric() {
        let problem = SoftmaxRegression(images: images, labels: softLabels, l2: 0.3)
        let prob = problem.evaluate(at: weights).probabilities
        let a = TestSupport.randomMatrix(p, classes, seed: 5), b = TestSupport.randomMatrix(p, classes, seed: 6)
        let left = a.dot(problem.hessianProduct(probabilities: prob, b))
        let right = b.dot(problem.hessianProduct(probabilities: prob, a))
        #expect(abs(left - right) < 1e-12 * max(1, abs(left)))
    }

    /// ⟨U, F(W, S, T, λ)⟩ differentiated in S, T and λ at a fixed W (not a solution:
    /// the parameters-VJP is a partial derivative and holds anywhere).
    @Test func parametersVJPMatchesFiniteDifferences() {
        let s = images, t = softLabels, w = weights, l2 = 0.3
        let u = TestSupport.randomMatrix(p, classes, seed: 7)
        func pairing(_ s: Matrix, _ t: Matrix, _ l2: Double) -> Double {
            u.dot(SoftmaxRegression(images: s, labels: t, l2: l2).evaluate(at: w).gradient)
        }
        let problem = SoftmaxRegression(images: s, labels: t, l2: l2)
        let condition = SoftmaxRegressionCondition(problem: problem, solution: problem.evaluate(at: w))
        let vjp = condition.parametersVJP(u.values)
        let dS = TestSupport.centralDifferences(of: { pairing(Matrix(rows: m, columns: p, values: $0), t, l2) }, at: s.values, step: 1e-5)
        let dT = TestSupport.centralDifferences(of: { pairing(s, Matrix(rows: m, columns: classes, values: $0), l2) }, at: t.values, step: 1e-5)
        let dL = (pairing(s, t, l2 + 1e-5) - pairing(s, t, l2 - 1e-5)) / 2e-5
        #expect(TestSupport.relativeError(vjp.images.values, dS) < 1e-8)
        #expect(TestSupport.relativeError(vjp.labels.values, dT) < 1e-8)
        #expect(abs(vjp.l2 - dL) < 1e-8 * max(1, abs(dL)))
    }

    /// The whole chain: L(W*(S, T, λ)) for an outer set, with W* re-solved on each
    /// side of every finite difference.
    @Test func hypergradientMatchesFiniteDifferencesOfTheOuterLoss() {
        let s = images, t = softLabels, l2 = 0.3
        let outerImages = TestSupport.randomMatrix(40, p, seed: 8, scale: 0.7)
        let outerLabels = TestSupport.oneHot((0..<40).map { $0 % classes }, classes: classes)
        // The outer loss is the unregularised cross-entropy on the outer set.
        let outer = SoftmaxRegression(images: outerImages, labels: outerLabels, l2: 0)
        let solver = NewtonCG(relativeTolerance: 1e-13)
        var unconverged = 0
        func outerLoss(_ s: Matrix, _ t: Matrix, _ l2: Double) -> Double {
            let solution = solver.solve(SoftmaxRegression(images: s, labels: t, l2: l2))
            if !solution.converged { unconverged += 1 }
            return outer.value(at: solution.weights)
        }
        let problem = SoftmaxRegression(images: s, labels: t, l2: l2)
        let inner = solver.solve(problem)
        #expect(inner.converged)
        let g = outer.evaluate(at: inner.weights).gradient
        let hyper = Hypergradient(problem: problem, solution: inner, outerGradient: g,
                                  solver: ConjugateGradient(tolerance: 1e-13))
        #expect(hyper.solve.converged)
        let h = 1e-5
        let dS = TestSupport.centralDifferences(of: { outerLoss(Matrix(rows: m, columns: p, values: $0), t, l2) }, at: s.values, step: h)
        let dT = TestSupport.centralDifferences(of: { outerLoss(s, Matrix(rows: m, columns: classes, values: $0), l2) }, at: t.values, step: h)
        let dL = (outerLoss(s, t, l2 + h) - outerLoss(s, t, l2 - h)) / (2 * h)
        #expect(unconverged == 0, "every finite-difference side must be solved to the tolerance")
        #expect(TestSupport.relativeError(hyper.cotangent.images.values, dS) < 1e-5)
        #expect(TestSupport.relativeError(hyper.cotangent.labels.values, dT) < 1e-5)
        #expect(abs(hyper.cotangent.l2 - dL) < 1e-5 * abs(dL))
    }
}

@Suite struct NewtonCGTests {
    let problem = SoftmaxRegression(images: TestSupport.randomMatrix(20, 30, seed: 11, scale: 0.5),
                                    labels: TestSupport.oneHot((0..<20).map { $0 % 5 }, classes: 5), l2: 0.05)

    @Test func meetsItsTolerance() {
        for tolerance in [1e-4, 1e-6, 1e-10] {
            let solution = NewtonCG(relativeTolerance: tolerance).solve(problem)
            #expect(solution.converged)
            #expect(solution.gradientNorm <= solution.tolerance)
            #expect(solution.gradientNorm == problem.evaluate(at: solution.weights).gradient.norm)
            let scale = problem.evaluate(at: Matrix(zeros: 30, 5)).gradient.norm
            #expect(abs(solution.tolerance - tolerance * scale) <= 1e-15 * scale)
        }
    }

    @Test func warmStartTakesFewerIterations() {
        let solver = NewtonCG(relativeTolerance: 1e-8)
        let cold = solver.solve(problem)
        // A slightly moved problem, as after one outer step.
        let moved = SoftmaxRegression(images: problem.images.adding(TestSupport.randomMatrix(20, 30, seed: 12), scaledBy: 1e-3),
                                      labels: problem.labels, l2: problem.l2)
        let coldMoved = solver.solve(moved)
        let warmMoved = solver.solve(moved, from: cold.weights)
        #expect(warmMoved.converged && coldMoved.converged)
        #expect(warmMoved.iterations < coldMoved.iterations)
        #expect(warmMoved.hessianProducts < coldMoved.hessianProducts)
    }

    @Test func reportsFailureWhenCappedEarly() {
        let solution = NewtonCG(relativeTolerance: 1e-12, maxIterations: 1).solve(problem)
        #expect(!solution.converged)
        #expect(solution.iterations == 1)
    }
}

@Suite struct ClassMeanPullTests {
    @Test func gradientMatchesFiniteDifferences() {
        let means = TestSupport.randomMatrix(3, 8, seed: 31)
        let pull = ClassMeanPull(weight: 0.07, classMeans: means, imageClasses: [0, 0, 1, 2, 2])
        let images = TestSupport.randomMatrix(5, 8, seed: 32)
        let numeric = TestSupport.centralDifferences(of: { pull.value(Matrix(rows: 5, columns: 8, values: $0)) }, at: images.values, step: 1e-5)
        #expect(TestSupport.relativeError(pull.gradient(images).values, numeric) < 1e-8)
    }

    @Test func valueIsTheWeightedMeanSquaredDistance() {
        let means = Matrix(rows: 2, columns: 2, values: [0, 0, 1, 1])
        let pull = ClassMeanPull(weight: 0.5, classMeans: means, imageClasses: [0, 1])
        let images = Matrix(rows: 2, columns: 2, values: [3, 4, 1, 1])   // distances² 25 and 0
        #expect(pull.value(images) == 0.5 * (25 + 0) / 2)
    }

    /// The step's one-difference form is `value` and `adding(gradient)` bit for bit.
    @Test func valueAndGradientTogetherAreTheSameBits() {
        let means = TestSupport.randomMatrix(3, 37, seed: 33)
        let pull = ClassMeanPull(weight: 0.012, classMeans: means, imageClasses: [0, 0, 1, 2, 2, 1, 0])
        let images = TestSupport.randomMatrix(7, 37, seed: 34), cotangent = TestSupport.randomMatrix(7, 37, seed: 35, scale: 1e-3)
        let together = pull.value(images, addingGradientTo: cotangent)
        #expect(together.value == pull.value(images))
        #expect(together.imageGradient == cotangent.adding(pull.gradient(images)))
    }
}

@Suite struct LogisticHessianSolverTests {
    /// The images'-space solve gives the same x as conjugate gradient on H, for
    /// any right-hand side, with its true residual certified.
    @Test(arguments: [(4, 30, 3), (10, 784, 10), (25, 40, 5)])
    func solvesTheHessianSystem(m: Int, p: Int, classes: Int) {
        let problem = SoftmaxRegression(images: TestSupport.randomMatrix(m, p, seed: 41, scale: 0.3),
                                        labels: TestSupport.oneHot((0..<m).map { $0 % classes }, classes: classes), l2: 0.05)
        let w = TestSupport.randomMatrix(p, classes, seed: 42, scale: 0.2)
        let probabilities = problem.probabilities(at: w)
        let b = TestSupport.randomMatrix(p, classes, seed: 43).values
        let matvec: ([Double]) -> [Double] = { problem.hessianProduct(probabilities: probabilities, Matrix(rows: p, columns: classes, values: $0)).values }
        let ours = LogisticHessianSolver(problem: problem, probabilities: probabilities, tolerance: 1e-11).solve(matvec, b, initialGuess: nil)
        let cg = ConjugateGradient(tolerance: 1e-12, maxIterations: 5000).solve(matvec, b, initialGuess: nil)
        #expect(ours.converged)
        #expect(ours.relativeResidual <= 1e-11)
        #expect(TestSupport.relativeError(ours.x, cg.x) < 1e-9)
    }
}
