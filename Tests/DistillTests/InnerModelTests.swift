import Testing
import DistillNumerics
import ImplicitDiff
import _TestSupport
@testable import Distill

/// The inner-model abstraction: every model's distillation step lowers the
/// outer loss, the logistic path is the previous one bit for bit, and kernel
/// ridge's fast training-set pass agrees with its Double reference.
@Suite struct InnerModelTests {
    func configuration(_ model: String) -> DistillerConfiguration {
        var c = DistillerConfiguration()
        c.imagesPerClass = 2
        c.threads = 2
        c.model = model
        c.steps = 20
        return c
    }

    @Test(arguments: InnerModels.names)
    func eachModelsStepsLowerTheOuterLoss(model: String) throws {
        var distiller = try Distiller(train: smallTrainingSet(), configuration: configuration(model))
        let records = (0..<20).map { _ in distiller.step(clock: { 0 }) }
        #expect(records.allSatisfy { $0.innerConverged && $0.linearSolveConverged }, "\(model)")
        let first = try #require(records.first), last = try #require(records.last)
        print("\(model): train loss \(first.trainLoss) -> \(last.trainLoss), accuracy \(last.trainAccuracy)")
        #expect(last.trainLoss < first.trainLoss - 0.01, "\(model)")
        let fit = distiller.solveInner()
        #expect(fit.converged)
        #expect(distiller.evaluate(fit, on: smallTrainingSet(seed: 6)).accuracy > 0.8, "\(model)")
    }

    /// The first step through `LogisticModel` is the old hand-written path:
    /// Newton-CG, the fused pass, `Hypergradient(problem:solution:…)` solved in
    /// the images' space (few images: 6 against 36 pixels), Adam.
    @Test func theLogisticPathIsThePreviousOne() throws {
        let train = smallTrainingSet()
        var c = configuration("logistic")
        c.threads = 1
        // The plain path: fixed one-hot labels and L2, no pull, no clipping, a constant rate.
        c.learnLabels = false
        c.learnL2 = false
        c.pull = 0
        c.pixelRange = .unbounded
        c.schedule = .constant
        var distiller = try Distiller(train: train, configuration: c)
        let start = distiller.images
        let problem = SoftmaxRegression(images: start, labels: distiller.labels, l2: c.l2)
        let inner = NewtonCG(relativeTolerance: c.innerTolerance).solve(problem)
        let outer = OuterPass(data: train, threads: 1).evaluate(weights: inner.weights.values, gradient: true)
        let hyper = Hypergradient(problem: problem, solution: inner,
                                  outerGradient: Matrix(rows: train.features, columns: train.classes, values: outer.gradient),
                                  solver: LogisticHessianSolver(problem: problem, probabilities: inner.evaluation.probabilities,
                                                                tolerance: c.linearSolveTolerance, maxIterations: c.linearSolveMaxIterations))
        var adam = Adam(count: start.values.count, learningRate: c.learningRate)
        var expected = start.values
        adam.update(&expected, gradient: hyper.cotangent.images.values)

        let record = distiller.step(clock: { 0 })
        #expect(distiller.images.values == expected)
        #expect(record.trainLoss == outer.loss)
        #expect(record.innerIterations == inner.iterations && record.linearSolveIterations == hyper.solve.iterations)
        #expect(distiller.state.warmAdjoint == hyper.adjoint)
    }

    @Test func theUnrolledHypergradientDistilsToo() throws {
        var c = configuration("logistic")
        c.hypergradient = .unrolled
        c.unrollSteps = 50
        var distiller = try Distiller(train: smallTrainingSet(), configuration: c)
        let records = (0..<20).map { _ in distiller.step(clock: { 0 }) }
        #expect(records.allSatisfy { $0.innerIterations == 50 && $0.linearSolveIterations == 0 })
        let first = try #require(records.first), last = try #require(records.last)
        #expect(last.trainLoss < first.trainLoss - 0.01)
    }

    @Test func theUnrolledHypergradientRefusesOtherModels() {
        var c = configuration("ridge")
        c.hypergradient = .unrolled
        #expect(throws: InitialisationError.self) { try Distiller(train: smallTrainingSet(), configuration: c) }
    }

    /// Kernel ridge's parameters are count x classes: its saved state restores.
    @Test func aKernelRidgeStateRestores() throws {
        let train = smallTrainingSet()
        var first = try Distiller(train: train, configuration: configuration("kernel-ridge"))
        for _ in 0..<2 { _ = first.step(clock: { 0 }) }
        var second = try Distiller(train: train, configuration: configuration("kernel-ridge"))
        try second.restore(first.state)
        _ = first.step(clock: { 0 })
        _ = second.step(clock: { 0 })
        #expect(first.state == second.state)
    }

    @Test func kernelRidgesFastPassAgreesWithItsDoubleReference() {
        let train = smallTrainingSet(count: 200, features: 37)
        let images = TestSupport.randomMatrix(6, 37, seed: 71, scale: 0.3).adding(Matrix(rows: 6, columns: 37, values: [Double](repeating: 0.3, count: 6 * 37)))
        let problem = KernelRidgeRegression(images: images, labels: TestSupport.oneHot([0, 1, 2, 0, 1, 2], classes: 3),
                                            l2: 0.05, bandwidth: KernelRidgeRegression.defaultBandwidth(for: train))
        guard let alpha = problem.solution() else { Issue.record("no solution"); return }
        let reference = problem.trainingSetLoss(on: train, coefficients: alpha)
        for threads in [1, 3] {
            let fast = problem.trainingSetLoss(on: train, coefficients: alpha, threads: threads, gradient: true)
            #expect(abs(fast.loss - reference.loss) < 1e-6 * reference.loss)
            #expect(fast.correct == reference.correct)
            #expect(TestSupport.relativeError(fast.coefficientGradient.values, reference.coefficientGradient.values) < 1e-5)
            #expect(TestSupport.relativeError(fast.imageGradient.values, reference.imageGradient.values) < 1e-5)
        }
    }

    @Test func theExactOuterPassIsTheReference() {
        let train = smallTrainingSet(count: 150, features: 20)
        let w = TestSupport.randomMatrix(20, 3, seed: 9)
        let exact = ExactOuterPass.evaluate(weights: w, on: train, threads: 2, gradient: true)
        let reference = referenceOuterPass(data: train, weights: w.values)
        #expect(abs(exact.loss - reference.loss) < 1e-13 && exact.correct == reference.correct)
        #expect(TestSupport.relativeError(exact.gradient, reference.gradient) < 1e-13)
    }
}
