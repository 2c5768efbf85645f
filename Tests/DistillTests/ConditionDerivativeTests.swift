import Testing
import DistillNumerics
import ImplicitDiff
import _TestSupport
@testable import Distill

/// The linear maps of every inner model's condition against central finite
/// differences, at a point that is not a solution (the maps are partial
/// derivatives and hold anywhere).
@Suite struct ConditionDerivativeTests {
    let m = 6, p = 5, classes = 3
    var images: Matrix { TestSupport.randomMatrix(m, p, seed: 101, scale: 0.6) }
    var labels: Matrix {
        TestSupport.oneHot([0, 1, 2, 0, 1, 2], classes: classes).adding(TestSupport.randomMatrix(m, classes, seed: 102, scale: 0.3))
    }
    let l2 = 0.2

    // MARK: softmax regression

    @Test func softmaxParametersJVPMatchesFiniteDifferences() {
        let w = TestSupport.randomMatrix(p, classes, seed: 103, scale: 0.5)
        let d = DerivativeCheck.direction(images: m, features: p, classes: classes, seed: 104)
        let problem = SoftmaxRegression(images: images, labels: labels, l2: l2)
        let condition = SoftmaxRegressionCondition(problem: problem, solution: problem.evaluate(at: w))
        let numeric = DerivativeCheck.directional { h in
            let (s, t, l) = DerivativeCheck.moved(images, labels, l2, along: d, by: h)
            return SoftmaxRegression(images: s, labels: t, l2: l).evaluate(at: w).gradient.values
        }
        let error = DerivativeCheck.report("softmax", [("parametersJVP", condition.parametersJVP(d), numeric)])
        #expect(error < 1e-8)
    }

    /// rootJVP through softmax regression: the tangent of W*(θ) along a direction,
    /// against central differences of re-solved W*.
    @Test func softmaxRootJVPMatchesFiniteDifferencesOfTheSolution() {
        let d = DerivativeCheck.direction(images: m, features: p, classes: classes, seed: 105)
        let solver = NewtonCG(relativeTolerance: 1e-13)
        func solve(_ h: Double) -> [Double] {
            let (s, t, l) = DerivativeCheck.moved(images, labels, l2, along: d, by: h)
            return solver.solve(SoftmaxRegression(images: s, labels: t, l2: l)).weights.values
        }
        let problem = SoftmaxRegression(images: images, labels: labels, l2: l2)
        let inner = solver.solve(problem)
        #expect(inner.converged)
        let condition = SoftmaxRegressionCondition(problem: problem, solution: inner.evaluation)
        var worst = 0.0
        for solver: any LinearSolver in [ConjugateGradient(tolerance: 1e-12), CholeskySolver(tolerance: 1e-12), GMRES(tolerance: 1e-12)] {
            let jvp = rootJVP(condition, tangent: d, solver: solver)
            #expect(jvp.solve.converged)
            worst = max(worst, DerivativeCheck.report("softmax rootJVP (\(type(of: solver)))",
                                                      [("dW*", jvp.tangent, DerivativeCheck.directional(solve))]))
        }
        #expect(worst < 1e-7)
    }

    // MARK: ridge regression

    @Test func ridgeMapsMatchFiniteDifferences() {
        let w = TestSupport.randomMatrix(p, classes, seed: 106, scale: 0.5)
        let problem = RidgeRegression(images: images, labels: labels, l2: l2)
        let condition = RidgeRegressionCondition(problem: problem, weights: w)
        let u = TestSupport.randomMatrix(p, classes, seed: 107)
        let d = DerivativeCheck.direction(images: m, features: p, classes: classes, seed: 108)
        func pairing(_ s: Matrix, _ t: Matrix, _ l: Double) -> Double { u.dot(RidgeRegression(images: s, labels: t, l2: l).gradient(at: w)) }
        let vjp = condition.parametersVJP(u.values)
        let gradientFD = TestSupport.centralDifferences(of: { problem.value(at: Matrix(rows: p, columns: classes, values: $0)) }, at: w.values, step: 1e-5)
        let hessianFD = DerivativeCheck.directional { problem.gradient(at: w.adding(u, scaledBy: $0)).values }
        let jvpFD = DerivativeCheck.directional { h in
            let (s, t, l) = DerivativeCheck.moved(images, labels, l2, along: d, by: h)
            return RidgeRegression(images: s, labels: t, l2: l).gradient(at: w).values
        }
        let vjpError = DerivativeCheck.compare("ridge parametersVJP", vjp, with: pairing, at: images, labels, l2)
        let error = DerivativeCheck.report("ridge", [
            ("gradient", problem.gradient(at: w).values, gradientFD),
            ("solutionVJP (Hessian)", condition.solutionVJP(u.values), hessianFD),
            ("parametersJVP", condition.parametersJVP(d), jvpFD),
        ])
        #expect(max(error, vjpError) < 1e-8)
    }

    // MARK: kernel ridge regression

    @Test func kernelRidgeMapsMatchFiniteDifferences() {
        let gamma = 0.3
        let alpha = TestSupport.randomMatrix(m, classes, seed: 109)
        let problem = KernelRidgeRegression(images: images, labels: labels, l2: l2, bandwidth: gamma)
        let condition = KernelRidgeCondition(problem: problem, coefficients: alpha)
        func residual(_ s: Matrix, _ t: Matrix, _ l: Double, _ a: Matrix) -> [Double] {
            KernelRidgeCondition(problem: KernelRidgeRegression(images: s, labels: t, l2: l, bandwidth: gamma), coefficients: a)
                .solutionVJP(a.values).enumerated().map { $1 - t.values[$0] }   // (K + λmI) α - T
        }
        let u = TestSupport.randomMatrix(m, classes, seed: 110)
        func pairing(_ s: Matrix, _ t: Matrix, _ l: Double) -> Double { zip(u.values, residual(s, t, l, alpha)).reduce(0) { $0 + $1.0 * $1.1 } }
        let d = DerivativeCheck.direction(images: m, features: p, classes: classes, seed: 111)
        let vjp = condition.parametersVJP(u.values)
        let vjpError = DerivativeCheck.compare("kernel ridge parametersVJP", vjp, with: pairing, at: images, labels, l2)
        let error = DerivativeCheck.report("kernel ridge", [
            ("solutionVJP", condition.solutionVJP(u.values),
             DerivativeCheck.directional { residual(images, labels, l2, alpha.adding(u, scaledBy: $0)) }),
            ("parametersJVP", condition.parametersJVP(d), DerivativeCheck.directional { h in
                let (s, t, l) = DerivativeCheck.moved(images, labels, l2, along: d, by: h)
                return residual(s, t, l, alpha)
            }),
        ])
        #expect(max(error, vjpError) < 1e-8)
    }

    /// The kernel model's training-set loss: its gradients in α and (explicitly) in S.
    @Test func kernelRidgeTrainingSetLossGradientsMatchFiniteDifferences() {
        let gamma = 0.3
        let train = DerivativeCheck.trainingSet(count: 25, features: p, classes: classes, seed: 112)
        let alpha = TestSupport.randomMatrix(m, classes, seed: 113)
        func loss(_ s: Matrix, _ a: Matrix) -> Double {
            KernelRidgeRegression(images: s, labels: labels, l2: l2, bandwidth: gamma).trainingSetLoss(on: train.data, coefficients: a).loss
        }
        let pass = KernelRidgeRegression(images: images, labels: labels, l2: l2, bandwidth: gamma).trainingSetLoss(on: train.data, coefficients: alpha)
        // Against softmax cross-entropy of K(X, S) α computed by the Double matrix route.
        let predictions = KernelRidgeRegression(images: images, labels: labels, l2: l2, bandwidth: gamma).predictions(on: train.x, coefficients: alpha)
        let reference = SoftmaxRegression(images: predictions, labels: train.y, l2: 0).value(at: identity(classes))
        #expect(abs(pass.loss - reference) < 1e-12 * reference)
        let error = DerivativeCheck.report("kernel ridge training loss", [
            ("∂L/∂α", pass.coefficientGradient.values,
             TestSupport.centralDifferences(of: { loss(images, Matrix(rows: m, columns: classes, values: $0)) }, at: alpha.values, step: 1e-5)),
            ("∂L/∂S (explicit)", pass.imageGradient.values,
             TestSupport.centralDifferences(of: { loss(Matrix(rows: m, columns: p, values: $0), alpha) }, at: images.values, step: 1e-5)),
        ])
        #expect(error < 1e-8)
    }

    func identity(_ n: Int) -> Matrix {
        var i = Matrix(zeros: n, n)
        for k in 0..<n { i[k, k] = 1 }
        return i
    }
}
