import DistillImages
import DistillNumerics
import ImplicitDiff

/// Ridge regression on the labels (`RidgeRegression`), solved in closed form,
/// `W* = Sᵀ (S Sᵀ + λ m I)⁻¹ T` (an `m x m` Cholesky factorisation). Its
/// predictions `X W` are linear like logistic regression's logits, so its outer
/// loss is the same fused softmax cross-entropy pass (`OuterPass`).
public struct RidgeModel: ImplicitInnerModel {
    /// The certificate's relative tolerance (a closed form meets it to round-off).
    public var relativeTolerance: Double

    public init(relativeTolerance: Double = 1e-6) { self.relativeTolerance = relativeTolerance }

    public var name: String { Self.modelName }

    public func parameterShape(count: Int, features: Int, classes: Int) -> (rows: Int, columns: Int) { (features, classes) }

    /// The closed form; when it fails (non-finite input) the start is returned,
    /// uncertified, and the step record shows it.
    public func fit(images: Matrix, labels: Matrix, l2: Double, from start: Matrix?) -> InnerFit {
        let problem = RidgeRegression(images: images, labels: labels, l2: l2)
        let zero = Matrix(zeros: problem.features, problem.classes)
        let weights = problem.solution() ?? start ?? zero
        return InnerFit(images: images, labels: labels, l2: l2, parameters: weights, iterations: 0,
                        gradientNorm: problem.gradient(at: weights).norm,
                        tolerance: relativeTolerance * problem.gradient(at: zero).norm)
    }

    public func condition(at fit: InnerFit) -> RidgeRegressionCondition {
        RidgeRegressionCondition(problem: RidgeRegression(images: fit.images, labels: fit.labels, l2: fit.l2),
                                 weights: fit.parameters)
    }

    public func loss(of fit: InnerFit, on pass: OuterPass, gradient: Bool) -> ModelLoss {
        ModelLoss(pass.evaluate(weights: fit.parameters.values, gradient: gradient))
    }
}

extension RidgeModel: InnerModelFactory {
    public static let modelName = "ridge"
    public static let summary = "ridge regression on the labels, closed form"

    public static func make(_ configuration: DistillerConfiguration, train: LabeledImages) throws(InitialisationError) -> any InnerModel {
        RidgeModel(relativeTolerance: configuration.innerTolerance)
    }

    /// The linear solve's tolerance and iteration cap (conjugate gradient).
    public static func modelSettings(_ configuration: DistillerConfiguration) -> Set<DistillerConfiguration.CodingKeys> {
        [.linearSolveTolerance, .linearSolveMaxIterations]
    }

    /// The ceiling: ridge regression on the whole training set, in closed form in the
    /// weights' space (`p x p`), with one-hot labels (the run's `model` has no setting
    /// that changes it). One direct solve: `stopRequested` is not asked.
    public static func ceiling(model: any InnerModel, train: LabeledImages, test: LabeledImages, l2: Double,
                               threads: Int, stopRequested: () -> Bool) -> Evaluation.Pair? {
        let model = RidgeModel()
        guard let weights = RidgeRegression.fullDataSolution(train, l2: l2) else { return nil }
        let fit = InnerFit(images: Matrix(zeros: 0, train.features), labels: Matrix(zeros: 0, train.classes), l2: l2,
                           parameters: weights, iterations: 0, gradientNorm: 0, tolerance: 0)
        return Evaluation.Pair(train: model.evaluate(fit, on: train, threads: threads),
                               test: model.evaluate(fit, on: test, threads: threads))
    }
}
