import DistillNumerics
import ImplicitDiff

/// The inner models a distillation can train on the synthetic set.
public enum InnerModelKind: String, Sendable, CaseIterable, Codable {
    /// L2-regularised multinomial logistic regression (`SoftmaxRegression`), solved by Newton-CG.
    case logistic
    /// Ridge regression on the labels (`RidgeRegression`), solved in closed form.
    case ridge
    /// Kernel ridge regression with an RBF kernel (`KernelRidgeRegression`), solved in closed form.
    case kernelRidge = "kernel-ridge"
    /// Kernel ridge regression with the NNGP kernel of a fully connected ReLU network (`NeuralKernelModel`).
    case nngp
    /// Kernel ridge regression with the neural tangent kernel of a fully connected ReLU network (`NeuralKernelModel`).
    case ntk
}

/// How the gradient of the outer loss with respect to the synthetic set is taken.
public enum HypergradientMethod: String, Sendable, CaseIterable, Codable {
    /// The implicit function theorem at a certified inner solution: one linear solve.
    case implicit
    /// Reverse mode through N gradient-descent steps from `W = 0` (`UnrolledGradientDescent`).
    case unrolled
}

/// An inner model trained on a synthetic set `(S, T, λ)`, with the evidence to trust it.
///
/// Model-agnostic: `parameters` is the solution `x*` of the model's optimality
/// condition, `W` (`features x classes`) for the linear models and the dual
/// coefficients `α` (`count x classes`) for kernel ridge regression.
public struct InnerFit: Sendable {
    /// The synthetic set the model was trained on.
    public let images: Matrix
    public let labels: Matrix
    public let l2: Double
    /// `x*`.
    public let parameters: Matrix
    /// Iterations of the inner solver (0 for a closed form; N when unrolled).
    public let iterations: Int
    /// `‖F(x*)‖`, the norm of the optimality condition at the returned parameters.
    public let gradientNorm: Double
    /// The certificate: `innerTolerance · ‖F(x₀ = 0)‖`.
    public let tolerance: Double
    /// Whether `gradientNorm ≤ tolerance`.
    public var converged: Bool { gradientNorm <= tolerance }

    public init(images: Matrix, labels: Matrix, l2: Double, parameters: Matrix,
                iterations: Int, gradientNorm: Double, tolerance: Double) {
        self.images = images
        self.labels = labels
        self.l2 = l2
        self.parameters = parameters
        self.iterations = iterations
        self.gradientNorm = gradientNorm
        self.tolerance = tolerance
    }
}

/// A trained model's softmax cross-entropy on a labelled set,
///
///     L = (1/n) Σ_i [ logsumexp(f(x_i)) - f(x_i)_{y_i} ],
///
/// where `f` is the model's prediction, and the gradients the outer step needs.
public struct ModelLoss: Sendable {
    public var loss: Double
    /// Points whose arg-max prediction is their label.
    public var correct: Int
    /// `∂L/∂x*`, flattened like the parameters (empty when not requested).
    public var parameterGradient: [Double]
    /// The explicit `∂L/∂S` at fixed `x*`, for a model whose predictions depend on
    /// `S` directly (kernel ridge: `K(X, S) α`); nil for the linear models.
    public var imageGradient: Matrix?

    public init(loss: Double, correct: Int, parameterGradient: [Double], imageGradient: Matrix? = nil) {
        self.loss = loss
        self.correct = correct
        self.parameterGradient = parameterGradient
        self.imageGradient = imageGradient
    }
}

/// What the distiller needs of an inner model, and nothing more: train it on the
/// synthetic set, measure it on a labelled set, and state its optimality
/// condition `F(x*, S, T, λ) = 0`. The hypergradient then follows from the
/// implicit function theorem (`rootVJP`), whatever the model:
///
///     dL/dθ = ∂L/∂θ|_{x*} - uᵀ ∂F/∂θ,   (∂F/∂x)ᵀ u = ∂L/∂x*,   θ = (S, T, λ).
public protocol InnerModel: Sendable {
    associatedtype Condition: RootCondition where Condition.ParameterCotangent == SyntheticSetCotangent

    /// The shape of `x*` for `count` synthetic images of `features` pixels and `classes` classes.
    func parameterShape(count: Int, features: Int, classes: Int) -> (rows: Int, columns: Int)

    /// Trains the model on `(S, T, λ)`; `start` is a warm start (the last solution), nil for `x = 0`.
    func fit(images: Matrix, labels: Matrix, l2: Double, from start: Matrix?) -> InnerFit

    /// The optimality condition at a fit.
    func condition(at fit: InnerFit) -> Condition

    /// The loss of the fitted model on `pass.data`, with `∂L/∂x*` (and the explicit
    /// `∂L/∂S`) when `gradient` is true.
    func loss(of fit: InnerFit, on pass: OuterPass, gradient: Bool) -> ModelLoss
}

extension InnerModel {
    /// The implicit hypergradient at `fit` for the outer gradients in `loss`.
    public func hypergradient(at fit: InnerFit, loss: ModelLoss, solver: (any LinearSolver)? = nil,
                              initialGuess: [Double]? = nil) -> Hypergradient {
        Hypergradient(condition: condition(at: fit), outerGradient: loss.parameterGradient,
                      explicitImageGradient: loss.imageGradient, solver: solver, initialGuess: initialGuess)
    }

    /// The loss and accuracy of the fitted model on `data`.
    public func evaluation(of fit: InnerFit, on data: LabeledImages, threads: Int) -> Evaluation {
        let result = loss(of: fit, on: OuterPass(data: data, threads: threads), gradient: false)
        return Evaluation(loss: result.loss, accuracy: Double(result.correct) / Double(max(1, data.count)))
    }
}

extension ModelLoss {
    /// The fused linear outer pass's result (`X W`, Float32 inside blocks of rows).
    init(_ result: OuterPassResult) {
        self.init(loss: result.loss, correct: result.correct, parameterGradient: result.gradient)
    }
}

/// Multinomial logistic regression (`SoftmaxRegression`), trained by Newton-CG to
/// `‖F(W)‖ ≤ relativeTolerance · ‖F(0)‖` from a warm start. Its outer loss is the
/// fused pass over the training set (`OuterPass`), its condition
/// `SoftmaxRegressionCondition`.
public struct LogisticModel: InnerModel {
    public var solver: NewtonCG

    public init(solver: NewtonCG = NewtonCG()) { self.solver = solver }

    public func parameterShape(count: Int, features: Int, classes: Int) -> (rows: Int, columns: Int) { (features, classes) }

    public func fit(images: Matrix, labels: Matrix, l2: Double, from start: Matrix?) -> InnerFit {
        let solution = solver.solve(SoftmaxRegression(images: images, labels: labels, l2: l2), from: start)
        return InnerFit(images: images, labels: labels, l2: l2, parameters: solution.weights,
                        iterations: solution.iterations, gradientNorm: solution.gradientNorm, tolerance: solution.tolerance)
    }

    /// The condition at `W*`; the probabilities `softmax(S W*)` are recomputed (`m p C` work).
    public func condition(at fit: InnerFit) -> SoftmaxRegressionCondition {
        let problem = SoftmaxRegression(images: fit.images, labels: fit.labels, l2: fit.l2)
        return SoftmaxRegressionCondition(problem: problem, solution: problem.evaluate(at: fit.parameters))
    }

    public func loss(of fit: InnerFit, on pass: OuterPass, gradient: Bool) -> ModelLoss {
        ModelLoss(pass.evaluate(weights: fit.parameters.values, gradient: gradient))
    }
}

/// Ridge regression on the labels (`RidgeRegression`), solved in closed form,
/// `W* = Sᵀ (S Sᵀ + λ m I)⁻¹ T` (an `m x m` Cholesky factorisation). Its
/// predictions `X W` are linear like logistic regression's logits, so its outer
/// loss is the same fused softmax cross-entropy pass (`OuterPass`).
public struct RidgeModel: InnerModel {
    /// The certificate's relative tolerance (a closed form meets it to round-off).
    public var relativeTolerance: Double

    public init(relativeTolerance: Double = 1e-6) { self.relativeTolerance = relativeTolerance }

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

/// Kernel ridge regression with the RBF kernel `exp(-γ ‖x - s‖²)`
/// (`KernelRidgeRegression`), solved in closed form, `α* = (K + λ m I)⁻¹ T`.
///
/// Its outer loss is the softmax cross-entropy of `K(X, S) α` over the training
/// set, computed by `KernelRidgeRegression.trainingSetLoss(on:coefficients:threads:gradient:)`
/// (Float32, on every thread): about `2 n m p` multiply-adds and `n m`
/// exponentials per step: 0.94 G multiply-adds for MNIST at 1 image per class
/// (m = 10) and 9.4 G at 10 (m = 100), against `2 n p C` = 0.94 G for the linear
/// pass at any m.
public struct KernelRidgeModel: InnerModel {
    /// γ, held fixed.
    public var bandwidth: Double
    /// The certificate's relative tolerance (a closed form meets it to round-off).
    public var relativeTolerance: Double

    public init(bandwidth: Double, relativeTolerance: Double = 1e-6) {
        self.bandwidth = bandwidth
        self.relativeTolerance = relativeTolerance
    }

    public func parameterShape(count: Int, features: Int, classes: Int) -> (rows: Int, columns: Int) { (count, classes) }

    /// The closed form; when it fails (non-finite input) the start is returned,
    /// uncertified, and the step record shows it. `‖F(α)‖ = ‖(K + λ m I) α - T‖`,
    /// and `‖F(0)‖ = ‖T‖`.
    public func fit(images: Matrix, labels: Matrix, l2: Double, from start: Matrix?) -> InnerFit {
        let problem = KernelRidgeRegression(images: images, labels: labels, l2: l2, bandwidth: bandwidth)
        let alpha = problem.solution() ?? start ?? Matrix(zeros: problem.count, problem.classes)
        let condition = KernelRidgeCondition(problem: problem, coefficients: alpha)
        let residual = Matrix(rows: alpha.rows, columns: alpha.columns, values: condition.solutionVJP(alpha.values))
            .adding(labels, scaledBy: -1)
        return InnerFit(images: images, labels: labels, l2: l2, parameters: alpha, iterations: 0,
                        gradientNorm: residual.norm, tolerance: relativeTolerance * labels.norm)
    }

    public func condition(at fit: InnerFit) -> KernelRidgeCondition {
        KernelRidgeCondition(problem: problem(fit), coefficients: fit.parameters)
    }

    public func loss(of fit: InnerFit, on pass: OuterPass, gradient: Bool) -> ModelLoss {
        let result = problem(fit).trainingSetLoss(on: pass.data, coefficients: fit.parameters,
                                                  threads: pass.threads, gradient: gradient)
        return ModelLoss(loss: result.loss, correct: result.correct,
                         parameterGradient: gradient ? result.coefficientGradient.values : [],
                         imageGradient: gradient ? result.imageGradient : nil)
    }

    private func problem(_ fit: InnerFit) -> KernelRidgeRegression {
        KernelRidgeRegression(images: fit.images, labels: fit.labels, l2: fit.l2, bandwidth: bandwidth)
    }
}

extension KernelRidgeRegression {
    /// The median-heuristic bandwidth for `data`: `γ = 1 / mean ‖x_i - x_j‖²`
    /// over pairs of images, computed as `1 / (2 mean ‖x_i - x̄‖²)` in one pass
    /// (about 0.009 for MNIST, where images are about 10.6 apart). 1 for a set
    /// without spread.
    public static func defaultBandwidth(for data: LabeledImages) -> Double {
        let p = data.features
        var mean = [Double](repeating: 0, count: p)
        var squares = 0.0
        for i in 0..<data.count {
            let x = data.image(i)
            for k in 0..<p {
                mean[k] += x[k]
                squares += x[k] * x[k]
            }
        }
        let n = Double(max(1, data.count))
        let spread = squares / n - mean.reduce(0) { $0 + ($1 / n) * ($1 / n) }
        return spread > 0 && spread.isFinite ? 1 / (2 * spread) : 1
    }
}
