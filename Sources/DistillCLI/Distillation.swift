import Distill
import DistillDatasets
import DistillIO
import DistillNumerics

/// A dataset folder loaded and converted to the model's view.
struct LoadedDataset {
    let folder: DatasetFolder
    let train: LabeledImages
    let test: LabeledImages
    let seconds: Double

    init(path: String) throws(CLIError) {
        let clock = Stopwatch()
        do { folder = try DatasetFolder.load(path) } catch { throw CLIError(error) }
        train = LabeledImages(folder.train, classes: folder.classes)
        test = LabeledImages(folder.test, classes: folder.classes)
        seconds = clock.seconds
    }
}

/// A finished distillation: the distiller's final state, its history and the
/// final model's figures.
struct DistillationOutcome {
    let distiller: Distiller
    let history: [StepRecord]
    let metrics: RunMetrics
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
        let c = distiller.configuration
        log("Distilling \(dataset.train.count) training images of \(dataset.folder.train.height)x\(dataset.folder.train.width) pixels, \(dataset.folder.classes) classes, into \(c.imagesPerClass) per class (\(c.steps) steps, \(c.threads) threads); data loaded in \(format(dataset.seconds, 2)) s.")
    }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        let steps = distiller.configuration.steps
        if record.step % max(1, steps / 10) == 0 || record.step == 1 {
            log("step \(record.step)/\(steps)  train loss \(format(record.trainLoss, 4))  accuracy \(format(100 * record.trainAccuracy, 2))%  inner \(record.innerIterations) it, |F| \(scientific(record.innerGradientNorm))  CG \(record.cgIterations) it, residual \(scientific(record.cgResidual))")
        }
        if !record.innerConverged || !record.cgConverged {
            printError("warning: step \(record.step): " + (record.innerConverged ? "" : "inner solve missed its tolerance (|F| = \(scientific(record.innerGradientNorm))) ")
                       + (record.cgConverged ? "" : "CG missed its tolerance (residual \(scientific(record.cgResidual)))"))
        }
        return .proceed
    }
}

/// Runs `distiller` up to its configured number of steps on `dataset` (fewer
/// if an observer stops it) and measures the final model. `history` holds the
/// records of steps taken before (when resuming).
func distil(_ distiller: Distiller, dataset: LoadedDataset, options: DistillOptions,
            history: [StepRecord] = [], observers: [any DistillationObserver]) -> DistillationOutcome {
    var distiller = distiller
    var history = history
    let configuration = distiller.configuration
    let clock = Stopwatch()
    for observer in observers { observer.started(distiller, dataset: dataset) }
    while distiller.step < configuration.steps {
        let record = distiller.step(clock: { clock.seconds })
        history.append(record)
        var decision = StepDecision.proceed
        for observer in observers where observer.stepped(record, distiller: distiller, history: history) == .stop {
            decision = .stop
        }
        if decision == .stop { break }
    }
    let inner = distiller.solveInner()
    let seconds = clock.seconds
    let trainEval = distiller.evaluate(inner, on: dataset.train)
    let testEval = distiller.evaluate(inner, on: dataset.test)
    let metrics = RunMetrics(
        dataset: options.data, classes: dataset.folder.classes,
        imageHeight: dataset.folder.train.height, imageWidth: dataset.folder.train.width,
        imagesPerClass: configuration.imagesPerClass, steps: distiller.step, learningRate: configuration.learningRate,
        l2: configuration.l2, learnedL2: distiller.l2, learnLabels: configuration.learnLabels, learnL2: configuration.learnL2,
        pixelRange: configuration.pixelRange.rawValue, pull: configuration.pull, seed: configuration.seed,
        initialisation: configuration.initialisation.rawValue, threads: configuration.threads,
        trainLoss: trainEval.loss, trainAccuracy: trainEval.accuracy,
        testLoss: testEval.loss, testAccuracy: testEval.accuracy,
        innerGradientNorm: inner.gradientNorm, innerTolerance: inner.tolerance, innerIterations: inner.iterations,
        seconds: seconds, secondsPerStep: median(history.map(\.seconds)), loadSeconds: dataset.seconds)
    let outcome = DistillationOutcome(distiller: distiller, history: history, metrics: metrics)
    for observer in observers { observer.finished(outcome) }
    return outcome
}
