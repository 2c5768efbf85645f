import ArgumentParser
import Distill
import DistillDatasets
import DistillIO
import Foundation

/// `--data`'s default as a command's help says it: `data/mnist`, or for a
/// command that can read a run's recorded dataset, that first.
protocol DataDefault {
    /// The help's "(default: ...)".
    static var helpText: String { get }
}

/// `data/mnist` (sweep, check, bench, convert).
enum PlainDataDefault: DataDefault {
    static var helpText: String { "(default: \(DataOptions.defaultData))" }
}

/// `run`: with --resume, the dataset the run recorded.
enum RunDataDefault: DataDefault {
    static var helpText: String { "(default: \(DataOptions.defaultData); with --resume, the dataset the run recorded)" }
}

/// `eval`: for a run's folder, the dataset the run recorded.
enum EvalDataDefault: DataDefault {
    static var helpText: String { "(default: for a run's folder, the dataset the run recorded in its metrics.json; else \(DataOptions.defaultData))" }
}

/// Where the data comes from and how many threads work on it, for the commands
/// whose `--data` defaults to `data/mnist` alone.
typealias DataOptions = DataOptionGroup<PlainDataDefault>

/// Where the data comes from and how many threads work on it: shared by every
/// command that passes over a dataset; `Default` says `--data`'s default in its
/// help. The data options are shown under the DATA heading, `--threads` (not
/// a property of the data) among the general options.
struct DataOptionGroup<Default: DataDefault>: ParsableArguments {
    /// `--data`'s default.
    static var defaultData: String { DataSourceOptions<Default>.defaultData }

    @OptionGroup(title: "Data") var source: DataSourceOptions<Default>

    @Option(parsing: .unconditional, help: "How many threads the passes over the training and test sets use.")
    var threads = DistillerConfiguration().threads

    var givenData: String? { source.givenData }
    var data: String { source.data }
    var dataGiven: Bool { source.dataGiven }
    var testFraction: Double? { source.testFraction }
    var splitSeed: UInt64 { source.splitSeed }
    var labelSet: CIFAR.LabelSet? { source.labelSet }
    var datasetOptions: DatasetOptions { source.datasetOptions }

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads: expected at least 1, found '\(threads)'") }
        guard threads <= Self.maximumThreads else {
            throw ValidationError("--threads: expected a value between 1 and \(Self.maximumThreads), found '\(threads)'; this machine has \(counted(Self.processors, "processor")) available")
        }
    }

    /// The largest `--threads`: far above any laptop's or workstation's cores, and
    /// well below the counts where starting the threads dominates a pass
    /// (`--threads 100000` took 20 s a step on 2 cores).
    static var maximumThreads: Int { 1024 }

    /// The processors this process may use (`ProcessInfo.activeProcessorCount`).
    static var processors: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// A warning when `threads` is more than the processors available
    /// (and than the default, so that the default warns on no machine); nil
    /// otherwise. Not an error: results depend on the thread count, and a run
    /// made elsewhere is reproduced with its own count.
    var threadsWarning: String? {
        guard threads > max(Self.processors, DistillerConfiguration().threads) else { return nil }
        return "warning: --threads \(threads) is more than the \(counted(Self.processors, "processor")) available; the passes will be slower than with --threads \(Self.processors), but results depend on the thread count, so \(threads) are used"
    }
}

/// Where the data comes from: `--data` and how it is split and labelled
/// (`convert` takes these alone: it makes no passes over the data).
struct DataSourceOptions<Default: DataDefault>: ParsableArguments {
    /// `--data`'s default.
    static var defaultData: String { "data/mnist" }

    @Option(name: .customLong("data"), help: ArgumentHelp("The dataset folder, recognised by its content: MNIST-named IDX files (raw or .gz; rank-4 images are colour), class folders of PNG files (train/<class>/*.png and test/<class>/*.png, or <class>/*.png with --test-fraction), CIFAR-10 binary batches (data_batch_1.bin ... test_batch.bin) or CIFAR-100 binary files (train.bin, test.bin). \(Default.helpText)", valueName: "data"))
    var givenData: String?

    /// The dataset location: `--data`, else `defaultData`.
    var data: String { givenData ?? Self.defaultData }

    /// Whether `--data` was given (even with the default's value).
    var dataGiven: Bool { givenData != nil }

    @Option(parsing: .unconditional, help: ArgumentHelp("For a single class-per-folder PNG tree (<class>/*.png): the fraction of each class held out as the test split, strictly between 0 and 1 (a seeded, stratified split; run and sweep record it in metrics.json).", valueName: "F"))
    var testFraction: Double?

    @Option(parsing: .unconditional, help: "The seed of the --test-fraction split (kept apart from the distillation's --seed where a command has one, so that runs with different seeds are tested on the same images).")
    var splitSeed: UInt64 = 0

    @Option(help: ArgumentHelp("For CIFAR-100: the fine labels (100 classes) or the coarse ones (20 superclasses). \(choiceText(CIFAR.LabelSet.self, default: CIFAR.LabelSet.fine))", valueName: "fine|coarse"),
            transform: choice)
    var labelSet: CIFAR.LabelSet?

    func validate() throws {
        try refuseEmptyPath("--data", data)
        try refuseSubnormal([("--test-fraction", testFraction)])
        if let testFraction {
            guard isPositiveNormal(testFraction), testFraction < 1 else {
                throw ValidationError("--test-fraction: expected a value strictly between 0 and 1, found '\(testFraction)'")
            }
        }
    }

    /// How the dataset is loaded: what `DatasetSources.load` and `LoadedDataset` take.
    var datasetOptions: DatasetOptions {
        DatasetOptions(testFraction: testFraction, splitSeed: splitSeed, labelSet: labelSet)
    }
}

/// A command that reads a dataset with `DataOptionGroup` (every command).
protocol ReadsDataset {
    /// `DataOptionGroup.threadsWarning` of its data options.
    var threadsWarning: String? { get }
}

extension DistillCommand.Run: ReadsDataset { var threadsWarning: String? { options.dataOptions.threadsWarning } }
extension DistillCommand.Sweep: ReadsDataset { var threadsWarning: String? { options.dataOptions.threadsWarning } }
extension DistillCommand.Eval: ReadsDataset { var threadsWarning: String? { dataOptions.threadsWarning } }
extension DistillCommand.Check: ReadsDataset { var threadsWarning: String? { dataOptions.threadsWarning } }
extension DistillCommand.Bench: ReadsDataset { var threadsWarning: String? { dataOptions.threadsWarning } }
extension DistillCommand.Convert: ReadsDataset { var threadsWarning: String? { nil } }  // no --threads: no passes

extension CIFAR.LabelSet: ExpressibleByArgument {}

/// The `--model` values a command accepts (`ModelOptions`' help lists them and
/// its `validate` refuses the others).
protocol ModelChoices {
    /// The accepted names, in `InnerModels.all`'s order.
    static var names: [String] { get }
    /// The sentence refusing `model`, one of `InnerModels.names` or an unknown name.
    static func refusal(_ model: String) -> String
    /// Whether the command takes `--hypergradient unrolled` (else `--hypergradient`
    /// and `--unroll-steps` are left out of its help, and refused by its `validate`).
    static var takesUnrolled: Bool { get }
}

extension ModelChoices {
    static var takesUnrolled: Bool { true }

    /// The help's visibility of the options of the unrolled hypergradient.
    static var unrolledVisibility: ArgumentVisibility { takesUnrolled ? .default : .hidden }
}

/// Every inner model (run and sweep).
enum EveryModel: ModelChoices {
    static var names: [String] { InnerModels.names }
    static func refusal(_ model: String) -> String {
        "--model: expected one of \(ValueErrorText.alternatives(InnerModels.names)), found '\(model)'"
    }
}

/// The inner model and its settings, shared by run and sweep (`ModelOptions`,
/// every model) and bench (`ModelOptionGroup<BenchModels>`).
typealias ModelOptions = ModelOptionGroup<EveryModel>

/// The inner model, one of `Choices.names`, and its settings.
///
/// Every setting except `--model` is optional: one the user leaves unset takes the
/// chosen model's default (`InnerModelFactory.defaultConfiguration`), so the
/// defaults depend on the model and `--help` lists them per model.
struct ModelOptionGroup<Choices: ModelChoices>: ParsableArguments {
    @Option(help: ArgumentHelp("The model trained on the synthetic images: \(InnerModels.all.filter { Choices.names.contains($0.modelName) }.map { "\($0.modelName): \($0.summary)" }.joined(separator: "; ")). The defaults of the other options depend on it.",
                               valueName: Choices.names.joined(separator: "|")))
    var model = DistillerConfiguration().model

    @Option(parsing: .unconditional, help: ArgumentHelp("The L2 strength of the inner model (positive); the starting value when it is learned. \(defaultsText(among: Choices.names) { $0.l2 })"))
    var l2: Double?

    @Option(help: ArgumentHelp("How the gradient with respect to the synthetic images is taken: implicit (the implicit function theorem at a certified inner solution) or unrolled (reverse mode through --unroll-steps gradient-descent steps from zero; logistic model only).",
                               visibility: Choices.unrolledVisibility))
    var hypergradient = DistillerConfiguration().hypergradient

    @Option(parsing: .unconditional, help: ArgumentHelp("How many inner gradient-descent steps the unrolled hypergradient differentiates through (--hypergradient unrolled only). (default: \(DistillerConfiguration().unrollSteps))",
                                                        visibility: Choices.unrolledVisibility))
    var unrollSteps: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Hidden ReLU layers of the network whose NNGP / NTK kernel --model nngp|ntk uses (1 to 8). \(defaultsText(kernelModelsOnly: true) { $0.kernelDepth })"))
    var depth: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Weight variance σ_w² of the NNGP / NTK network (positive). \(defaultsText(kernelModelsOnly: true) { $0.weightVariance })"))
    var weightVariance: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Bias variance σ_b² of the NNGP / NTK network (zero or positive). \(defaultsText(kernelModelsOnly: true) { $0.biasVariance })"))
    var biasVariance: Double?

    @Option(help: ArgumentHelp("The outer loss of --model nngp|ntk on the training set: mse (KIP's, against one-hot minus 1/C) or cross-entropy (of the predictions as logits). \(outerLossDefaultText)"), transform: choice)
    var outerLoss: KernelOuterLoss?

    @Option(parsing: .unconditional, help: ArgumentHelp("The inner solve stops when its gradient norm is below this fraction of the gradient norm at zero. \(defaultsText(among: Choices.names) { $0.innerTolerance })"))
    var innerTolerance: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("The implicit linear solve (conjugate gradient, GMRES or a direct solve, as the model chooses) stops at this relative residual. \(defaultsText(among: Choices.names) { $0.linearSolveTolerance })"))
    var linearSolveTolerance: Double?

    func validate() throws {
        guard Choices.names.contains(model) else { throw ValidationError(Choices.refusal(model)) }
        try refuseSubnormal([("--l2", l2), ("--inner-tolerance", innerTolerance), ("--linear-solve-tolerance", linearSolveTolerance),
                             ("--weight-variance", weightVariance)])
        try refuseSubnormal([("--bias-variance", biasVariance)], zeroAllowed: true)
        if let l2 { guard isPositiveNormal(l2) else { throw ValidationError("--l2: expected a positive number (the inner problem needs it to be strongly convex), found '\(l2)'") } }
        if let innerTolerance { guard isPositiveNormal(innerTolerance), innerTolerance < 1 else { throw ValidationError("--inner-tolerance: expected a value strictly between 0 and 1, found '\(innerTolerance)'") } }
        if let linearSolveTolerance { guard isPositiveNormal(linearSolveTolerance), linearSolveTolerance < 1 else { throw ValidationError("--linear-solve-tolerance: expected a value strictly between 0 and 1, found '\(linearSolveTolerance)'") } }
        if let unrollSteps { guard unrollSteps >= 1 else { throw ValidationError("--unroll-steps: expected at least 1, found '\(unrollSteps)'") } }
        if let depth { guard (1...8).contains(depth) else { throw ValidationError("--depth: expected a value between 1 and 8, found '\(depth)'") } }
        if let weightVariance { guard isPositiveNormal(weightVariance) else { throw ValidationError("--weight-variance: expected a positive number, found '\(weightVariance)'") } }
        if let biasVariance { guard biasVariance == 0 || isPositiveNormal(biasVariance) else { throw ValidationError("--bias-variance: expected zero or a positive number, found '\(biasVariance)'") } }
        guard hypergradient == .implicit || ((try? InnerModels.factory(named: model))?.supportsUnrolledHypergradient ?? false) else {
            throw ValidationError("--hypergradient unrolled works with --model logistic only, got --model \(model).")
        }
    }

    /// The model's defaults for `imagesPerClass` images per class
    /// (`InnerModels.defaultConfiguration(model:imagesPerClass:)`; the shared
    /// defaults for a name `validate` would reject).
    func modelDefaults(imagesPerClass: Int) -> DistillerConfiguration {
        (try? InnerModels.defaultConfiguration(model: model, imagesPerClass: imagesPerClass)) ?? {
            var c = DistillerConfiguration()
            c.model = model
            c.imagesPerClass = imagesPerClass
            return c
        }()
    }

    /// Writes the model into `c` and the settings the user gave; the others keep
    /// their values in `c` (the model's defaults when `c` is `modelDefaults(imagesPerClass:)`).
    func apply(to c: inout DistillerConfiguration) {
        c.model = model
        c.hypergradient = hypergradient
        if let unrollSteps { c.unrollSteps = unrollSteps }
        if let l2 { c.l2 = l2 }
        if let innerTolerance { c.innerTolerance = innerTolerance }
        if let linearSolveTolerance { c.linearSolveTolerance = linearSolveTolerance }
        if let depth { c.kernelDepth = depth }
        if let weightVariance { c.weightVariance = weightVariance }
        if let biasVariance { c.biasVariance = biasVariance }
        if let outerLoss { c.outerLoss = outerLoss }
    }

    /// The model settings the user gave (`nil` ones were left out), with their
    /// option names: the settings of `DistillerConfiguration.CodingKeys` that
    /// only some models read.
    var givenModelSettings: [(key: DistillerConfiguration.CodingKeys, option: String, value: String)] {
        var given: [(key: DistillerConfiguration.CodingKeys, option: String, value: String)] = []
        if let unrollSteps { given.append((.unrollSteps, "--unroll-steps", String(unrollSteps))) }
        if let depth { given.append((.kernelDepth, "--depth", String(depth))) }
        if let weightVariance { given.append((.weightVariance, "--weight-variance", NumberText.shortest(weightVariance))) }
        if let biasVariance { given.append((.biasVariance, "--bias-variance", NumberText.shortest(biasVariance))) }
        if let outerLoss { given.append((.outerLoss, "--outer-loss", outerLoss.rawValue)) }
        if let linearSolveTolerance { given.append((.linearSolveTolerance, "--linear-solve-tolerance", NumberText.shortest(linearSolveTolerance))) }
        return given
    }

    /// Refuses, with one sentence, a model setting the user gave that the run's
    /// model does not read (`DistillerConfiguration.settingsInUse`: e.g. --depth
    /// with --model logistic), since it would have no effect.
    func refuseUnreadSettings(_ c: DistillerConfiguration) throws {
        guard let factory = try? InnerModels.factory(named: c.model) else { return }
        let read = c.settingsInUse(factory)
        for unread in givenModelSettings where !read.contains(unread.key) {
            var probe = c
            if unread.key == .unrollSteps { probe.hypergradient = .unrolled }
            var readers: [String] = []
            for model in InnerModels.all where model.modelSettings(model.defaultConfiguration(probe)).contains(unread.key) {
                readers.append(model.modelName)
            }
            let hypergradientText = c.model == LogisticModel.modelName && [.unrollSteps, .linearSolveTolerance].contains(unread.key) ? " --hypergradient \(c.hypergradient.rawValue)" : ""
            let unrolledText = unread.key == .unrollSteps ? " with --hypergradient unrolled" : ""
            let readersText = readers.isEmpty ? "" : " (it is read by --model \(readers.joined(separator: ", "))\(unrolledText))"
            throw ValidationError("\(unread.option) \(unread.value) has no effect with --model \(c.model)\(hypergradientText), which does not read it\(readersText); leave it out.")
        }
    }

    /// The model's defaults for `imagesPerClass` images per class with the
    /// settings the user gave written over them.
    func configuration(imagesPerClass: Int) -> DistillerConfiguration {
        var c = modelDefaults(imagesPerClass: imagesPerClass)
        apply(to: &c)
        return c
    }
}

/// The `--outer-loss` help's default: the kernel models' at one image per class,
/// and the NTK's from the size where its default changes
/// (`NTKModel.meanSquaredErrorFromImagesPerClass`).
var outerLossDefaultText: String {
    let from = NTKModel.meanSquaredErrorFromImagesPerClass
    let small = defaultsText(kernelModelsOnly: true, values: choices(KernelOuterLoss.self)) { $0.outerLoss.rawValue }
    let large = (try? InnerModels.defaultConfiguration(model: NTKModel.modelName, imagesPerClass: from))?.outerLoss.rawValue ?? ""
    return "\(small.dropLast()); ntk from \(from) images per class: \(large))"
}

/// "(default: 300)", ArgumentParser's own style, when every model (or, with
/// `kernelModelsOnly`, every kernel model that reads the setting) has the same
/// default, else "(default: 0.012; nngp, ntk: 0)" with the logistic model's
/// value first: the defaults depend on `--model`.
///
/// With `values` (an option that takes one of a fixed set of words), the
/// words come first, as ArgumentParser's own "(values: a, b; default: a)".
func defaultsText<V: Equatable>(kernelModelsOnly: Bool = false, among models: [String] = InnerModels.names,
                                values: [String]? = nil, _ value: (DistillerConfiguration) -> V) -> String {
    let text = defaultsText(kernelModelsOnly: kernelModelsOnly, among: models, value)
    guard let values else { return text }
    return choiceText(values, defaults: text.isEmpty ? nil : String(text.dropFirst("(default: ".count).dropLast()))
}

/// The "(default: ...)" of `defaultsText` without values.
private func defaultsText<V: Equatable>(kernelModelsOnly: Bool, among models: [String],
                                        _ value: (DistillerConfiguration) -> V) -> String {
    let names = (kernelModelsOnly ? [NNGPModel.modelName, NTKModel.modelName] : InnerModels.names).filter { models.contains($0) }
    let values: [(String, V)] = names.compactMap { name in
        (try? InnerModels.defaultConfiguration(model: name)).map { (name, value($0)) }
    }
    guard let first = values.first?.1 else { return "" }
    let others = values.filter { $0.1 != first }
    guard !others.isEmpty else { return "(default: \(first))" }
    var groups: [(value: V, names: [String])] = []
    for (name, v) in others {
        if let i = groups.firstIndex(where: { $0.value == v }) { groups[i].names.append(name) } else { groups.append((v, [name])) }
    }
    return "(default: \(first); " + groups.map { "\($0.names.joined(separator: ", ")): \($0.value)" }.joined(separator: "; ") + ")"
}

/// The options that shape a distillation, for `sweep` (`run` takes
/// `DistillOptionGroup<RunDataDefault>`, whose `--data` help names --resume).
typealias DistillOptions = DistillOptionGroup<PlainDataDefault>

/// The options that shape a distillation, shared by `run` and `sweep`. Every
/// option left unset takes the chosen model's default (`ModelOptions`).
struct DistillOptionGroup<Default: DataDefault>: ParsableArguments {
    @OptionGroup var dataOptions: DataOptionGroup<Default>
    @OptionGroup(title: "Inner model") var modelOptions: ModelOptions

    @Option(parsing: .unconditional, help: ArgumentHelp("How many outer steps (inner solve, implicit gradient, Adam update) to take. \(defaultsText { $0.steps })"))
    var steps: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Adam's learning rate on the synthetic pixels. \(defaultsText { $0.learningRate })"))
    var learningRate: Double?

    @Option(parsing: .unconditional, help: "The seed of the random generator; the same seed and thread count give the same result.")
    var seed: UInt64 = DistillerConfiguration().seed

    @Option(name: .customLong("init"), help: ArgumentHelp("How the synthetic images start: noise (standard normal noise divided by the number of pixels, nearly zero, as JAXopt's example), real (random real images), mean (class means). \(defaultsText(values: choices(Initialisation.self)) { $0.initialisation.rawValue })"),
            transform: choice)
    var initialisation: Initialisation?

    @Option(help: ArgumentHelp("Learn the labels as free real numbers along with the images. \(defaultsText(values: choices(Switch.self)) { Switch($0.learnLabels).rawValue })", valueName: "on|off"),
            transform: choice)
    var learnLabels: Switch?

    @Option(parsing: .unconditional, help: ArgumentHelp("Adam's learning rate on the labels, when they are learned. \(defaultsText { $0.labelLearningRate })"))
    var labelLearningRate: Double?

    @Option(help: ArgumentHelp("Learn the inner model's L2 strength (through its logarithm), starting from --l2. \(defaultsText(values: choices(Switch.self)) { Switch($0.learnL2).rawValue })", valueName: "on|off"),
            transform: choice)
    var learnL2: Switch?

    @Option(parsing: .unconditional, help: ArgumentHelp("Adam's learning rate on the logarithm of the L2 strength, when it is learned. \(defaultsText { $0.l2LearningRate })"))
    var l2LearningRate: Double?

    @Option(help: ArgumentHelp("How the learning rates change over the run: constant, or cosine (decaying to 0 at the last step). \(defaultsText(values: choices(LearningRateSchedule.self)) { $0.schedule.rawValue })"),
            transform: choice)
    var schedule: LearningRateSchedule?

    @Option(help: ArgumentHelp("Where the synthetic pixels may go: unit (clipped to [0, 1] after every step, so they are real images) or none. \(defaultsText(values: choices(PixelRange.self)) { $0.pixelRange.rawValue })"),
            transform: choice)
    var pixelRange: PixelRange?

    @Option(parsing: .unconditional, help: ArgumentHelp("Weight of the pull of each synthetic image towards its class's mean training image (0 turns it off); it keeps the images readable. \(defaultsText { $0.pull })"))
    var pull: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Take each outer step's loss and hypergradient on N training images drawn at random without replacement (seeded by --seed and the step's number, so a resumed run draws the same ones) instead of the whole training set. A step's pass over the training images then costs about N/n of a full one, but its hypergradient is a noisy, unbiased estimate of the exact full-set one, and the training loss and accuracy each step records are the batch's. For training sets too large for a full pass at every step. (default: the whole training set)", valueName: "N"))
    var batch: Int?

    /// The dataset location.
    var data: String { dataOptions.data }

    func validate() throws {
        if let steps { guard steps >= 1 else { throw ValidationError("--steps: expected at least 1, found '\(steps)'") } }
        if let batch { guard batch >= 1 else { throw ValidationError("--batch: expected at least 1, found '\(batch)'") } }
        try refuseSubnormal([("--learning-rate", learningRate), ("--label-learning-rate", labelLearningRate),
                             ("--l2-learning-rate", l2LearningRate)])
        try refuseSubnormal([("--pull", pull)], zeroAllowed: true)
        if let learningRate { guard isPositiveNormal(learningRate) else { throw ValidationError("--learning-rate: expected a positive number, found '\(learningRate)'") } }
        if let labelLearningRate { guard isPositiveNormal(labelLearningRate) else { throw ValidationError("--label-learning-rate: expected a positive number, found '\(labelLearningRate)'") } }
        if let l2LearningRate { guard isPositiveNormal(l2LearningRate) else { throw ValidationError("--l2-learning-rate: expected a positive number, found '\(l2LearningRate)'") } }
        if let pull { guard pull == 0 || isPositiveNormal(pull) else { throw ValidationError("--pull: expected zero or a positive number, found '\(pull)'") } }
    }

    /// Refuses an option that would have no effect on a new run of
    /// `imagesPerClass` per class: a model setting its model does not read
    /// (`ModelOptions.refuseUnreadSettings`), or a learning rate of labels or L2
    /// strength that are not learned.
    func refuseUnreadSettings(imagesPerClass: Int) throws {
        let c = configuration(imagesPerClass: imagesPerClass)
        try modelOptions.refuseUnreadSettings(c)
        if let labelLearningRate, !c.learnLabels {
            throw ValidationError("--label-learning-rate \(NumberText.shortest(labelLearningRate)) has no effect unless the labels are learned (--learn-labels on); leave it out or add --learn-labels on.")
        }
        if let l2LearningRate, !c.learnL2 {
            throw ValidationError("--l2-learning-rate \(NumberText.shortest(l2LearningRate)) has no effect unless the L2 strength is learned (--learn-l2 on); leave it out or add --learn-l2 on.")
        }
    }

    /// The distiller's settings for `imagesPerClass` images per class: the model's
    /// defaults, with every option the user gave written over them.
    func configuration(imagesPerClass: Int) -> DistillerConfiguration {
        var c = modelOptions.configuration(imagesPerClass: imagesPerClass)
        c.seed = seed
        c.threads = dataOptions.threads
        if let steps { c.steps = steps }
        if let learningRate { c.learningRate = learningRate }
        if let initialisation { c.initialisation = initialisation }
        if let learnLabels { c.learnLabels = learnLabels.isOn }
        if let labelLearningRate { c.labelLearningRate = labelLearningRate }
        if let learnL2 { c.learnL2 = learnL2.isOn }
        if let l2LearningRate { c.l2LearningRate = l2LearningRate }
        if let pixelRange { c.pixelRange = pixelRange }
        if let pull { c.pull = pull }
        if let schedule { c.schedule = schedule }
        if let batch { c.batch = batch }
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

/// Whether `x` is a positive number: finite, and at least
/// `Double.leastNormalMagnitude` (a subnormal setting loses precision in every
/// product and is refused like zero or nan).
func isPositiveNormal(_ x: Double) -> Bool { x.isNormal && x > 0 }

/// Refuses a positive subnormal value of the options `values` names (e.g.
/// `--l2 1e-320`): below `Double.leastNormalMagnitude` a setting has lost its
/// precision, and the README treats such an L2 strength as invalid.
func refuseSubnormal(_ values: [(name: String, value: Double?)], zeroAllowed: Bool = false) throws {
    for (name, value) in values {
        guard let value, value > 0, value.isFinite, !value.isNormal else { continue }
        throw ValidationError("\(name): expected \(zeroAllowed ? "zero or " : "")a positive normal number (at least \(Double.leastNormalMagnitude)), found '\(value)', a subnormal one")
    }
}
