import ArgumentParser
import Distill
import DistillIO
import DistillDatasets
import DistillNumerics
#if canImport(Glibc)
import Glibc
#endif

extension DistillCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Distil a dataset folder into a few synthetic images per class (the default command).",
            discussion: """
                Reads the IDX files of a dataset folder (MNIST's file names, raw or gzip), \
                learns `--images-per-class` synthetic images for every class, and writes the \
                grid as a PNG, the images and labels as IDX, a per-step history.csv and a \
                metrics.json into `--out`.

                Examples:
                  distill run
                  distill run --images-per-class 10 --steps 300 --out out-10
                  distill run --init real --seed 7 --l2 0.01
                """)

        @Option(help: "The dataset folder: MNIST-named IDX files, raw or .gz.")
        var data = "data/mnist"

        @Option(help: "How many synthetic images to learn for each class.")
        var imagesPerClass = 1

        @Option(help: "How many outer steps (inner solve, implicit gradient, Adam update) to take.")
        var steps = DistillerConfiguration().steps

        @Option(help: "Adam's learning rate on the synthetic pixels.")
        var learningRate = DistillerConfiguration().learningRate

        @Option(help: "The L2 strength of the inner logistic regression (positive).")
        var l2 = DistillerConfiguration().l2

        @Option(help: "The seed of the random generator; the same seed and thread count give the same result.")
        var seed: UInt64 = 0

        @Option(name: .customLong("init"), help: "How the synthetic images start: noise (normal/pixels, as JAXopt), real (random real images), mean (class means).")
        var initialisation = DistillerConfiguration().initialisation

        @Option(help: "The folder to write the results into; created if missing.")
        var out = "out"

        @Option(help: "How many threads the pass over the training set uses.")
        var threads = 2

        @Option(help: "The inner solve stops when its gradient norm is below this fraction of the gradient norm at zero.")
        var innerTolerance = DistillerConfiguration().innerTolerance

        @Option(help: "The conjugate-gradient solve of the implicit system stops at this relative residual.")
        var cgTolerance = DistillerConfiguration().cgTolerance

        @Option(help: "How many times each pixel is enlarged in distilled.png.")
        var zoom = 4

        @Flag(help: "Print only errors and the final summary.")
        var quiet = false

        func validate() throws {
            guard imagesPerClass >= 1 else { throw ValidationError("--images-per-class must be at least 1, got \(imagesPerClass).") }
            guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps).") }
            guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--learning-rate must be a positive number, got \(learningRate).") }
            guard l2 > 0, l2.isFinite else { throw ValidationError("--l2 must be a positive number (the inner problem needs it to be strongly convex), got \(l2).") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads).") }
            guard innerTolerance > 0, innerTolerance < 1 else { throw ValidationError("--inner-tolerance must lie strictly between 0 and 1, got \(innerTolerance).") }
            guard cgTolerance > 0, cgTolerance < 1 else { throw ValidationError("--cg-tolerance must lie strictly between 0 and 1, got \(cgTolerance).") }
            guard (1...64).contains(zoom) else { throw ValidationError("--zoom must lie between 1 and 64, got \(zoom).") }
        }

        var distillerConfiguration: DistillerConfiguration {
            var c = DistillerConfiguration()
            c.imagesPerClass = imagesPerClass
            c.steps = steps
            c.learningRate = learningRate
            c.l2 = l2
            c.seed = seed
            c.initialisation = initialisation
            c.threads = threads
            c.innerTolerance = innerTolerance
            c.cgTolerance = cgTolerance
            return c
        }

        func run() throws {
            do {
                try execute()
            } catch {
                printError(error.description)
                throw ExitCode.failure
            }
        }

        private func execute() throws(CLIError) {
            let clock = Stopwatch()
            let dataset: DatasetFolder
            do { dataset = try DatasetFolder.load(data) } catch { throw CLIError(error) }
            let train = LabeledImages(dataset.train, classes: dataset.classes)
            let test = LabeledImages(dataset.test, classes: dataset.classes)
            let loadSeconds = clock.seconds
            let distilledCount = dataset.classes.multipliedReportingOverflow(by: imagesPerClass)
            guard !distilledCount.overflow, distilledCount.partialValue <= train.count else {
                throw CLIError("--images-per-class \(imagesPerClass): expected at most \(train.count / dataset.classes) for \(dataset.classes) classes (no more distilled images than the \(train.count) training images of \(dataset.train.imagesPath))")
            }

            let configuration = distillerConfiguration
            var distiller: Distiller
            do { distiller = try Distiller(train: train, configuration: configuration) } catch { throw CLIError(error) }
            // Only once every input is loaded and checked: bad input never creates `--out`.
            let outExisted = access(out, F_OK) == 0
            do { try OutputFile.createDirectory(out) } catch { throw CLIError(error) }
            if !quiet {
                print("Distilling \(train.count) training images of \(dataset.train.height)x\(dataset.train.width) pixels, \(dataset.classes) classes, into \(imagesPerClass) per class (\(steps) steps, \(threads) threads); data loaded in \(format(loadSeconds, 2)) s.")
            }
            var history: [StepRecord] = []
            let runClock = Stopwatch()
            let every = max(1, steps / 10)
            for _ in 0..<steps {
                let record = distiller.step(clock: { runClock.seconds })
                history.append(record)
                if !quiet && (record.step % every == 0 || record.step == 1) {
                    print("step \(record.step)/\(steps)  train loss \(format(record.trainLoss, 4))  accuracy \(format(100 * record.trainAccuracy, 2))%  inner \(record.innerIterations) it, |F| \(scientific(record.innerGradientNorm))  CG \(record.cgIterations) it, residual \(scientific(record.cgResidual))")
                }
                if !record.innerConverged || !record.cgConverged {
                    printError("warning: step \(record.step): " + (record.innerConverged ? "" : "inner solve missed its tolerance (|F| = \(scientific(record.innerGradientNorm))) ")
                               + (record.cgConverged ? "" : "CG missed its tolerance (residual \(scientific(record.cgResidual)))"))
                }
            }
            let inner = distiller.solveInner()
            let seconds = runClock.seconds
            let trainEval = Evaluation(weights: inner.weights, on: train, threads: threads)
            let testEval = Evaluation(weights: inner.weights, on: test, threads: threads)
            let metrics = RunMetrics(
                dataset: data, classes: dataset.classes, imageHeight: dataset.train.height, imageWidth: dataset.train.width,
                imagesPerClass: imagesPerClass, steps: steps, learningRate: learningRate, l2: l2, seed: seed,
                initialisation: initialisation.rawValue, threads: threads,
                trainLoss: trainEval.loss, trainAccuracy: trainEval.accuracy,
                testLoss: testEval.loss, testAccuracy: testEval.accuracy,
                innerGradientNorm: inner.gradientNorm, innerTolerance: inner.tolerance, innerIterations: inner.iterations,
                seconds: seconds, secondsPerStep: median(history.map(\.seconds)), loadSeconds: loadSeconds)
            let outputs = RunOutputs(folder: out, height: dataset.train.height, width: dataset.train.width, zoom: zoom)
            do {
                try outputs.write(distiller: distiller, history: history, metrics: metrics)
            } catch {
                // The outputs are written as a set or not at all: a folder made for them is empty.
                if !outExisted { rmdir(out) }
                throw CLIError(error)
            }
            print("Done in \(format(seconds, 1)) s (\(format(1000 * metrics.secondsPerStep, 1)) ms per step): train loss \(format(trainEval.loss, 4)), train accuracy \(format(100 * trainEval.accuracy, 2))%, test accuracy \(format(100 * testEval.accuracy, 2))%.")
            print("Wrote \(outputs.files.map { out + "/" + $0 }.joined(separator: ", ")).")
        }
    }
}

extension Initialisation: ExpressibleByArgument {}
