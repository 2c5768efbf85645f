import ArgumentParser
import Distill
import DistillDatasets
import DistillIO

/// Where the data comes from and how many threads work on it: shared by every
/// command that reads a dataset.
struct DataOptions: ParsableArguments {
    /// `--data`'s default.
    static let defaultData = "data/mnist"

    @Option(help: "The dataset folder, recognised by its content: MNIST-named IDX files (raw or .gz; rank-4 images are colour), class folders of PNG files (train/<class>/*.png and test/<class>/*.png, or <class>/*.png with --test-fraction), CIFAR-10 binary batches (data_batch_1.bin ... test_batch.bin) or CIFAR-100 binary files (train.bin, test.bin).")
    var data = DataOptions.defaultData

    @Option(help: ArgumentHelp("For a single class-per-folder PNG tree (<class>/*.png): the fraction of each class held out as the test split, strictly between 0 and 1 (a seeded, stratified split recorded in metrics.json).", valueName: "F"))
    var testFraction: Double?

    @Option(help: "The seed of the --test-fraction split (kept apart from --seed, so that runs with different seeds are tested on the same images).")
    var splitSeed: UInt64 = 0

    @Option(help: ArgumentHelp("For CIFAR-100: the fine labels (100 classes, the default) or the coarse ones (20 superclasses).", valueName: "fine|coarse"))
    var labelSet: CIFAR.LabelSet?

    @Option(help: "How many threads the passes over the training and test sets use.")
    var threads = DistillerConfiguration().threads

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads).") }
        if let testFraction {
            guard testFraction > 0, testFraction < 1 else {
                throw ValidationError("--test-fraction must lie strictly between 0 and 1, got \(testFraction).")
            }
        }
    }

    /// How the dataset is loaded: what `DatasetSources.load` and `LoadedDataset` take.
    var datasetOptions: DatasetOptions {
        DatasetOptions(testFraction: testFraction, splitSeed: splitSeed, labelSet: labelSet)
    }
}

extension CIFAR.LabelSet: ExpressibleByArgument {}

/// The inner model and its settings: shared by run, sweep, check and bench.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The model trained on the synthetic images: \(InnerModels.all.map { "\($0.modelName) (\($0.summary))" }.joined(separator: "; ")).",
                               valueName: InnerModels.names.joined(separator: "|")))
    var model = DistillerConfiguration().model

    @Option(help: "The L2 strength of the inner model (positive); the starting value when it is learned.")
    var l2 = DistillerConfiguration().l2

    @Option(help: "How the gradient with respect to the synthetic images is taken: implicit (the implicit function theorem at a certified inner solution) or unrolled (reverse mode through --unroll-steps gradient-descent steps from zero; logistic model only).")
    var hypergradient = DistillerConfiguration().hypergradient

    @Option(help: "How many inner gradient-descent steps the unrolled hypergradient differentiates through.")
    var unrollSteps = DistillerConfiguration().unrollSteps

    @Option(help: "Hidden ReLU layers of the network whose NNGP / NTK kernel --model nngp|ntk uses (1 to 8).")
    var depth = DistillerConfiguration().kernelDepth

    @Option(help: "Weight variance σ_w² of the NNGP / NTK network (positive).")
    var weightVariance = DistillerConfiguration().weightVariance

    @Option(help: "Bias variance σ_b² of the NNGP / NTK network (zero or positive).")
    var biasVariance = DistillerConfiguration().biasVariance

    @Option(help: "The outer loss of --model nngp|ntk on the training set: mse (KIP's, against one-hot minus 1/C) or cross-entropy (of the predictions as logits).")
    var outerLoss = DistillerConfiguration().outerLoss

    @Option(help: "The inner solve stops when its gradient norm is below this fraction of the gradient norm at zero.")
    var innerTolerance = DistillerConfiguration().innerTolerance

    @Option(help: "The implicit linear solve (conjugate gradient, GMRES or a direct solve, as the model chooses) stops at this relative residual.")
    var linearSolveTolerance = DistillerConfiguration().linearSolveTolerance

    func validate() throws {
        guard InnerModels.names.contains(model) else {
            throw ValidationError("--model must be one of \(InnerModels.names.joined(separator: ", ")), got \(model).")
        }
        guard l2 > 0, l2.isFinite else { throw ValidationError("--l2 must be a positive number (the inner problem needs it to be strongly convex), got \(l2).") }
        guard innerTolerance > 0, innerTolerance < 1 else { throw ValidationError("--inner-tolerance must lie strictly between 0 and 1, got \(innerTolerance).") }
        guard linearSolveTolerance > 0, linearSolveTolerance < 1 else { throw ValidationError("--linear-solve-tolerance must lie strictly between 0 and 1, got \(linearSolveTolerance).") }
        guard unrollSteps >= 1 else { throw ValidationError("--unroll-steps must be at least 1, got \(unrollSteps).") }
        guard (1...8).contains(depth) else { throw ValidationError("--depth must lie between 1 and 8, got \(depth).") }
        guard weightVariance > 0, weightVariance.isFinite else { throw ValidationError("--weight-variance must be a positive number, got \(weightVariance).") }
        guard biasVariance >= 0, biasVariance.isFinite else { throw ValidationError("--bias-variance must be zero or a positive number, got \(biasVariance).") }
        guard hypergradient == .implicit || ((try? InnerModels.factory(named: model))?.supportsUnrolledHypergradient ?? false) else {
            throw ValidationError("--hypergradient unrolled works with --model logistic only, got --model \(model).")
        }
    }

    /// Writes these settings into `c`.
    func apply(to c: inout DistillerConfiguration) {
        c.model = model
        c.l2 = l2
        c.hypergradient = hypergradient
        c.unrollSteps = unrollSteps
        c.innerTolerance = innerTolerance
        c.linearSolveTolerance = linearSolveTolerance
        c.kernelDepth = depth
        c.weightVariance = weightVariance
        c.biasVariance = biasVariance
        c.outerLoss = outerLoss
    }
}

/// The options that shape a distillation, shared by `run` and `sweep`.
struct DistillOptions: ParsableArguments {
    @OptionGroup(title: "Data") var dataOptions: DataOptions
    @OptionGroup(title: "Inner model") var modelOptions: ModelOptions

    @Option(help: "How many outer steps (inner solve, implicit gradient, Adam update) to take.")
    var steps = DistillerConfiguration().steps

    @Option(help: "Adam's learning rate on the synthetic pixels.")
    var learningRate = DistillerConfiguration().learningRate

    @Option(help: "The seed of the random generator; the same seed and thread count give the same result.")
    var seed: UInt64 = DistillerConfiguration().seed

    @Option(name: .customLong("init"), help: "How the synthetic images start: noise (normal/pixels, as JAXopt), real (random real images), mean (class means).")
    var initialisation = DistillerConfiguration().initialisation

    @Option(help: ArgumentHelp("Learn the labels as free real numbers along with the images.", valueName: "on|off"))
    var learnLabels = Switch(DistillerConfiguration().learnLabels)

    @Option(help: "Adam's learning rate on the labels, when they are learned.")
    var labelLearningRate = DistillerConfiguration().labelLearningRate

    @Option(help: ArgumentHelp("Learn the inner model's L2 strength (through its logarithm), starting from --l2.", valueName: "on|off"))
    var learnL2 = Switch(DistillerConfiguration().learnL2)

    @Option(help: "Adam's learning rate on the logarithm of the L2 strength, when it is learned.")
    var l2LearningRate = DistillerConfiguration().l2LearningRate

    @Option(help: "How the learning rates change over the run: constant, or cosine (decaying to 0 at the last step).")
    var schedule = DistillerConfiguration().schedule

    @Option(help: "Where the synthetic pixels may go: unit (clipped to [0, 1] after every step, so they are real images) or none.")
    var pixelRange = DistillerConfiguration().pixelRange

    @Option(help: "Weight of the pull of each synthetic image towards its class's mean training image (0 turns it off); it keeps the images readable.")
    var pull = DistillerConfiguration().pull

    /// The dataset location.
    var data: String { dataOptions.data }

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps).") }
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be a positive number, got \(learningRate).") }
        guard labelLearningRate > 0, labelLearningRate.isFinite else { throw ValidationError("--label-learning-rate must be a positive number, got \(labelLearningRate).") }
        guard l2LearningRate > 0, l2LearningRate.isFinite else { throw ValidationError("--l2-learning-rate must be a positive number, got \(l2LearningRate).") }
        guard pull >= 0, pull.isFinite else { throw ValidationError("--pull must be zero or a positive number, got \(pull).") }
    }

    /// The distiller's settings for `imagesPerClass` images per class.
    func configuration(imagesPerClass: Int) -> DistillerConfiguration {
        var c = DistillerConfiguration()
        c.imagesPerClass = imagesPerClass
        c.steps = steps
        c.learningRate = learningRate
        c.seed = seed
        c.initialisation = initialisation
        c.threads = dataOptions.threads
        c.learnLabels = learnLabels.isOn
        c.labelLearningRate = labelLearningRate
        c.learnL2 = learnL2.isOn
        c.l2LearningRate = l2LearningRate
        c.pixelRange = pixelRange
        c.pull = pull
        c.schedule = schedule
        modelOptions.apply(to: &c)
        return c
    }
}

extension Initialisation: ExpressibleByArgument {}
extension PixelRange: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension HypergradientMethod: ExpressibleByArgument {}
extension KernelOuterLoss: ExpressibleByArgument {}

/// An on/off option value.
enum Switch: String, ExpressibleByArgument, CaseIterable {
    case on, off

    init(_ isOn: Bool) { self = isOn ? .on : .off }

    var isOn: Bool { self == .on }
}
