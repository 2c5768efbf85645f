import Distill
import DistillDatasets
import DistillImages
import DistillNumerics

/// A dataset loaded through its `DatasetSource`, with what a run records about it.
public struct LoadedDataset: Sendable {
    public let dataset: Dataset
    /// Seconds to load and check it.
    public let seconds: Double
    /// The SHA-256 of each file read, by file name.
    public let fileHashes: [String: String]
    /// The mean training image of each class (nil when a class has no training image).
    public let classMeans: Matrix?

    /// Loads the dataset at `path` with `options` (`DatasetSources.load`) and hashes its files.
    ///
    /// - Throws: `RunError` with the source's one-line description of what is wrong.
    public init(path: String, options: DatasetOptions = DatasetOptions(),
                formats: [any DatasetSource.Type] = DatasetSources.formats) throws(RunError) {
        let clock = Stopwatch()
        do {
            dataset = try DatasetSources.load(path, options: options, formats: formats)
            fileHashes = try dataset.fileHashes()
        } catch { throw RunError(error) }
        classMeans = try? Initialisation.classMeans(dataset.train)
        seconds = clock.seconds
    }

    /// A dataset already in memory (its files are not hashed).
    public init(_ dataset: Dataset) {
        self.dataset = dataset
        seconds = 0
        fileHashes = [:]
        classMeans = try? Initialisation.classMeans(dataset.train)
    }

    public var train: LabeledImages { dataset.train }
    public var test: LabeledImages { dataset.test }
    public var classes: Int { dataset.classes }
    public var shape: ImageShape { dataset.shape }
}

/// A finished distillation: the distiller's final state, its history and the
/// final model's figures.
public struct DistillationOutcome: Sendable {
    public let distiller: Distiller
    public let history: [StepRecord]
    public var metrics: RunMetrics

    public init(distiller: Distiller, history: [StepRecord], metrics: RunMetrics) {
        self.distiller = distiller
        self.history = history
        self.metrics = metrics
    }
}

/// A distiller for `dataset`, after checking that the training set can supply
/// the requested number of images, and that a batch (`--batch`) is smaller than
/// the training set (a batch of all of it would have no effect, a larger one
/// cannot be drawn).
///
/// - Throws: `RunError` naming the option to change.
public func makeDistiller(_ dataset: LoadedDataset, configuration: DistillerConfiguration) throws(RunError) -> Distiller {
    let train = dataset.train, classes = dataset.classes, perClass = configuration.imagesPerClass
    let distilledCount = classes.multipliedReportingOverflow(by: perClass)
    guard !distilledCount.overflow, distilledCount.partialValue <= train.count else {
        throw RunError("--images-per-class \(perClass): expected at most \(train.count / classes) for \(classes) classes (no more distilled images than the \(train.count) training images of \(dataset.dataset.files.first ?? dataset.dataset.location))")
    }
    if let batch = configuration.batch, batch > train.count {
        throw RunError("--batch \(batch) is more than the training set (\(train.count) images), from which each step's batch is drawn without replacement; give fewer than \(train.count), or leave --batch out for every step to take all of them")
    }
    if let batch = configuration.batch, batch == train.count {
        throw RunError("--batch \(batch) has no effect: the training set has \(train.count) images, and without --batch every step takes all of them; leave it out, or give fewer than \(train.count)")
    }
    let counts = train.classCounts
    // An --init the user may not have given (the model's default) is named as such.
    let modelDefault = (try? InnerModels.defaultConfiguration(model: configuration.model))?.initialisation
    let initText = configuration.initialisation == modelDefault
        ? "--init \(configuration.initialisation.rawValue) (the default of --model \(configuration.model))" : "--init \(configuration.initialisation.rawValue)"
    // The class named is the smallest, whose count the advice gives (the first short one, MNIST's 0 with
    // 5923 images, was named beside advice of 5421, class 5's count).
    if configuration.initialisation == .real, let c = counts.indices.min(by: { counts[$0] < counts[$1] }), counts[c] < perClass {
        throw RunError("\(initText) needs \(perClass) training image(s) of class \(dataset.className(c)), the training set has \(counts[c]); use --images-per-class \(max(1, counts.min() ?? 1)) or --init noise")
    }
    if configuration.initialisation == .mean, let c = counts.indices.first(where: { counts[$0] == 0 }) {
        throw RunError("\(initText) needs at least 1 training image of class \(dataset.className(c)), the training set has 0; use --init noise")
    }
    do { return try Distiller(train: train, configuration: configuration) } catch { throw RunError(error) }
}

/// Checks, before any step, that the baselines (`--baselines`) can be trained at
/// `imagesPerClass`: random real images and k-means centroids need that many
/// training images of every class.
///
/// - Throws: `RunError` naming the option to change and the class that is short.
public func checkBaselineSizes(_ dataset: LoadedDataset, imagesPerClass: Int) throws(RunError) {
    let counts = dataset.train.classCounts
    // The smallest class, whose count the advice gives.
    guard let c = counts.indices.min(by: { counts[$0] < counts[$1] }), counts[c] < imagesPerClass else { return }
    throw RunError("--images-per-class \(imagesPerClass) with --baselines: the random-real and k-means baselines need \(imagesPerClass) training images of every class, but class \(dataset.className(c)) has \(counts[c]); use --images-per-class \(counts.min() ?? 1) or leave out --baselines")
}

extension LoadedDataset {
    /// The name of class `index` for messages (its label value for an IDX folder).
    public func className(_ index: Int) -> String {
        index < dataset.classNames.count ? dataset.classNames[index] : String(index)
    }
}

/// Watches a distillation as it runs (progress on the console, snapshots,
/// checkpoints, guards). Every method has a default that does nothing.
public protocol DistillationObserver: AnyObject {
    /// Before the first step of this process (after a resume, `distiller.step` may be > 0).
    func started(_ distiller: Distiller, dataset: LoadedDataset)
    /// After every step. Returning `.stop` ends the run after this step.
    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision
    /// After the final model is measured.
    func finished(_ outcome: DistillationOutcome)
}

/// What the loop does after a step.
public enum StepDecision: Sendable {
    case proceed
    case stop
}

extension DistillationObserver {
    public func started(_ distiller: Distiller, dataset: LoadedDataset) {}
    public func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision { .proceed }
    public func finished(_ outcome: DistillationOutcome) {}
}

/// Runs `distiller` up to its configured number of steps (fewer if an
/// observer stops it). `history` holds the records of steps taken before
/// (when resuming); the returned history includes them.
public func runSteps(_ distiller: Distiller, dataset: LoadedDataset, history: [StepRecord] = [],
                     observers: [any DistillationObserver]) -> (distiller: Distiller, history: [StepRecord]) {
    var distiller = distiller
    var history = history
    let clock = Stopwatch()
    for observer in observers { observer.started(distiller, dataset: dataset) }
    while distiller.step < distiller.configuration.steps {
        let record = distiller.step(clock: { clock.seconds })
        history.append(record)
        var decision = StepDecision.proceed
        for observer in observers where observer.stepped(record, distiller: distiller, history: history) == .stop {
            decision = .stop
        }
        if decision == .stop { break }
    }
    return (distiller, history)
}

/// Trains the final model on `distiller`'s synthetic set and measures it on
/// the training and test sets.
public func measure(_ distiller: Distiller, history: [StepRecord], dataset: LoadedDataset, data: String,
                    commands: RunCommands) -> DistillationOutcome {
    var distiller = distiller
    let configuration = distiller.configuration
    let inner = distiller.solveInner()
    let trainEval = distiller.evaluate(inner, on: dataset.train)
    let testEval = distiller.evaluate(inner, on: dataset.test)
    let metrics = RunMetrics(
        dataset: data, datasetFormat: dataset.dataset.format, model: distiller.model.name,
        classes: dataset.classes, classNames: dataset.dataset.classNames,
        imageHeight: dataset.shape.height, imageWidth: dataset.shape.width, imageChannels: dataset.shape.channels,
        imagesPerClass: configuration.imagesPerClass, steps: distiller.step, learningRate: configuration.learningRate,
        l2: configuration.l2, learnedL2: distiller.l2, learnLabels: configuration.learnLabels, learnL2: configuration.learnL2,
        pixelRange: configuration.pixelRange.rawValue, pull: configuration.pull, seed: configuration.seed,
        initialisation: configuration.initialisation.rawValue, threads: configuration.threads,
        trainLoss: trainEval.loss, trainAccuracy: trainEval.accuracy,
        testLoss: testEval.loss, testAccuracy: testEval.accuracy,
        innerGradientNorm: inner.gradientNorm, innerTolerance: inner.tolerance, innerIterations: inner.iterations,
        seconds: history.reduce(0) { $0 + $1.seconds }, secondsPerStep: median(history.map(\.seconds)),
        loadSeconds: dataset.seconds, commandLine: commands.original,
        resumedWith: commands.resumedWith.isEmpty ? nil : commands.resumedWith, version: DistillVersion.current,
        datasetSHA256: dataset.fileHashes, configuration: RecordedConfiguration(configuration, model: distiller.model),
        readability: dataset.classMeans.map { Readability(images: distiller.images, classes: distiller.imageClasses, classMeans: $0,
                                                           channels: dataset.shape.channels) },
        baselines: nil, dataOptions: dataset.dataset.options, classValues: dataset.dataset.classValues,
        pixelStandardisation: (distiller.model as? NeuralKernelModel)?.standardisation)
    return DistillationOutcome(distiller: distiller, history: history, metrics: metrics)
}

/// The L2 strength of the ceiling (all the training data, 92.64% on MNIST for
/// the logistic model; a balanced subset of 10,000 images for the NNGP and NTK).
public let fullDataCeilingL2 = 1e-4

/// The baselines for the run's size and model: random real images (5 draws) and
/// class means or k-means centroids, trained with the run's starting `l2` and
/// one-hot labels (inner solves certified to 1e-9), and the model's ceiling at
/// L2 1e-4 (`InnerModelFactory.ceiling`: on all the training data, or the NNGP /
/// NTK subset; pass `fullData` to reuse one already measured).
///
/// `stopRequested` is asked before each of them: once it answers true, no
/// further one is started and those trained so far are returned (a sweep
/// stopped by a signal, or `run --baselines`). A baseline already started runs
/// to its end, except the ceiling: the logistic model's asks between its L-BFGS
/// iterations, the NNGP / NTK one before its kernel matrix, between blocks of
/// rows of its kernel matrix (and of the dot products it is made of), between its
/// Cholesky panels and between blocks of its evaluation (`NeuralKernelCeiling.evaluate`).
///
/// - Throws: `RunError` when the training set cannot supply the sets.
public func baselines(_ dataset: LoadedDataset, configuration: DistillerConfiguration,
                      fullData: BaselineResult? = nil, stopRequested: () -> Bool = { false }) throws(RunError) -> [BaselineResult] {
    do {
        var tight = configuration
        tight.innerTolerance = 1e-9
        let factory = try InnerModels.factory(named: configuration.model)
        let model = try InnerModels.make(tight, train: dataset.train)
        let baselines = Baselines(train: dataset.train, test: dataset.test, threads: configuration.threads, model: model)
        let k = configuration.imagesPerClass
        var results: [BaselineResult] = []
        if stopRequested() { return results }
        results.append(try baselines.randomReal(imagesPerClass: k, l2: configuration.l2, seed: configuration.seed))
        if stopRequested() { return results }
        results.append(try baselines.centroids(imagesPerClass: k, l2: configuration.l2, seed: configuration.seed))
        if let fullData {
            results.append(fullData)
        } else if !stopRequested(), let ceiling = baselines.fullData(factory, l2: fullDataCeilingL2, stopRequested: stopRequested) {
            results.append(ceiling)
        }
        return results
    } catch { throw RunError(error) }
}

/// A whole distillation from the distiller's current step without guards or
/// files: the steps, the final model's figures, and each observer's `finished`.
public func distil(_ distiller: Distiller, dataset: LoadedDataset, data: String, commandLine: String = "",
                   observers: [any DistillationObserver]) -> DistillationOutcome {
    let (final, history) = runSteps(distiller, dataset: dataset, observers: observers)
    let outcome = measure(final, history: history, dataset: dataset, data: data, commands: RunCommands(original: commandLine))
    for observer in observers { observer.finished(outcome) }
    return outcome
}
