import ArgumentParser
import Distill
import DistillIO
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
                grid as a PNG, the images and labels as IDX, a per-step history.csv, a \
                metrics.json and a report.html to open in a browser into `--out`.

                Examples:
                  distill run
                  distill run --images-per-class 10 --steps 300 --out out-10
                  distill run --init real --seed 7 --l2 0.01
                  distill run --eval-every 20 --snapshot-every 20
                """)

        @OptionGroup var options: DistillOptions

        @Option(help: "How many synthetic images to learn for each class.")
        var imagesPerClass = DistillerConfiguration().imagesPerClass

        @Option(help: "The folder to write the results into; created if missing (default: out, or the --resume folder).")
        var out: String?

        @Option(help: "Save a checkpoint every this many steps (0: only at the end), to resume an interrupted run.")
        var checkpointEvery = 50

        @Option(help: ArgumentHelp("Continue the run whose --out folder is this, from its checkpoint, with the options it was started with.", valueName: "dir"))
        var resume: String?

        @Option(help: "Stop after this step, saving a checkpoint and the outputs; continue later with --resume.")
        var stopAfterStep: Int?

        @Option(help: "How many times each pixel is enlarged in distilled.png.")
        var zoom = 4

        @Flag(help: "Print only errors and the final summary.")
        var quiet = false

        @Flag(help: "Also train the same model on random real images, class means or k-means centroids of the same size, and on all the training data (about 15 s more on MNIST), and record them in metrics.json and report.html.")
        var baselines = false

        @OptionGroup(title: "Watching the run") var display: DisplayOptions

        /// Where the results go.
        var outputFolder: String { out ?? resume ?? "out" }

        func validate() throws {
            guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every must be 0 or more, got \(checkpointEvery).") }
            if let stop = stopAfterStep, stop < 1 { throw ValidationError("--stop-after-step must be at least 1, got \(stop).") }
            guard imagesPerClass >= 1 else { throw ValidationError("--images-per-class must be at least 1, got \(imagesPerClass).") }
            guard (1...64).contains(zoom) else { throw ValidationError("--zoom must lie between 1 and 64, got \(zoom).") }
        }

        var distillerConfiguration: DistillerConfiguration {
            options.configuration(imagesPerClass: imagesPerClass)
        }

        func run() throws {
            let signals = StopOnSignal()
            try reportingFailure { () throws(CLIError) in try execute(signals: signals) }
            let received = signals.received
            if received != 0 { throw ExitCode(128 + received) }
        }

        private func execute(signals: StopOnSignal) throws(CLIError) {
            let out = outputFolder
            var configuration = distillerConfiguration
            var data = options.data
            var checkpoint: Checkpoint?
            if let resume {
                let saved = try Checkpoint.read(from: resume)
                configuration = saved.manifest.configuration
                data = saved.manifest.data
                checkpoint = saved
            }
            let dataset = try LoadedDataset(path: data)
            var distiller = try makeDistiller(dataset, configuration: configuration)
            let classNames = try display.names(classes: dataset.folder.classes)
            var history: [StepRecord] = []
            if let checkpoint {
                guard checkpoint.manifest.dataFiles == dataset.fileHashes else {
                    throw CLIError("\(data): the dataset files differ from the ones the checkpoint in \(Checkpoint.folder(in: resume ?? out)) was made with (SHA-256 mismatch); resuming would not continue the same run")
                }
                do { try distiller.restore(checkpoint.state) } catch { throw CLIError(error) }
                history = checkpoint.manifest.history
                if !quiet { print("Resuming from step \(checkpoint.state.step) of \(configuration.steps) with the options the run was started with.") }
            }
            // Only once every input is loaded and checked: bad input never creates `--out`.
            let outExisted = access(out, F_OK) == 0
            do { try OutputFile.createDirectory(out) } catch { throw CLIError(error) }

            let guardian = DivergenceGuard()
            let periodic = PeriodicCheckpoint(every: checkpointEvery, out: out, data: data, dataFiles: dataset.fileHashes)
            let watch = try RunDisplay(display, quiet: quiet, dataset: dataset, out: out, zoom: zoom, classNames: classNames)
            var observers: [any DistillationObserver] = watch.observers + [guardian, periodic, signals]
            if let stopAfterStep { observers.append(StopAfterStep(step: stopAfterStep)) }
            let (final, fullHistory) = runSteps(distiller, dataset: dataset, history: history, observers: observers)

            let outputs = RunOutputs(folder: out, height: dataset.folder.train.height, width: dataset.folder.train.width, zoom: zoom)
            if let failure = guardian.failure {
                // Keep the last good state's outputs; the last good checkpoint stays as it was.
                if let good = guardian.lastGood {
                    let goodHistory = Array(fullHistory.prefix(good.step))
                    try? outputs.write(measure(good, history: goodHistory, dataset: dataset, data: data, commandLine: quotedCommandLine))
                }
                throw CLIError("\(failure). The outputs in \(out) are from the last good step.")
            }
            var outcome = measure(final, history: fullHistory, dataset: dataset, data: data, commandLine: quotedCommandLine)
            if baselines { outcome.metrics.baselines = try DistillCLI.baselines(dataset, configuration: configuration) }
            do {
                try outputs.write(outcome)
                try Checkpoint.write(final, history: fullHistory, data: data, dataFiles: dataset.fileHashes, to: out)
            } catch {
                // The outputs are written as a set or not at all: a folder made for them is empty.
                if !outExisted { rmdir(out) }
                throw CLIError(error)
            }
            for observer in observers { observer.finished(outcome) }
            let extras = try watch.writeExtras(outcome, outputs: outputs)
            watch.printSummary(outcome, folder: out, files: outputs.files + extras)
            if final.step < configuration.steps {
                let reason = signals.received == SIGINT ? "Interrupted (SIGINT)" : signals.received == SIGTERM ? "Stopped (SIGTERM)" : "Stopped"
                print("\(reason) after step \(final.step) of \(configuration.steps); the checkpoint is in \(Checkpoint.folder(in: out)). Continue with: distill run --resume \(out)")
            }
        }
    }
}
