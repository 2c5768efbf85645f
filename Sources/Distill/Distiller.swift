import DistillImages
import DistillNumerics
import ImplicitDiff
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Settings of a distillation run.
public struct DistillerConfiguration: Sendable, Equatable, Codable {
    public var imagesPerClass = 1
    public var steps = 300
    /// Adam's learning rate on the synthetic images.
    public var learningRate = 0.02
    /// L2 strength λ of the inner model.
    public var l2 = 0.1
    public var seed: UInt64 = 0
    public var initialisation = Initialisation.mean
    /// Inner solve certificate: ‖F(W*)‖ ≤ innerTolerance · ‖F(0)‖.
    public var innerTolerance = 1e-6
    /// Relative residual tolerance of the implicit linear solve `Aᵀ u = ∂L/∂x*`
    /// (conjugate gradient, GMRES or a direct solve, as the model chooses).
    public var linearSolveTolerance = 1e-8
    /// Iteration cap of the implicit linear solve.
    public var linearSolveMaxIterations = 1000
    public var threads = 2
    /// Learn the labels as free real numbers (rows need not be probability vectors).
    public var learnLabels = true
    public var labelLearningRate = 0.02
    /// Learn the L2 strength, through its logarithm so that it stays positive.
    public var learnL2 = true
    public var l2LearningRate = 0.02
    /// Where the pixels may go: anywhere, or clipped to [0, 1] after every step.
    public var pixelRange = PixelRange.unit
    /// How the learning rates change over the run.
    public var schedule = LearningRateSchedule.cosine
    /// Weight of the pull towards the class means in the outer objective:
    /// `pull · (1/m) Σ_j ‖s_j - μ_class(j)‖²`.
    public var pull = 0.012
    /// The model trained on the synthetic set: a name in `InnerModels.names`.
    public var model = LogisticModel.modelName
    /// How the gradient with respect to the synthetic set is taken (unrolled: logistic only).
    public var hypergradient = HypergradientMethod.implicit
    /// N, the gradient-descent steps of the unrolled hypergradient.
    public var unrollSteps = 100
    /// γ of kernel ridge regression's RBF kernel; nil for the median heuristic on
    /// the training set (`KernelRidgeRegression.defaultBandwidth(for:)`).
    public var kernelBandwidth: Double?
    /// Hidden layers of the NNGP / NTK network.
    public var kernelDepth = 3
    /// σ_w² of the NNGP / NTK network.
    public var weightVariance = 2.0
    /// σ_b² of the NNGP / NTK network.
    public var biasVariance = 0.01
    /// The outer loss of the NNGP / NTK models (the linear models use cross-entropy).
    public var outerLoss = KernelOuterLoss.meanSquaredError
    /// N, the training images each outer step takes its loss and hypergradient
    /// on: a seeded minibatch drawn uniformly without replacement (`OuterBatch`),
    /// from 1 to the training set's size; nil (the default) for the whole
    /// training set, exactly. For every model the inner problem is on the
    /// synthetic set only, so the batch's hypergradient is an unbiased estimate
    /// of the full one (see `OuterBatch`); the pull term is unaffected. A step
    /// then costs about N/n of a full pass over the training set, and records
    /// the batch's loss and accuracy. Optional, so that checkpoints written
    /// before it existed still decode (as nil).
    public var batch: Int?

    public init() {}

    /// Each setting's name in JSON (checkpoint.json, metrics.json): its property's name.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case imagesPerClass, steps, learningRate, l2, seed, initialisation, innerTolerance, linearSolveTolerance
        case linearSolveMaxIterations, threads, learnLabels, labelLearningRate, learnL2, l2LearningRate, pixelRange
        case schedule, pull, model, hypergradient, unrollSteps, kernelBandwidth, kernelDepth, weightVariance
        case biasVariance, outerLoss, batch
    }

    /// The implicit linear solve's settings.
    public var linearSolve: LinearSolveSettings {
        LinearSolveSettings(tolerance: linearSolveTolerance, maxIterations: linearSolveMaxIterations)
    }
}

/// How the gradient of the outer loss with respect to the synthetic set is taken.
public enum HypergradientMethod: String, Sendable, CaseIterable, Codable {
    /// The implicit function theorem at a certified inner solution: one linear solve.
    case implicit
    /// Reverse mode through N gradient-descent steps from `W = 0` (`UnrolledLogisticModel`).
    case unrolled
}

/// How the learning rates change over the steps of a run.
public enum LearningRateSchedule: String, Sendable, CaseIterable, Codable {
    /// The same rate at every step.
    case constant
    /// Cosine decay from the rate to 0 over the run: `η_k = η (1 + cos(π k / N)) / 2`
    /// at step k of N (k from 0).
    case cosine

    /// The factor applied to the base rates at step `k` (from 0) of `steps`.
    public func factor(step k: Int, of steps: Int) -> Double {
        switch self {
        case .constant: return 1
        case .cosine: return 0.5 * (1 + cos(Double.pi * Double(k) / Double(max(1, steps))))
        }
    }
}

/// The range the synthetic pixels are kept in.
public enum PixelRange: String, Sendable, CaseIterable, Codable {
    /// No constraint: images are free real arrays.
    case unbounded = "none"
    /// Projected to [0, 1] after every step, so they are real images shown as they are.
    case unit
}

/// One outer step's figures (the losses are those at the start of the step).
///
/// With a batch (`DistillerConfiguration.batch`), `trainLoss`, `objective` and
/// `trainAccuracy` are those of the step's batch of training images, not of the
/// whole training set.
public struct StepRecord: Sendable, Equatable, Codable {
    public var step: Int
    /// The outer loss on the training set (on the step's batch, with one) of
    /// the model trained on the synthetic set: its mean cross-entropy, or the
    /// kernel models' `outerLoss`.
    public var trainLoss: Double
    /// The outer objective: the training loss plus the pull term.
    public var objective: Double
    /// The L2 strength the inner model was trained with at this step.
    public var l2: Double
    /// The accuracy on the training set (on the step's batch, with one).
    public var trainAccuracy: Double
    /// Inner solver iterations (0 for a closed form, N when unrolled).
    public var innerIterations: Int
    /// ‖F(x*)‖ (for the unrolled hypergradient, ‖F(W_N)‖).
    public var innerGradientNorm: Double
    /// Whether the inner solve met its certificate (always true for the unrolled
    /// hypergradient, which differentiates its N steps whether or not they converged).
    public var innerConverged: Bool
    /// Iterations of the implicit linear solve (0 when unrolled).
    public var linearSolveIterations: Int
    /// `‖Aᵀ u - G‖ / ‖G‖` of the implicit linear solve (0 when unrolled).
    public var linearSolveResidual: Double
    /// Whether the linear solve met its tolerance (true when there is none).
    public var linearSolveConverged: Bool
    /// Wall time of the step in seconds.
    public var seconds: Double
}

/// Learns a small synthetic training set by implicit differentiation.
///
/// Each step: train the inner model on the synthetic set (warm started), take the
/// outer loss on the training set (or on the step's seeded batch of it,
/// `DistillerConfiguration.batch`) and its hypergradient from the model (for an
/// `ImplicitInnerModel`, one pass over those images and one implicit linear
/// solve), and move the images, labels and L2 strength with Adam.
///
/// The inner model is any `InnerModel`: the step only calls its `fit` and
/// `outerGradient`; it has no branch on the model or the hypergradient method.
public struct Distiller: Sendable {
    public let configuration: DistillerConfiguration
    public let classes: Int
    public let features: Int
    /// The synthetic images, `classes · imagesPerClass` x `features`, in class order.
    public private(set) var images: Matrix
    /// Their labels, `classes · imagesPerClass` x `classes`: one-hot rows, or
    /// free real numbers when they are learned.
    public private(set) var labels: Matrix
    /// The inner model's L2 strength (learned or fixed).
    public private(set) var l2: Double
    public private(set) var step = 0
    /// The model trained on the synthetic set.
    public let model: any InnerModel

    private let trainPass: OuterPass
    /// The pull towards the class means (nil when its weight is 0).
    private let pull: ClassMeanPull?
    private var imageOptimiser: Adam
    private var labelOptimiser: Adam
    private var l2Optimiser: Adam
    private var warmWeights: Matrix?
    private var warmAdjoint: [Double]?

    /// A distiller for `train`, with the inner model `configuration.model` names
    /// (`InnerModels.make`), or `model` when given (a model `--model` does not list).
    ///
    /// - Throws: `InitialisationError` when the training set cannot supply the
    ///   initial images or the batch, or the model cannot take the configuration.
    public init(train: LabeledImages, configuration: DistillerConfiguration,
                model: (any InnerModel)? = nil) throws(InitialisationError) {
        if let batch = configuration.batch, batch < 1 || batch > train.count {
            throw InitialisationError(description: "the outer batch must hold 1 to \(train.count) training images, got \(batch)")
        }
        self.configuration = configuration
        classes = train.classes
        features = train.features
        if let model {
            self.model = model
        } else {
            self.model = try InnerModels.make(configuration, train: train)
        }
        var random = SplitMix64(seed: configuration.seed)
        images = try configuration.initialisation.images(from: train, imagesPerClass: configuration.imagesPerClass, random: &random)
        labels = self.model.initialLabels(Self.oneHotLabels(classes: classes, imagesPerClass: configuration.imagesPerClass))
        l2 = configuration.l2
        if configuration.pixelRange == .unit { images.clamp(to: 0...1) }
        trainPass = OuterPass(data: train, threads: configuration.threads)
        pull = configuration.pull > 0
            ? ClassMeanPull(weight: configuration.pull, classMeans: try Initialisation.classMeans(train),
                            imageClasses: (0..<images.rows).map { $0 / configuration.imagesPerClass })
            : nil
        imageOptimiser = Adam(count: images.values.count, learningRate: configuration.learningRate)
        labelOptimiser = Adam(count: labels.values.count, learningRate: configuration.labelLearningRate)
        l2Optimiser = Adam(count: 1, learningRate: configuration.l2LearningRate)
    }

    /// Everything that changes during a run: saving it and restoring it with
    /// `restore(_:)` continues the run exactly as if it had never stopped.
    public struct State: Sendable, Equatable {
        public var step: Int
        public var images: Matrix
        public var labels: Matrix
        public var l2: Double
        public var imageOptimiser: Adam
        public var labelOptimiser: Adam
        public var l2Optimiser: Adam
        /// The last inner solution `x*` (the next inner solve's warm start).
        public var warmWeights: Matrix?
        /// The last adjoint `v` (the next CG solve's warm start), shaped like `x*`.
        public var warmAdjoint: [Double]?

        public init(step: Int, images: Matrix, labels: Matrix, l2: Double, imageOptimiser: Adam, labelOptimiser: Adam,
                    l2Optimiser: Adam, warmWeights: Matrix?, warmAdjoint: [Double]?) {
            self.step = step
            self.images = images
            self.labels = labels
            self.l2 = l2
            self.imageOptimiser = imageOptimiser
            self.labelOptimiser = labelOptimiser
            self.l2Optimiser = l2Optimiser
            self.warmWeights = warmWeights
            self.warmAdjoint = warmAdjoint
        }
    }

    public var state: State {
        State(step: step, images: images, labels: labels, l2: l2, imageOptimiser: imageOptimiser,
              labelOptimiser: labelOptimiser, l2Optimiser: l2Optimiser, warmWeights: warmWeights, warmAdjoint: warmAdjoint)
    }

    /// Continues from a saved state; its shapes must match this distiller's.
    public mutating func restore(_ state: State) throws(InitialisationError) {
        let shape = parameterShape
        guard state.images.rows == images.rows, state.images.columns == images.columns,
              state.labels.rows == labels.rows, state.labels.columns == labels.columns,
              state.imageOptimiser.firstMoment.count == images.values.count,
              state.labelOptimiser.firstMoment.count == labels.values.count,
              state.l2Optimiser.firstMoment.count == 1,
              state.warmWeights.map({ $0.rows == shape.rows && $0.columns == shape.columns }) ?? true,
              state.warmAdjoint.map({ $0.count == shape.rows * shape.columns }) ?? true else {
            throw InitialisationError(description: "the saved state does not match this run's shapes (\(images.rows) images of \(features) pixels, \(classes) classes)")
        }
        step = state.step
        images = state.images
        labels = state.labels
        l2 = state.l2
        imageOptimiser = state.imageOptimiser
        labelOptimiser = state.labelOptimiser
        l2Optimiser = state.l2Optimiser
        warmWeights = state.warmWeights
        warmAdjoint = state.warmAdjoint
    }

    /// The largest L2 strength at which the inner model still depends on the
    /// data as the outer pass sees it: `s / ε`, with `s = model.l2Scale(images:)`
    /// of the current images and `ε = Float.ulpOfOne` (1.2e-7), the precision of
    /// the fused outer passes (Float32 inside a block of rows).
    ///
    /// The inner solution is about `(1/λ)` times the data term's gradient at zero,
    /// so the model's outputs differ between classes by about `s / λ`. Beyond
    /// `s / ε` they differ by less than Float32's rounding: the outer pass sees a
    /// model that gives every image the same scores (it predicts a constant), its
    /// loss no longer depends on the data and the hypergradient is rounding noise.
    /// Such an inner problem is degenerate, and a learned L2 strength that goes
    /// there has diverged. Infinity when `s` is 0 or not finite.
    public var largestUsableL2: Double {
        let scale = model.l2Scale(images: images)
        return scale > 0 && scale.isFinite ? scale / Double(Float.ulpOfOne) : .infinity
    }

    /// The class of each synthetic image, in row order.
    public var imageClasses: [Int] {
        (0..<images.rows).map { $0 / configuration.imagesPerClass }
    }

    /// The shape of the inner model's parameters for this synthetic set.
    public var parameterShape: (rows: Int, columns: Int) {
        model.parameterShape(count: images.rows, features: features, classes: classes)
    }

    /// Trains the inner model on the current synthetic set, warm started from the
    /// last solution (a model may ignore the warm start, as the unrolled one does).
    public mutating func solveInner() -> InnerFit {
        let fit = model.fit(images: images, labels: labels, l2: l2, from: warmWeights)
        warmWeights = fit.parameters
        return fit
    }

    /// The loss and accuracy on `data` of a model returned by `solveInner()`.
    public func evaluate(_ fit: InnerFit, on data: LabeledImages) -> Evaluation {
        model.evaluate(fit, on: data, threads: configuration.threads)
    }

    /// The training images step `step + 1` (the next one) takes its outer loss
    /// on: the whole training set, or its batch (`OuterBatch.indices` of the
    /// seed and the step's number, copied with `LabeledImages.subset`).
    public var nextOuterPass: OuterPass {
        guard let batch = configuration.batch else { return trainPass }
        let train = trainPass.data
        let indices = OuterBatch.indices(seed: configuration.seed, step: step + 1, size: batch, count: train.count)
        return OuterPass(data: train.subset(indices), threads: trainPass.threads,
                         kernel: trainPass.usesAVX512 ? .automatic : .portable)
    }

    /// One outer step; returns its record.
    public mutating func step(clock: () -> Double) -> StepRecord {
        let start = clock()
        var (record, cotangent) = solveAndDifferentiate()
        let factor = configuration.schedule.factor(step: step, of: configuration.steps)
        imageOptimiser.learningRate = configuration.learningRate * factor
        labelOptimiser.learningRate = configuration.labelLearningRate * factor
        l2Optimiser.learningRate = configuration.l2LearningRate * factor
        var imageGradient = cotangent.images
        var pullValue = 0.0
        if let pull {
            (pullValue, imageGradient) = pull.value(images, addingGradientTo: imageGradient)
        }
        imageOptimiser.update(&images.values, gradient: imageGradient.values, threads: configuration.threads)
        if configuration.pixelRange == .unit { images.clamp(to: 0...1) }
        if configuration.learnLabels {
            labelOptimiser.update(&labels.values, gradient: cotangent.labels.values)
        }
        if configuration.learnL2 {
            // θ = log λ, dL/dθ = λ dL/dλ.
            var theta = [log(l2)]
            l2Optimiser.update(&theta, gradient: [l2 * cotangent.l2])
            l2 = exp(theta[0])
        }
        step += 1
        record.objective = record.trainLoss + pullValue
        record.seconds = clock() - start
        return record
    }

    /// The inner solve, the outer loss and its hypergradient at the current
    /// synthetic set: the step's record (its objective without the pull term, no
    /// time yet) and the cotangent. The inner fit, which shares the images'
    /// storage, ends with this call, so that the optimiser then updates the
    /// images in place instead of a copy.
    private mutating func solveAndDifferentiate() -> (StepRecord, SyntheticSetCotangent) {
        let inner = solveInner()
        let pass = nextOuterPass
        let outer = model.outerGradient(of: inner, on: pass, linearSolve: configuration.linearSolve,
                                        warmAdjoint: warmAdjoint)
        warmAdjoint = outer.adjoint
        let solve = outer.linearSolve
        let record = StepRecord(
            step: step + 1, trainLoss: outer.loss, objective: outer.loss, l2: inner.l2,
            trainAccuracy: Double(outer.correct) / Double(pass.data.count),
            innerIterations: inner.iterations, innerGradientNorm: inner.gradientNorm,
            innerConverged: solve == nil || inner.converged,
            linearSolveIterations: solve?.iterations ?? 0, linearSolveResidual: solve?.relativeResidual ?? 0,
            linearSolveConverged: solve?.converged ?? true, seconds: 0)
        return (record, outer.cotangent)
    }

    /// One-hot rows: `imagesPerClass` rows per class, in class order.
    public static func oneHotLabels(classes: Int, imagesPerClass: Int) -> Matrix {
        var t = Matrix(zeros: classes * imagesPerClass, classes)
        for row in 0..<t.rows { t[row, row / imagesPerClass] = 1 }
        return t
    }
}

/// Loss and accuracy of a model on a labelled image set.
public struct Evaluation: Sendable, Equatable {
    public var loss: Double
    public var accuracy: Double

    public init(loss: Double, accuracy: Double) {
        self.loss = loss
        self.accuracy = accuracy
    }

    /// Train and test figures of one model.
    public struct Pair: Sendable, Equatable {
        public var train: Evaluation
        public var test: Evaluation

        public init(train: Evaluation, test: Evaluation) {
            self.train = train
            self.test = test
        }
    }

    /// The linear softmax model `W` (the fused outer pass).
    public init(weights: Matrix, on data: LabeledImages, threads: Int) {
        let result = OuterPass(data: data, threads: threads).evaluate(weights: weights.values, gradient: false)
        loss = result.loss
        accuracy = Double(result.correct) / Double(max(1, data.count))
    }
}
