import DistillImages
import DistillNumerics
import ImplicitDiff
import Testing
import _TestSupport
import Distill

// docs/adding-an-inner-model.md, followed step by step: a model written here
// alone, with nothing else in the package changed.

/// Step 1: ridge regression on the labels, trained iteratively (conjugate
/// gradient on `(1/m) SᵀS + λ I`, in the weights' space) instead of
/// `RidgeModel`'s closed form. Its condition is ridge regression's.
private struct IterativeRidgeModel: ImplicitInnerModel {
    var name: String { Self.modelName }

    func parameterShape(count: Int, features: Int, classes: Int) -> (rows: Int, columns: Int) { (features, classes) }

    func fit(images: Matrix, labels: Matrix, l2: Double, from start: Matrix?) -> InnerFit {
        let problem = RidgeRegression(images: images, labels: labels, l2: l2)
        let zero = Matrix(zeros: problem.features, problem.classes)
        let rightHandSide = problem.gradient(at: zero).scaled(by: -1)   // (1/m) Sᵀ T
        let solve = ConjugateGradient(tolerance: 1e-12, maxIterations: 1000).solve(
            { problem.hessianProduct(Matrix(rows: problem.features, columns: problem.classes, values: $0)).values },
            rightHandSide.values, initialGuess: start?.values)
        let weights = Matrix(rows: problem.features, columns: problem.classes, values: solve.x)
        return InnerFit(images: images, labels: labels, l2: l2, parameters: weights, iterations: solve.iterations,
                        gradientNorm: problem.gradient(at: weights).norm, tolerance: 1e-9 * rightHandSide.norm)
    }

    func condition(at fit: InnerFit) -> RidgeRegressionCondition {
        RidgeRegressionCondition(problem: RidgeRegression(images: fit.images, labels: fit.labels, l2: fit.l2),
                                 weights: fit.parameters)
    }

    func loss(of fit: InnerFit, on pass: OuterPass, gradient: Bool) -> ModelLoss {
        // In Double (`ExactOuterPass`), so that finite differences can check it tightly.
        let result = ExactOuterPass.evaluate(weights: fit.parameters, on: pass.data, threads: pass.threads, gradient: gradient)
        return ModelLoss(loss: result.loss, correct: result.correct, parameterGradient: result.gradient)
    }
}

/// Step 2: how it is built.
extension IterativeRidgeModel: InnerModelFactory {
    static let modelName = "iterative-ridge"
    static let summary = "ridge regression by conjugate gradient (a test's toy)"

    static func make(_ configuration: DistillerConfiguration, train: LabeledImages) throws(InitialisationError) -> any InnerModel {
        IterativeRidgeModel()
    }

    /// Its implicit linear solve (conjugate gradient) reads both settings.
    static func modelSettings(_ configuration: DistillerConfiguration) -> Set<DistillerConfiguration.CodingKeys> {
        [.linearSolveTolerance, .linearSolveMaxIterations]
    }
}

@Suite struct ToyInnerModelTests {
    /// Step 4: the hypergradient the protocol gives the toy agrees with central
    /// finite differences of the outer loss `L(W*(S, T, λ))`.
    @Test func theToysHypergradientMatchesFiniteDifferences() throws {
        let train = smallTrainingSet(count: 120, features: 12, classes: 3)
        let model = IterativeRidgeModel()
        let images = TestSupport.randomMatrix(6, 12, seed: 3, scale: 0.3)
        let labels = TestSupport.oneHot([0, 0, 1, 1, 2, 2], classes: 3)
        let l2 = 0.05
        let pass = OuterPass(data: train, threads: 1)
        func outerLoss(_ s: Matrix, _ t: Matrix, _ lambda: Double) -> Double {
            model.loss(of: model.fit(images: s, labels: t, l2: lambda, from: nil), on: pass, gradient: false).loss
        }
        let fit = model.fit(images: images, labels: labels, l2: l2, from: nil)
        #expect(fit.converged)
        let outer = model.outerGradient(of: fit, on: pass, linearSolve: LinearSolveSettings(tolerance: 1e-12, maxIterations: 1000),
                                        warmAdjoint: nil)
        let d = TestSupport.randomMatrix(6, 12, seed: 4)
        let h = 1e-4
        let numeric = (outerLoss(images.adding(d, scaledBy: h), labels, l2) - outerLoss(images.adding(d, scaledBy: -h), labels, l2)) / (2 * h)
        let analytic = outer.cotangent.images.dot(d)
        #expect(abs(numeric - analytic) <= 1e-5 * max(1, abs(numeric)), "dL/dS·D: \(analytic) vs finite differences \(numeric)")
        let numericL2 = (outerLoss(images, labels, l2 + h * l2) - outerLoss(images, labels, l2 - h * l2)) / (2 * h * l2)
        #expect(abs(numericL2 - outer.cotangent.l2) <= 1e-5 * max(1, abs(numericL2)))
    }

    /// Steps 3 and 4: the distiller and the baselines take it as it is.
    @Test func theDistillerAndTheBaselinesUseTheToy() throws {
        let train = smallTrainingSet(), test = smallTrainingSet(seed: 6)
        var configuration = DistillerConfiguration()
        configuration.imagesPerClass = 2
        configuration.threads = 1
        configuration.steps = 15
        let model = try IterativeRidgeModel.make(configuration, train: train)
        var distiller = try Distiller(train: train, configuration: configuration, model: model)
        let records = (0..<15).map { _ in distiller.step(clock: { 0 }) }
        let first = try #require(records.first), last = try #require(records.last)
        #expect(records.allSatisfy { $0.innerConverged && $0.linearSolveConverged })
        #expect(last.trainLoss < first.trainLoss - 0.01)
        #expect(distiller.model.name == "iterative-ridge")
        let baseline = try Baselines(train: train, test: test, threads: 1, model: model)
            .randomReal(imagesPerClass: 2, l2: 0.1, seed: 1)
        #expect(baseline.model == "iterative-ridge" && baseline.testAccuracy > 0.5)
    }
}
