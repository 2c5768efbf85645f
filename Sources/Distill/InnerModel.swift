import DistillImages
import DistillNumerics
import ImplicitDiff

/// An inner model trained on a synthetic set `(S, T, λ)`, with the evidence to trust it.
///
/// Model-agnostic: `parameters` is the solution `x*` of the model's optimality
/// condition, `W` (`features x classes`) for the linear models and the dual
/// coefficients `α` (`count x classes`) for the kernel models.
public struct InnerFit: Sendable {
    /// The synthetic set the model was trained on: images `m x p`, labels `m x C`.
    public let images: Matrix
    public let labels: Matrix
    public let l2: Double
    /// `x*`, shaped as the model's `parameterShape`.
    public let parameters: Matrix
    /// Iterations of the inner solver (0 for a closed form; N when unrolled).
    public let iterations: Int
    /// `‖F(x*)‖`, the norm of the optimality condition at the returned parameters.
    public let gradientNorm: Double
    /// The certificate: `innerTolerance · ‖F(x₀ = 0)‖`.
    public let tolerance: Double
    /// What the model computed while fitting and needs again for the hypergradient
    /// (the softmax probabilities at `W*`, the unrolled trajectory); nil if nothing.
    public let cache: (any Sendable)?
    /// Whether `gradientNorm ≤ tolerance`.
    public var converged: Bool { gradientNorm <= tolerance }

    public init(images: Matrix, labels: Matrix, l2: Double, parameters: Matrix,
                iterations: Int, gradientNorm: Double, tolerance: Double, cache: (any Sendable)? = nil) {
        self.images = images
        self.labels = labels
        self.l2 = l2
        self.parameters = parameters
        self.iterations = iterations
        self.gradientNorm = gradientNorm
        self.tolerance = tolerance
        self.cache = cache
    }
}

/// How the implicit linear solve `Aᵀ u = ∂L/∂x*` is run: its relative residual
/// tolerance and iteration cap.
public struct LinearSolveSettings: Sendable, Equatable {
    public var tolerance: Double
    public var maxIterations: Int

    public init(tolerance: Double, maxIterations: Int) {
        self.tolerance = tolerance
        self.maxIterations = maxIterations
    }
}

/// The outer loss of a fitted inner model on the training set and its
/// hypergradient: what one outer step needs.
public struct OuterGradient: Sendable {
    /// The outer loss `L` (the model's loss over the training set).
    public var loss: Double
    /// Training points whose arg-max prediction is their label.
    public var correct: Int
    /// `dL/dS`, `dL/dT` and `dL/dλ`.
    public var cotangent: SyntheticSetCotangent
    /// The implicit linear solve's record; nil for a model that takes none (unrolled).
    public var linearSolve: LinearSolution?
    /// The solve's solution `u`, the next step's warm start; nil if none.
    public var adjoint: [Double]?

    public init(loss: Double, correct: Int, cotangent: SyntheticSetCotangent,
                linearSolve: LinearSolution?, adjoint: [Double]?) {
        self.loss = loss
        self.correct = correct
        self.cotangent = cotangent
        self.linearSolve = linearSolve
        self.adjoint = adjoint
    }
}

/// Everything the distiller, the baselines, eval and check need of an inner
/// model, and the only thing that varies per model.
///
/// A model trains on the synthetic set (`fit`), is measured on a labelled set
/// (`evaluate`), and gives the outer loss on the training set with its
/// hypergradient (`outerGradient`). Models with an optimality condition conform
/// to `ImplicitInnerModel` instead and get `outerGradient` from the implicit
/// function theorem. To add a model, see docs/adding-an-inner-model.md.
public protocol InnerModel: Sendable {
    /// The model's name, as `--model` takes it and metrics.json records it.
    var name: String { get }

    /// The shape of `x*` for `count` synthetic images of `features` values and `classes` classes.
    func parameterShape(count: Int, features: Int, classes: Int) -> (rows: Int, columns: Int)

    /// Trains the model on `(S, T, λ)`: `images` `m x p` (pixel units), `labels`
    /// `m x C`; `start` is a warm start (the last solution), nil for `x = 0`.
    func fit(images: Matrix, labels: Matrix, l2: Double, from start: Matrix?) -> InnerFit

    /// The fitted model's loss (mean over `data`, as the outer loss measures it)
    /// and accuracy on `data`.
    func evaluate(_ fit: InnerFit, on data: LabeledImages, threads: Int) -> Evaluation

    /// The outer loss of the fitted model on `pass.data` (the training set) and its
    /// hypergradient; `warmAdjoint` is the last step's adjoint (nil: from zero).
    func outerGradient(of fit: InnerFit, on pass: OuterPass, linearSolve: LinearSolveSettings,
                       warmAdjoint: [Double]?) -> OuterGradient

    /// The labels the synthetic set starts with, from one-hot rows `m x C`
    /// (default: the one-hot rows; KIP's kernel models: one-hot minus 1/C).
    func initialLabels(_ oneHot: Matrix) -> Matrix

    /// The scale `s` of the inner problem's data term on `images` (`m x p`, pixel
    /// units), in the units of the L2 strength: an upper bound on the largest
    /// curvature of the data term, per unit of the L2 term's curvature.
    ///
    /// Default (models that are linear in the pixels, in the primal: logistic,
    /// ridge, unrolled): `tr(SᵀS) / m`, the mean squared norm of an image, which
    /// bounds the largest eigenvalue of `SᵀS / m` (and the softmax data term's
    /// Hessian, at most half of it). Kernel models give the same bound in their
    /// feature space. See `Distiller.largestUsableL2`.
    func l2Scale(images: Matrix) -> Double
}

extension InnerModel {
    public func initialLabels(_ oneHot: Matrix) -> Matrix { oneHot }

    public func l2Scale(images: Matrix) -> Double {
        images.values.reduce(0) { $0 + $1 * $1 } / Double(max(1, images.rows))
    }
}

/// A model's loss on a labelled set at fixed parameters `x*`, and the gradients the
/// implicit hypergradient needs.
public struct ModelLoss: Sendable {
    public var loss: Double
    /// Points whose arg-max prediction is their label.
    public var correct: Int
    /// `∂L/∂x*`, flattened like the parameters (empty when not requested).
    public var parameterGradient: [Double]
    /// The explicit `∂L/∂S` at fixed `x*`, for a model whose predictions depend on
    /// `S` directly (kernel models: `K(X, S) α`); nil for the linear models.
    public var imageGradient: Matrix?

    public init(loss: Double, correct: Int, parameterGradient: [Double], imageGradient: Matrix? = nil) {
        self.loss = loss
        self.correct = correct
        self.parameterGradient = parameterGradient
        self.imageGradient = imageGradient
    }
}

/// An inner model whose solution is the root of an optimality condition
/// `F(x*, S, T, λ) = 0`. The hypergradient then follows from the implicit
/// function theorem (`rootVJP`), whatever the model:
///
///     dL/dθ = ∂L/∂θ|_{x*} - uᵀ ∂F/∂θ,   (∂F/∂x)ᵀ u = ∂L/∂x*,   θ = (S, T, λ)
///
/// (Blondel et al., 2021, "Efficient and Modular Implicit Differentiation", eq. 2).
public protocol ImplicitInnerModel: InnerModel {
    associatedtype Condition: RootCondition where Condition.ParameterCotangent == SyntheticSetCotangent

    /// The optimality condition at a fit.
    func condition(at fit: InnerFit) -> Condition

    /// The loss of the fitted model on `pass.data`, with `∂L/∂x*` (and the explicit
    /// `∂L/∂S`) when `gradient` is true.
    func loss(of fit: InnerFit, on pass: OuterPass, gradient: Bool) -> ModelLoss

    /// The linear solver that suits the condition's Jacobian at `fit` (default:
    /// conjugate gradient, for a symmetric positive definite Jacobian).
    func linearSolver(at fit: InnerFit, settings: LinearSolveSettings) -> any LinearSolver
}

extension ImplicitInnerModel {
    public func linearSolver(at fit: InnerFit, settings: LinearSolveSettings) -> any LinearSolver {
        ConjugateGradient(tolerance: settings.tolerance, maxIterations: settings.maxIterations)
    }

    public func evaluate(_ fit: InnerFit, on data: LabeledImages, threads: Int) -> Evaluation {
        let result = loss(of: fit, on: OuterPass(data: data, threads: threads), gradient: false)
        return Evaluation(loss: result.loss, accuracy: Double(result.correct) / Double(max(1, data.count)))
    }

    public func outerGradient(of fit: InnerFit, on pass: OuterPass, linearSolve: LinearSolveSettings,
                              warmAdjoint: [Double]?) -> OuterGradient {
        let outer = loss(of: fit, on: pass, gradient: true)
        let hypergradient = self.hypergradient(at: fit, loss: outer, solver: linearSolver(at: fit, settings: linearSolve),
                                               initialGuess: warmAdjoint)
        return OuterGradient(loss: outer.loss, correct: outer.correct, cotangent: hypergradient.cotangent,
                             linearSolve: hypergradient.solve, adjoint: hypergradient.adjoint)
    }

    /// The implicit hypergradient at `fit` for the outer gradients in `loss`.
    public func hypergradient(at fit: InnerFit, loss: ModelLoss, solver: (any LinearSolver)? = nil,
                              initialGuess: [Double]? = nil) -> Hypergradient {
        Hypergradient(condition: condition(at: fit), outerGradient: loss.parameterGradient,
                      explicitImageGradient: loss.imageGradient, solver: solver, initialGuess: initialGuess)
    }
}

extension ModelLoss {
    /// The fused linear outer pass's result (`X W`, Float32 inside blocks of rows).
    init(_ result: OuterPassResult) {
        self.init(loss: result.loss, correct: result.correct, parameterGradient: result.gradient)
    }
}
