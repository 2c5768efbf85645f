import Distill
import DistillDatasets
import DistillIO
import DistillNumerics
import Foundation

/// A dataset folder loaded and converted to the model's view.
struct LoadedDataset {
    let folder: DatasetFolder
    let train: LabeledImages
    let test: LabeledImages
    let seconds: Double
    /// The SHA-256 of each of the four files, as stored (by file name).
    let fileHashes: [String: String]
    /// The mean training image of each class (nil when a class has no training image).
    let classMeans: Matrix?

    init(path: String) throws(CLIError) {
        let clock = Stopwatch()
        do { folder = try DatasetFolder.load(path) } catch { throw CLIError(error) }
        train = LabeledImages(folder.train, classes: folder.classes)
        test = LabeledImages(folder.test, classes: folder.classes)
        var hashes: [String: String] = [:]
        for file in [folder.train.imagesPath, folder.train.labelsPath, folder.test.imagesPath, folder.test.labelsPath] {
            let name = String(file.split(separator: "/").last ?? Substring(file))
            do { hashes[name] = try SHA256.hex(contentsOf: file) } catch { throw CLIError(error) }
        }
        fileHashes = hashes
        classMeans = try? Initialisation.classMeans(train)
        seconds = clock.seconds
    }
}

/// A finished distillation: the distiller's final state, its history and the
/// final model's figures.
struct DistillationOutcome {
    let distiller: Distiller
    let history: [StepRecord]
    var metrics: RunMetrics
}

/// A distiller for `dataset`, after checking that the training set can supply
/// the requested number of images.
func makeDistiller(_ dataset: LoadedDataset, configuration: DistillerConfiguration) throws(CLIError) -> Distiller {
    let train = dataset.train, classes = dataset.folder.classes, perClass = configuration.imagesPerClass
    let distilledCount = classes.multipliedReportingOverflow(by: perClass)
    guard !distilledCount.overflow, distilledCount.partialValue <= train.count else {
        throw CLIError("--images-per-class \(perClass): expected at most \(train.count / classes) for \(classes) classes (no more distilled images than the \(train.count) training images of \(dataset.folder.train.imagesPath))")
    }
    do { return try Distiller(train: train, configuration: configuration) } catch { throw CLIError(error) }
}

/// Watches a distillation as it runs (progress on the console, snapshots,
/// checkpoints). Every method has a default that does nothing.
protocol DistillationObserver: AnyObject {
    /// Before the first step of this process (after a resume, `distiller.step` may be > 0).
    func started(_ distiller: Distiller, dataset: LoadedDataset)
    /// After every step. Returning `.stop` ends the run after this step.
    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision
    /// After the final model is measured.
    func finished(_ outcome: DistillationOutcome)
}

/// What the loop does after a step.
enum StepDecision {
    case proceed
    case stop
}

extension DistillationObserver {
    func started(_ distiller: Distiller, dataset: LoadedDataset) {}
    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision { .proceed }
    func finished(_ outcome: DistillationOutcome) {}
}

/// Plain progress lines: one at the start, about ten during the run, and a
/// warning whenever a solve misses its tolerance.
final class ProgressLines: DistillationObserver {
    let log: (String) -> Void

    init(log: @escaping (String) -> Void) { self.log = log }

    func started(_ distiller: Distiller, dataset: LoadedDataset) {
        log(startLine(distiller, dataset: dataset))
    }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        let steps = distiller.configuration.steps
        if record.step % max(1, steps / 10) == 0 || record.step == 1 {
            log("step \(record.step)/\(steps)  train loss \(format(record.trainLoss, 4))  accuracy \(format(100 * record.trainAccuracy, 2))%  inner \(record.innerIterations) it, |F| \(scientific(record.innerGradientNorm))  CG \(record.cgIterations) it, residual \(scientific(record.cgResidual))")
        }
        if let warning = toleranceWarning(record) { printError(warning) }
        return .proceed
    }
}

/// Runs `distiller` up to its configured number of steps (fewer if an
/// observer stops it). `history` holds the records of steps taken before
/// (when resuming); the returned history includes them.
func runSteps(_ distiller: Distiller, dataset: LoadedDataset, history: [StepRecord] = [],
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

/// A whole distillation from step 0: the steps, the final model's figures,
/// and each observer's `finished`.
func distil(_ distiller: Distiller, dataset: LoadedDataset, options: DistillOptions,
            observers: [any DistillationObserver]) -> DistillationOutcome {
    let (final, history) = runSteps(distiller, dataset: dataset, observers: observers)
    let outcome = measure(final, history: history, dataset: dataset, data: options.data, commandLine: quotedCommandLine)
    for observer in observers { observer.finished(outcome) }
    return outcome
}

/// Trains the final model on `distiller`'s synthetic set and measures it on
/// the training and test sets.
func measure(_ distiller: Distiller, history: [StepRecord], dataset: LoadedDataset, data: String,
             commandLine: String) -> DistillationOutcome {
    var distiller = distiller
    let configuration = distiller.configuration
    let inner = distiller.solveInner()
    let trainEval = distiller.evaluate(inner, on: dataset.train)
    let testEval = distiller.evaluate(inner, on: dataset.test)
    let metrics = RunMetrics(
        dataset: data, classes: dataset.folder.classes,
        imageHeight: dataset.folder.train.height, imageWidth: dataset.folder.train.width,
        imagesPerClass: configuration.imagesPerClass, steps: distiller.step, learningRate: configuration.learningRate,
        l2: configuration.l2, learnedL2: distiller.l2, learnLabels: configuration.learnLabels, learnL2: configuration.learnL2,
        pixelRange: configuration.pixelRange.rawValue, pull: configuration.pull, seed: configuration.seed,
        initialisation: configuration.initialisation.rawValue, threads: configuration.threads,
        trainLoss: trainEval.loss, trainAccuracy: trainEval.accuracy,
        testLoss: testEval.loss, testAccuracy: testEval.accuracy,
        innerGradientNorm: inner.gradientNorm, innerTolerance: inner.tolerance, innerIterations: inner.iterations,
        seconds: history.reduce(0) { $0 + $1.seconds }, secondsPerStep: median(history.map(\.seconds)),
        loadSeconds: dataset.seconds, commandLine: commandLine, version: DistillVersion.current,
        datasetSHA256: dataset.fileHashes, configuration: configuration,
        readability: dataset.classMeans.map { Readability(images: distiller.images, classes: distiller.imageClasses, classMeans: $0) },
        baselines: nil)
    return DistillationOutcome(distiller: distiller, history: history, metrics: metrics)
}

/// The command line of this process, quoted for a POSIX shell.
var quotedCommandLine: String {
    CommandLine.arguments.map { argument in
        argument.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+".contains($0) }) && !argument.isEmpty
            ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }.joined(separator: " ")
}

/// The L2 strength of the full-data ceiling (the table: 92.64% on MNIST).
let fullDataCeilingL2 = 1e-4

/// The baselines for `imagesPerClass` images per class: random real images
/// (5 draws) and class means or k-means centroids, trained with the run's
/// starting `--l2` and one-hot labels, and the full-data model at L2 1e-4
/// (pass `fullData` to reuse one already trained).
func baselines(_ dataset: LoadedDataset, configuration: DistillerConfiguration,
               fullData: BaselineResult? = nil) throws(CLIError) -> [BaselineResult] {
    let baselines = Baselines(train: dataset.train, test: dataset.test, threads: configuration.threads)
    do {
        let k = configuration.imagesPerClass
        return [try baselines.randomReal(imagesPerClass: k, l2: configuration.l2, seed: configuration.seed),
                try baselines.centroids(imagesPerClass: k, l2: configuration.l2, seed: configuration.seed),
                fullData ?? baselines.fullData(l2: fullDataCeilingL2)]
    } catch { throw CLIError(error) }
}
