import DistillImages
import DistillNumerics
import ImplicitDiff

/// Logistic regression trained by `steps` gradient-descent steps from `W = 0`
/// and differentiated in reverse through the stored iterates
/// (`UnrolledGradientDescent`): the unrolled hypergradient as an inner model, for
/// comparison with the implicit one. Its fit ignores warm starts (the map
/// differentiated starts at zero) and caches its trajectory for `outerGradient`.
public struct UnrolledLogisticModel: InnerModel {
    /// N, the gradient-descent steps differentiated through.
    public let steps: Int
    /// The certificate reported for `W_N`: `innerTolerance · ‖F(0)‖` (the unrolled
    /// gradient is taken whether or not it is met).
    public let innerTolerance: Double

    /// - Throws: `InitialisationError` when `steps < 1`.
    public init(steps: Int, innerTolerance: Double = 1e-6) throws(InitialisationError) {
        guard steps >= 1 else {
            throw InitialisationError(description: "the unrolled hypergradient needs at least 1 step, got \(steps)")
        }
        self.steps = steps
        self.innerTolerance = innerTolerance
    }

    public var name: String { "logistic-unrolled" }

    public func parameterShape(count: Int, features: Int, classes: Int) -> (rows: Int, columns: Int) { (features, classes) }

    public func fit(images: Matrix, labels: Matrix, l2: Double, from start: Matrix?) -> InnerFit {
        let trajectory = self.trajectory(images: images, labels: labels, l2: l2)
        let problem = trajectory.problem
        let initialNorm = trajectory.iterates.first?.gradient.norm ?? problem.gradientNormAtZero
        return InnerFit(images: images, labels: labels, l2: l2, parameters: trajectory.weights,
                        iterations: trajectory.iterates.count, gradientNorm: trajectory.gradientNorm,
                        tolerance: innerTolerance * initialNorm, cache: trajectory)
    }

    public func evaluate(_ fit: InnerFit, on data: LabeledImages, threads: Int) -> Evaluation {
        Evaluation(weights: fit.parameters, on: data, threads: threads)
    }

    public func outerGradient(of fit: InnerFit, on pass: OuterPass, linearSolve: LinearSolveSettings,
                              warmAdjoint: [Double]?) -> OuterGradient {
        let trajectory = (fit.cache as? UnrolledGradientDescent.Trajectory)
            ?? self.trajectory(images: fit.images, labels: fit.labels, l2: fit.l2)
        let outer = pass.evaluate(weights: fit.parameters.values, gradient: true)
        let cotangent = trajectory.hypergradient(
            outerGradient: Matrix(rows: fit.parameters.rows, columns: fit.parameters.columns, values: outer.gradient))
        return OuterGradient(loss: outer.loss, correct: outer.correct, cotangent: cotangent, linearSolve: nil, adjoint: nil)
    }

    /// The N steps from zero, stored.
    private func trajectory(images: Matrix, labels: Matrix, l2: Double) -> UnrolledGradientDescent.Trajectory {
        let problem = SoftmaxRegression(images: images, labels: labels, l2: l2)
        return UnrolledGradientDescent(steps: steps, stepSize: UnrolledGradientDescent.stepSize(for: problem)).run(problem)
    }
}
