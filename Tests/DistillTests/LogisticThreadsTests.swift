import Testing
import DistillNumerics
import ImplicitDiff
import _TestSupport
@testable import Distill

/// The logistic model's threaded parts (the Gram matrix `S Sᵀ` by its lower
/// triangle, the parameters-VJP's rows) give the single-threaded bits, and the
/// fit hands its Gram matrix to the implicit linear solve.
@Suite struct LogisticThreadsTests {
    /// 12 images of 64 pixels (few enough for the images'-space solves: 4 m ≤ p), 3 classes.
    func synthetic() -> (images: Matrix, labels: Matrix) {
        let images = TestSupport.randomMatrix(12, 64, seed: 21, scale: 0.5)
        return (images, Distiller.oneHotLabels(classes: 3, imagesPerClass: 4))
    }

    @Test(arguments: [2, 3])
    func theFitAndTheHypergradientAreTheSameBitsOnAnyThreadCount(threads: Int) throws {
        let (images, labels) = synthetic()
        #expect(SoftmaxRegression(images: images, labels: labels, l2: 0.05).prefersImageSpaceSolves)
        let one = LogisticModel(solver: NewtonCG(relativeTolerance: 1e-10), threads: 1)
        let many = LogisticModel(solver: NewtonCG(relativeTolerance: 1e-10), threads: threads)
        let fitOne = one.fit(images: images, labels: labels, l2: 0.05, from: nil)
        let fitMany = many.fit(images: images, labels: labels, l2: 0.05, from: nil)
        #expect(fitMany.parameters == fitOne.parameters)
        // The Gram matrix the solve computed is kept for the linear solve, and is S Sᵀ.
        let gram = try #require((fitMany.cache as? InnerSolution)?.imageSpace?.gram)
        #expect(gram == images.multipliedTransposed(by: images))
        let solver = try #require(many.linearSolver(at: fitMany, settings: LinearSolveSettings(tolerance: 1e-10, maxIterations: 100))
            as? LogisticHessianSolver)
        #expect(solver.gram == gram)

        let outer = ModelLoss(loss: 0, correct: 0, parameterGradient: TestSupport.randomMatrix(64, 3, seed: 22).values)
        let settings = LinearSolveSettings(tolerance: 1e-10, maxIterations: 100)
        let hyperOne = one.hypergradient(at: fitOne, loss: outer, solver: one.linearSolver(at: fitOne, settings: settings))
        let hyperMany = many.hypergradient(at: fitMany, loss: outer, solver: many.linearSolver(at: fitMany, settings: settings))
        #expect(hyperMany.adjoint == hyperOne.adjoint)
        #expect(hyperMany.cotangent.images == hyperOne.cotangent.images)
        #expect(hyperMany.cotangent.labels == hyperOne.cotangent.labels)
        #expect(hyperMany.cotangent.l2 == hyperOne.cotangent.l2)
    }

    /// The parameters-VJP's images cotangent is `(1/m) [(P - T) Uᵀ + Q(S U) W*ᵀ]`
    /// as the three separate products and sums give it, bit for bit.
    @Test func theParametersVJPIsItsFormulaBitForBit() {
        let (images, labels) = synthetic()
        let problem = SoftmaxRegression(images: images, labels: labels, l2: 0.05, threads: 2)
        let solution = NewtonCG(relativeTolerance: 1e-10).solve(problem)
        let u = TestSupport.randomMatrix(64, 3, seed: 23)
        let condition = SoftmaxRegressionCondition(problem: problem, solution: solution.evaluation)
        let m = Double(images.rows)
        let p = solution.evaluation.probabilities
        let q = SoftmaxRegression.softmaxJacobianProduct(probabilities: p, images.multiplied(by: u))
        let expected = p.adding(labels, scaledBy: -1).multipliedTransposed(by: u)
            .scaled(by: 1 / m, adding: q.multipliedTransposed(by: solution.weights), scaledBy: 1 / m)
        #expect(condition.parametersVJP(u.values).images == expected)
    }
}
