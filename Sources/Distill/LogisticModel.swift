import DistillImages
import DistillNumerics
import ImplicitDiff

/// Multinomial logistic regression (`SoftmaxRegression`), trained by Newton-CG to
/// `‖F(W)‖ ≤ relativeTolerance · ‖F(0)‖` from a warm start. Its outer loss is the
/// fused pass over the training set (`OuterPass`), its condition
/// `SoftmaxRegressionCondition`, and its implicit linear solve runs in the images'
/// space when there are few images (`SoftmaxRegression.hessianSolver`). Its
/// images' Gram matrix and its parameters-VJP split over `threads` (the same bits
/// for any count).
public struct LogisticModel: ImplicitInnerModel {
    public var solver: NewtonCG
    /// Threads of the inner problem's Gram matrix and parameters-VJP (`SoftmaxRegression.threads`).
    public var threads: Int

    public init(solver: NewtonCG = NewtonCG(), threads: Int = 1) {
        self.solver = solver
        self.threads = threads
    }

    public var name: String { Self.modelName }

    public func parameterShape(count: Int, features: Int, classes: Int) -> (rows: Int, columns: Int) { (features, classes) }

    /// Newton-CG from `start`; the fit caches the solution: the evaluation at `W*`
    /// (its softmax probabilities), which the condition and the linear solver
    /// reuse, and the images' Gram matrix and norm if the solve computed them
    /// (`InnerSolution.imageSpace`), which the linear solver reuses.
    public func fit(images: Matrix, labels: Matrix, l2: Double, from start: Matrix?) -> InnerFit {
        let solution = solver.solve(SoftmaxRegression(images: images, labels: labels, l2: l2, threads: threads), from: start)
        return InnerFit(images: images, labels: labels, l2: l2, parameters: solution.weights,
                        iterations: solution.iterations, gradientNorm: solution.gradientNorm, tolerance: solution.tolerance,
                        cache: solution)
    }

    public func condition(at fit: InnerFit) -> SoftmaxRegressionCondition {
        let problem = problem(fit)
        return SoftmaxRegressionCondition(problem: problem, solution: evaluation(at: fit, problem: problem))
    }

    public func loss(of fit: InnerFit, on pass: OuterPass, gradient: Bool) -> ModelLoss {
        ModelLoss(pass.evaluate(weights: fit.parameters.values, gradient: gradient))
    }

    public func linearSolver(at fit: InnerFit, settings: LinearSolveSettings) -> any LinearSolver {
        let problem = problem(fit)
        return problem.hessianSolver(probabilities: evaluation(at: fit, problem: problem).probabilities,
                                     factors: (fit.cache as? InnerSolution)?.imageSpace,
                                     tolerance: settings.tolerance, maxIterations: settings.maxIterations)
    }

    func problem(_ fit: InnerFit) -> SoftmaxRegression {
        SoftmaxRegression(images: fit.images, labels: fit.labels, l2: fit.l2, threads: threads)
    }

    /// The cached evaluation at `W*`, or a new one (`m p C` work) for a fit made elsewhere.
    private func evaluation(at fit: InnerFit, problem: SoftmaxRegression) -> SoftmaxRegression.Evaluation {
        (fit.cache as? InnerSolution)?.evaluation ?? problem.evaluate(at: fit.parameters)
    }
}

extension LogisticModel: InnerModelFactory {
    public static let modelName = "logistic"
    public static let summary = "multinomial logistic regression, trained to a certified optimum by Newton-CG"
    public static let supportsUnrolledHypergradient = true

    public static func make(_ configuration: DistillerConfiguration, train: LabeledImages) throws(InitialisationError) -> any InnerModel {
        switch configuration.hypergradient {
        case .implicit: return LogisticModel(solver: NewtonCG(relativeTolerance: configuration.innerTolerance),
                                             threads: configuration.threads)
        case .unrolled: return try UnrolledLogisticModel(steps: configuration.unrollSteps, innerTolerance: configuration.innerTolerance)
        }
    }

    /// Implicit: the linear solve's tolerance and iteration cap (conjugate gradient
    /// on the Hessian); unrolled: the number of unrolled steps (no linear solve).
    public static func modelSettings(_ configuration: DistillerConfiguration) -> Set<DistillerConfiguration.CodingKeys> {
        switch configuration.hypergradient {
        case .implicit: [.linearSolveTolerance, .linearSolveMaxIterations]
        case .unrolled: [.unrollSteps]
        }
    }

    /// The ceiling: the same model on the whole training set (`FullDataModel`, L-BFGS;
    /// the run's `model` has no setting that changes it), stopped between L-BFGS
    /// iterations once `stopRequested` answers true (nil then).
    public static func ceiling(model: any InnerModel, train: LabeledImages, test: LabeledImages, l2: Double,
                               threads: Int, stopRequested: () -> Bool) -> Evaluation.Pair? {
        let model = FullDataModel(train: train, l2: l2, threads: threads, stopRequested: stopRequested)
        if model.optimisation.stopped { return nil }
        return Evaluation.Pair(train: Evaluation(weights: model.weights, on: train, threads: threads),
                               test: Evaluation(weights: model.weights, on: test, threads: threads))
    }
}
