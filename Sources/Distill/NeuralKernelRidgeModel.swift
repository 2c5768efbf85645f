import DistillImages
import DistillNumerics
import ImplicitDiff

/// Kernel ridge regression with the NNGP or NTK kernel of a fully connected ReLU
/// network (`NeuralKernelRidgeRegression`) as an inner model: KIP (Nguyen, Chen &
/// Lee 2021) by implicit differentiation.
///
/// `x* = α* = (K(U, U) + λ tr(K)/m I)⁻¹ T` (`count x classes`) by Cholesky in
/// Double, certified by `‖F(α*)‖ ≤ relativeTolerance · ‖T‖`. The outer loss on the
/// training set is one fused pass (`NeuralKernelPass`): KIP's mean squared error
/// against one-hot minus 1/C, or the cross-entropy of the predictions. The images
/// stay in pixel units; the model sees `(x - mean)/std` with the training set's
/// pixel mean and standard deviation (`standardisation`).
public struct NeuralKernelModel: ImplicitInnerModel {
    public var kernel: NeuralKernel
    public var standardisation: PixelStandardisation
    public var outerLoss: KernelOuterLoss
    /// The certificate's relative tolerance (a closed form meets it to round-off).
    public var relativeTolerance: Double
    /// The threads the support set's Gram matrix, its VJP and their products
    /// are split over (the results are the same bits for any count).
    public var threads: Int

    public init(kernel: NeuralKernel, standardisation: PixelStandardisation, outerLoss: KernelOuterLoss = .meanSquaredError,
                relativeTolerance: Double = 1e-6, threads: Int = 1) {
        self.kernel = kernel
        self.standardisation = standardisation
        self.outerLoss = outerLoss
        self.relativeTolerance = relativeTolerance
        self.threads = threads
    }

    /// `nngp` or `ntk`.
    public var name: String { kernel.kind == .ntk ? NTKModel.modelName : NNGPModel.modelName }

    public func parameterShape(count: Int, features: Int, classes: Int) -> (rows: Int, columns: Int) { (count, classes) }

    /// `m`: the ridge is `r = λ tr(K) / m` against `K`, whose largest eigenvalue
    /// is at most `tr(K)`, so `r` over it is at least `λ / m` (see `InnerModel.l2Scale`).
    public func l2Scale(images: Matrix) -> Double { Double(images.rows) }

    /// KIP's targets: one-hot minus 1/C, so that learned labels start there.
    public func initialLabels(_ oneHot: Matrix) -> Matrix {
        oneHot.adding(Matrix(rows: oneHot.rows, columns: oneHot.columns,
                             values: [Double](repeating: -1 / Double(max(1, oneHot.columns)), count: oneHot.values.count)))
    }

    func problem(images: Matrix, labels: Matrix, l2: Double) -> NeuralKernelRidgeRegression {
        NeuralKernelRidgeRegression(images: images, labels: labels, l2: l2, kernel: kernel, standardisation: standardisation,
                                    threads: threads)
    }

    /// `problem(images:labels:l2:)`, stoppable: nil once `stopRequested`
    /// answers true (asked between the blocks of its kernel matrix and the
    /// panels of its factorisation, `NeuralKernelRidgeRegression.init?`).
    func problem(images: Matrix, labels: Matrix, l2: Double, stopRequested: () -> Bool) -> NeuralKernelRidgeRegression? {
        NeuralKernelRidgeRegression(images: images, labels: labels, l2: l2, kernel: kernel, standardisation: standardisation,
                                    threads: threads, stopRequested: stopRequested)
    }

    /// The problem `fit` was solved on: the one `fit` keeps (`InnerFit.cache`)
    /// when it is this model's problem on exactly `fit`'s images, labels and λ,
    /// else built anew (the same values either way).
    func problem(at fit: InnerFit) -> NeuralKernelRidgeRegression {
        cachedProblem(fit) ?? problem(images: fit.images, labels: fit.labels, l2: fit.l2)
    }

    private func cachedProblem(_ fit: InnerFit) -> NeuralKernelRidgeRegression? {
        guard let problem = fit.cache as? NeuralKernelRidgeRegression, problem.kernel == kernel,
              problem.standardisation == standardisation, problem.l2 == fit.l2,
              problem.labels == fit.labels, problem.images == fit.images else { return nil }
        return problem
    }

    /// The closed form; when it fails (non-finite input, λ ≤ 0) the start is
    /// returned, uncertified, and the step record shows it. The fit keeps the
    /// problem (`K`, its factorisation) for `condition(at:)` and `linearSolver(at:)`.
    public func fit(images: Matrix, labels: Matrix, l2: Double, from start: Matrix?) -> InnerFit {
        let problem = problem(images: images, labels: labels, l2: l2)
        let alpha = problem.solution() ?? start ?? Matrix(zeros: problem.count, problem.classes)
        return InnerFit(images: images, labels: labels, l2: l2, parameters: alpha, iterations: 0,
                        gradientNorm: problem.residual(alpha).norm, tolerance: relativeTolerance * labels.norm,
                        cache: problem)
    }

    public func condition(at fit: InnerFit) -> NeuralKernelRidgeCondition {
        NeuralKernelRidgeCondition(problem: problem(at: fit), coefficients: fit.parameters)
    }

    /// The solver of the implicit system `(K + r I) ⊗ I_C`: the problem's `m x m`
    /// Cholesky factorisation (the inner solve's), then one substitution over
    /// the `C` right-hand sides (certified by the true residual).
    public func linearSolver(at fit: InnerFit, settings: LinearSolveSettings) -> any LinearSolver {
        KernelRidgeSolver(problem: problem(at: fit), tolerance: settings.tolerance)
    }

    /// The fused pass over `pass.data` (`NeuralKernelPass`), the image gradient
    /// carried from standardised to pixel units (`1/std`).
    public func loss(of fit: InnerFit, on pass: OuterPass, gradient: Bool) -> ModelLoss {
        let (result, u) = passResult(of: fit, on: pass, gradient: gradient)
        return ModelLoss(loss: result.loss, correct: result.correct,
                         parameterGradient: result.coefficientGradient,
                         imageGradient: gradient
                            ? Matrix(rows: u.rows, columns: u.columns, values: result.supportGradient.map { $0 / standardisation.std })
                            : nil)
    }

    /// The work of the fused pass with the gradient, for benchmarks (runs the pass once): its
    /// multiply-adds (`NeuralKernelPassResult.multiplyAdds`: `2 n m p` dense, fewer where zero
    /// pixels were skipped) and whether its products ran on AMX-INT8 tiles.
    public func passWork(of fit: InnerFit, on pass: OuterPass) -> (multiplyAdds: Double, usedAMX: Bool) {
        let result = passResult(of: fit, on: pass, gradient: true).0
        return (result.multiplyAdds, result.usedAMX)
    }

    private func passResult(of fit: InnerFit, on pass: OuterPass, gradient: Bool) -> (NeuralKernelPassResult, Matrix) {
        let u = cachedProblem(fit)?.standardised ?? standardisation.apply(fit.images)
        let result = NeuralKernelPass(pass: pass)
            .evaluate(support: u.values, count: u.rows, alpha: fit.parameters.values, architecture: Self.architecture(kernel),
                      mean: standardisation.mean, std: standardisation.std, loss: Self.passLoss(outerLoss), gradient: gradient)
        return (result, u)
    }

    static func architecture(_ kernel: NeuralKernel) -> NeuralKernelArchitecture {
        NeuralKernelArchitecture(tangent: kernel.kind == .ntk, depth: kernel.depth,
                                 weightVariance: kernel.weightVariance, biasVariance: kernel.biasVariance)
    }

    static func passLoss(_ loss: KernelOuterLoss) -> NeuralKernelPass.Loss {
        loss == .meanSquaredError ? .meanSquaredError : .crossEntropy
    }
}

/// Solves `(K + r I) V = B` for `B` of `count x classes` (row-major, flattened)
/// with the problem's Cholesky factorisation of `K + r I`; reports the true
/// relative residual and `converged == false` (with the initial guess or 0) when
/// there is no factorisation or the residual exceeds `tolerance`.
struct KernelRidgeSolver: LinearSolver {
    let problem: NeuralKernelRidgeRegression
    let tolerance: Double

    func solve(_ matvec: ([Double]) -> [Double], _ b: [Double], initialGuess: [Double]?) -> LinearSolution {
        let c = b.count / max(1, problem.count)
        let fallback = initialGuess ?? [Double](repeating: 0, count: b.count)
        let x = problem.factorization.map { $0.solve(rowMajor: b, columns: c) } ?? fallback
        let ax = matvec(x)
        var residual = 0.0, bNorm = 0.0
        for i in b.indices { residual += (b[i] - ax[i]) * (b[i] - ax[i]); bNorm += b[i] * b[i] }
        residual = residual.squareRoot(); bNorm = bNorm.squareRoot()
        return LinearSolution(x: x, iterations: 1, residualNorm: residual, rightHandSideNorm: bNorm,
                              converged: residual.isFinite && residual <= tolerance * max(bNorm, .leastNonzeroMagnitude))
    }
}

/// Builds `NeuralKernelModel` from the configuration (`kernelDepth`,
/// `weightVariance`, `biasVariance`, `outerLoss`) with the training set's pixel
/// standardisation.
private func makeNeuralKernelModel(_ kind: NeuralKernelKind, _ configuration: DistillerConfiguration,
                                   train: LabeledImages) throws(InitialisationError) -> any InnerModel {
    guard (1...NeuralKernelPass.maximumDepth).contains(configuration.kernelDepth) else {
        throw InitialisationError(description: "the kernel depth must lie in 1...\(NeuralKernelPass.maximumDepth), got \(configuration.kernelDepth)")
    }
    return NeuralKernelModel(
        kernel: NeuralKernel(kind: kind, depth: configuration.kernelDepth,
                             weightVariance: configuration.weightVariance, biasVariance: configuration.biasVariance),
        standardisation: .measured(on: train), outerLoss: configuration.outerLoss,
        relativeTolerance: configuration.innerTolerance, threads: configuration.threads)
}

/// The defaults of `--model nngp|ntk`, chosen on the held-out split of MNIST's
/// training set (`tools/make-holdout-split.py`: the last 10,000 training images
/// held out; every measurement and its command in docs/ntk-defaults.md): the
/// shared defaults except
/// - `pull = 0`: the pull towards the class means cost 2.7 points at 1 image per
///   class (88.07% against 90.74%) and 1.7 at 10 (95.20% against 96.90%);
/// - `outerLoss = .crossEntropy`: 91.57% against 90.90% (mse) at 1 per class, with
///   more readable images; 96.86% against 96.92% at 10 (within one standard error);
/// - `initialisation = .real`: 91.57% against 91.45% (class means) at 1 per class
///   and 96.86% against 96.78% at 10, and the images of a class start (and stay)
///   different from each other instead of as jittered copies of the class mean;
/// - NNGP: `steps = 600` (92.58% at 1 per class with these defaults);
/// - NTK: `steps = 1000` and `kernelDepth = 2` (two hidden layers): 93.32% at 1 per
///   class and 97.69% at 10, against 92.33% and 97.36% with 600 steps at depth 3
///   (and 92.70% / 97.53% at depth 2 with 600 steps, 92.67% / 97.63% at depth 3
///   with 1000); each two-layer step also costs less than a three-layer one;
/// - NTK from `NTKModel.meanSquaredErrorFromImagesPerClass` images per class:
///   `outerLoss = .meanSquaredError` (KIP's loss), which overfits the training set
///   less there: 98.02% against 97.68% at 20 per class and 98.41% against 97.92%
///   at 50, while cross-entropy wins at 10 (97.69% against 97.27%) and at 1
///   (93.32% against 90.67%); sizes 11 to 19 were not measured.
/// The learning rates and `l2` (0.01 and 1 were worse) stay as they are.
func neuralKernelDefaults(_ base: DistillerConfiguration, kind: NeuralKernelKind) -> DistillerConfiguration {
    var c = base
    c.pull = 0
    c.outerLoss = .crossEntropy
    c.initialisation = .real
    switch kind {
    case .nngp:
        c.steps = 600
    case .ntk:
        c.steps = 1000
        c.kernelDepth = 2
        if base.imagesPerClass >= NTKModel.meanSquaredErrorFromImagesPerClass { c.outerLoss = .meanSquaredError }
    }
    return c
}

/// The NNGP and NTK factories: one kernel kind each, everything else shared.
public protocol NeuralKernelModelFactory: InnerModelFactory {
    /// The kernel this factory's model uses.
    static var kind: NeuralKernelKind { get }
}

extension NeuralKernelModelFactory {
    public static func make(_ configuration: DistillerConfiguration, train: LabeledImages) throws(InitialisationError) -> any InnerModel {
        try makeNeuralKernelModel(kind, configuration, train: train)
    }

    /// The network's depth and variances, the outer loss, and the linear solve's
    /// tolerance (its solve is a Cholesky factorisation: no iteration cap).
    public static func modelSettings(_ configuration: DistillerConfiguration) -> Set<DistillerConfiguration.CodingKeys> {
        [.kernelDepth, .weightVariance, .biasVariance, .outerLoss, .linearSolveTolerance]
    }

    /// The kernel models' defaults (`neuralKernelDefaults`).
    public static func defaultConfiguration(_ base: DistillerConfiguration) -> DistillerConfiguration {
        neuralKernelDefaults(base, kind: kind)
    }

    /// `NeuralKernelCeiling.trainingImages`.
    public static var ceilingTrainingImages: Int? { NeuralKernelCeiling.trainingImages }

    /// Kernel ridge regression with the run's kernel (`model`'s depth and variances)
    /// on a class-balanced subset of \(NeuralKernelCeiling.trainingImages) training
    /// images (1000 of each class for MNIST): the largest subset one Cholesky
    /// factorisation handles in under a minute (`NeuralKernelCeiling`); its training
    /// loss is `model`'s outer loss, as the baselines' are. Nil when `model` is not a
    /// `NeuralKernelModel` or the factorisation fails or is stopped: `stopRequested`
    /// is asked between the panels of its Cholesky factorisation.
    public static func ceiling(model: any InnerModel, train: LabeledImages, test: LabeledImages, l2: Double,
                               threads: Int, stopRequested: () -> Bool) -> Evaluation.Pair? {
        guard let model = model as? NeuralKernelModel else { return nil }
        return NeuralKernelCeiling.evaluate(model: model, train: train, test: test, l2: l2, threads: threads,
                                            stopRequested: stopRequested)
    }
}

/// `--model nngp`: kernel ridge regression with the NNGP kernel of a fully connected ReLU network.
public enum NNGPModel: NeuralKernelModelFactory {
    public static let modelName = "nngp"
    public static let summary = "kernel ridge regression with the NNGP kernel of a fully connected ReLU network (--depth, --weight-variance, --bias-variance)"
    public static let kind = NeuralKernelKind.nngp
}

/// `--model ntk`: kernel ridge regression with the neural tangent kernel of a fully connected ReLU network.
public enum NTKModel: NeuralKernelModelFactory {
    public static let modelName = "ntk"
    public static let summary = "kernel ridge regression with the neural tangent kernel of a fully connected ReLU network (--depth, --weight-variance, --bias-variance)"
    public static let kind = NeuralKernelKind.ntk
    /// The size (images per class) from which `--model ntk`'s default outer loss is
    /// the mean squared error instead of cross-entropy (`neuralKernelDefaults`;
    /// chosen on the held-out split, docs/ntk-defaults.md).
    public static let meanSquaredErrorFromImagesPerClass = 20
}
