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

/// Runs `distiller` for its configured number of steps on `dataset` and
/// measures the final model; `log` receives the progress lines.
func distil(_ distiller: Distiller, dataset: LoadedDataset, options: DistillOptions,
            log: (String) -> Void) -> DistillationOutcome {
    var distiller = distiller
    let configuration = distiller.configuration
    let steps = configuration.steps
    log("Distilling \(dataset.train.count) training images of \(dataset.folder.train.height)x\(dataset.folder.train.width) pixels, \(dataset.folder.classes) classes, into \(configuration.imagesPerClass) per class (\(steps) steps, \(configuration.threads) threads); data loaded in \(format(dataset.seconds, 2)) s.")
    var history: [StepRecord] = []
    let clock = Stopwatch()
    let every = max(1, steps / 10)
    for _ in 0..<steps {
        let record = distiller.step(clock: { clock.seconds })
        history.append(record)
        if record.step % every == 0 || record.step == 1 {
            log("step \(record.step)/\(steps)  train loss \(format(record.trainLoss, 4))  accuracy \(format(100 * record.trainAccuracy, 2))%  inner \(record.innerIterations) it, |F| \(scientific(record.innerGradientNorm))  CG \(record.cgIterations) it, residual \(scientific(record.cgResidual))")
        }
        if !record.innerConverged || !record.cgConverged {
            printError("warning: step \(record.step): " + (record.innerConverged ? "" : "inner solve missed its tolerance (|F| = \(scientific(record.innerGradientNorm))) ")
                       + (record.cgConverged ? "" : "CG missed its tolerance (residual \(scientific(record.cgResidual)))"))
        }
    }
    let inner = distiller.solveInner()
    let seconds = clock.seconds
    let trainEval = Evaluation(weights: inner.weights, on: dataset.train, threads: configuration.threads)
    let testEval = Evaluation(weights: inner.weights, on: dataset.test, threads: configuration.threads)
    let metrics = RunMetrics(
        dataset: options.data, classes: dataset.folder.classes,
        imageHeight: dataset.folder.train.height, imageWidth: dataset.folder.train.width,
        imagesPerClass: configuration.imagesPerClass, steps: steps, learningRate: configuration.learningRate,
        l2: configuration.l2, learnedL2: distiller.l2, learnLabels: configuration.learnLabels, learnL2: configuration.learnL2,
        pixelRange: configuration.pixelRange.rawValue, pull: configuration.pull, seed: configuration.seed,
        initialisation: configuration.initialisation.rawValue, threads: configuration.threads,
        trainLoss: trainEval.loss, trainAccuracy: trainEval.accuracy,
        testLoss: testEval.loss, testAccuracy: testEval.accuracy,
        innerGradientNorm: inner.gradientNorm, innerTolerance: inner.tolerance, innerIterations: inner.iterations,
        seconds: seconds, secondsPerStep: median(history.map(\.seconds)), loadSeconds: dataset.seconds)
    return DistillationOutcome(distiller: distiller, history: history, metrics: metrics)
}
