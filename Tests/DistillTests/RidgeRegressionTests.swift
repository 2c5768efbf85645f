import Testing
import DistillNumerics
import ImplicitDiff
import _TestSupport
@testable import Distill

/// Ridge regression on one-hot targets: the closed form, rootVJP against the
/// closed-form derivative, and the training-set hypergradient against central
/// differences of the closed-form solution map.
@Suite struct RidgeRegressionTests {
    let m = 6, p = 8, classes = 3, l2 = 0.15
    var images: Matrix { TestSupport.randomMatrix(m, p, seed: 201, scale: 0.6) }
    var labels: Matrix { TestSupport.oneHot([0, 1, 2, 0, 1, 2], classes: classes) }
    var problem: RidgeRegression { RidgeRegression(images: images, labels: labels, l2: l2) }

    /// `M = SᵀS/m + λ I`, the primal system (p x p), factored independently of `solution()`.
    func primalFactor(_ s: Matrix, _ l: Double) throws -> CholeskyFactorization {
        var a = s.transposedMultiplied(by: s).scaled(by: 1 / Double(s.rows))
        for k in 0..<s.columns { a[k, k] += l }
        return try #require(CholeskyFactorization(symmetric: a.values, dimension: s.columns))
    }

    func solved(_ s: Matrix, _ t: Matrix, _ l: Double) -> Matrix {
        RidgeRegression(images: s, labels: t, l2: l).solution() ?? Matrix(zeros: s.columns, t.columns)
    }

    @Test func closedFormIsTheMinimiser() throws {
        let w = try #require(problem.solution())
        let primal = try primalFactor(images, l2).solve(rowMajor: images.transposedMultiplied(by: labels).scaled(by: 1 / Double(m)).values,
                                                        columns: classes)
        #expect(TestSupport.relativeError(w.values, primal) < 1e-12)
        #expect(problem.gradient(at: w).norm < 1e-13)
        #expect(RidgeRegression(images: images, labels: labels, l2: -1).solution() == nil, "m < p: S Sᵀ - m I is indefinite here")
    }

    /// With `M = SᵀS/m + λI`, `V = M⁻¹ G` and `R = S W* - T`, the closed form
    /// `W* = M⁻¹ SᵀT/m` differentiates to
    ///
    ///     ∂⟨G, W*⟩/∂S = -(1/m) [ R Vᵀ + S V W*ᵀ ],  ∂/∂T = (1/m) S V,  ∂/∂λ = -⟨V, W*⟩.
    @Test func rootVJPMatchesTheClosedFormDerivative() throws {
        let w = try #require(problem.solution())
        let g = TestSupport.randomMatrix(p, classes, seed: 202)
        let v = Matrix(rows: p, columns: classes, values: try primalFactor(images, l2).solve(rowMajor: g.values, columns: classes))
        let closedS = problem.residual(at: w).multipliedTransposed(by: v).adding(images.multiplied(by: v).multipliedTransposed(by: w))
            .scaled(by: -1 / Double(m))
        let closedT = images.multiplied(by: v).scaled(by: 1 / Double(m))
        let closedL = -v.dot(w)
        func pairing(_ s: Matrix, _ t: Matrix, _ l: Double) -> Double { g.dot(solved(s, t, l)) }
        var worst = 0.0
        for solver: any LinearSolver in [ConjugateGradient(tolerance: 1e-13), CholeskySolver(tolerance: 1e-12)] {
            let result = rootVJP(RidgeRegressionCondition(problem: problem, weights: w), cotangent: g.values, solver: solver)
            #expect(result.solve.converged)
            worst = max(worst, DerivativeCheck.report("ridge rootVJP (\(type(of: solver))) vs closed form", [
                ("S", result.cotangent.images.values, closedS.values),
                ("T", result.cotangent.labels.values, closedT.values),
                ("λ", [result.cotangent.l2], [closedL]),
            ]))
            worst = max(worst, DerivativeCheck.compare("ridge rootVJP (\(type(of: solver))) vs central differences of the closed form",
                                                       result.cotangent, with: pairing, at: images, labels, l2))
        }
        #expect(worst < 1e-8)
    }

    /// The distillation hypergradient with ridge as the inner model: softmax
    /// cross-entropy of `X W*` on a training set, as for logistic regression.
    @Test func trainingSetHypergradientMatchesFiniteDifferences() throws {
        let train = DerivativeCheck.trainingSet(count: 40, features: p, classes: classes, seed: 203)
        let outer = SoftmaxRegression(images: train.x, labels: train.y, l2: 0)
        let w = try #require(problem.solution())
        let g = outer.evaluate(at: w).gradient
        // The fused Float32 outer pass gives the same gradient to its precision.
        let fused = OuterPass(data: train.data, threads: 1).evaluate(weights: w.values, gradient: true)
        #expect(TestSupport.relativeError(fused.gradient, g.values) < 1e-5)
        let hyper = Hypergradient(condition: RidgeRegressionCondition(problem: problem, weights: w), outerGradient: g.values)
        #expect(hyper.solve.converged)
        func loss(_ s: Matrix, _ t: Matrix, _ l: Double) -> Double { outer.value(at: solved(s, t, l)) }
        let error = DerivativeCheck.compare("ridge training-set hypergradient vs central differences",
                                            hyper.cotangent, with: loss, at: images, labels, l2)
        #expect(error < 1e-7)
    }
}

/// Kernel ridge regression (RBF): the closed form, rootVJP on α against central
/// differences of the closed form, and the training-set hypergradient.
@Suite struct KernelRidgeRegressionTests {
    let m = 6, p = 5, classes = 3, l2 = 0.05, gamma = 0.4
    var images: Matrix { TestSupport.randomMatrix(m, p, seed: 211, scale: 0.5) }
    var labels: Matrix { TestSupport.oneHot([0, 1, 2, 0, 1, 2], classes: classes) }
    var problem: KernelRidgeRegression { KernelRidgeRegression(images: images, labels: labels, l2: l2, bandwidth: gamma) }

    func solved(_ s: Matrix, _ t: Matrix, _ l: Double) -> Matrix {
        KernelRidgeRegression(images: s, labels: t, l2: l, bandwidth: gamma).solution() ?? Matrix(zeros: s.rows, t.columns)
    }

    @Test func closedFormSatisfiesTheCondition() throws {
        let alpha = try #require(problem.solution())
        let condition = KernelRidgeCondition(problem: problem, coefficients: alpha)
        let residual = zip(condition.solutionVJP(alpha.values), labels.values).map { $0 - $1 }
        #expect(residual.allSatisfy { abs($0) < 1e-13 }, "(K + λmI) α* - T = 0")
        // The Gram matrix: unit diagonal, symmetric.
        let k = problem.gram
        #expect((0..<m).allSatisfy { abs(k[$0, $0] - 1) < 1e-15 })
        #expect((0..<m).allSatisfy { j in (0..<m).allSatisfy { abs(k[j, $0] - k[$0, j]) < 1e-15 } })
    }

    @Test func rootVJPMatchesFiniteDifferencesOfTheClosedForm() throws {
        let alpha = try #require(problem.solution())
        let g = TestSupport.randomMatrix(m, classes, seed: 212)
        func pairing(_ s: Matrix, _ t: Matrix, _ l: Double) -> Double { g.dot(solved(s, t, l)) }
        let result = rootVJP(KernelRidgeCondition(problem: problem, coefficients: alpha), cotangent: g.values,
                             solver: ConjugateGradient(tolerance: 1e-13))
        #expect(result.solve.converged)
        let error = DerivativeCheck.compare("kernel ridge rootVJP vs central differences of the closed form",
                                            result.cotangent, with: pairing, at: images, labels, l2, l2Step: 1e-6)
        #expect(error < 1e-7)
    }

    /// dL/dS = explicit ∂L/∂S (through K(X, S)) + the implicit term through α*.
    @Test func trainingSetHypergradientMatchesFiniteDifferences() throws {
        let train = DerivativeCheck.trainingSet(count: 30, features: p, classes: classes, seed: 213, scale: 0.5)
        func loss(_ s: Matrix, _ t: Matrix, _ l: Double) -> Double {
            KernelRidgeRegression(images: s, labels: t, l2: l, bandwidth: gamma).trainingSetLoss(on: train.data, coefficients: solved(s, t, l)).loss
        }
        let alpha = try #require(problem.solution())
        let pass = problem.trainingSetLoss(on: train.data, coefficients: alpha)
        let hyper = Hypergradient(condition: KernelRidgeCondition(problem: problem, coefficients: alpha),
                                  outerGradient: pass.coefficientGradient.values, explicitImageGradient: pass.imageGradient)
        #expect(hyper.solve.converged)
        let error = DerivativeCheck.compare("kernel ridge training-set hypergradient vs central differences",
                                            hyper.cotangent, with: loss, at: images, labels, l2, l2Step: 1e-6)
        #expect(error < 1e-7)
    }
}
