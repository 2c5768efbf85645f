import ArgumentParser
import Distill
import DistillIO
import DistillRun
#if canImport(Glibc)
import Glibc
#endif

extension DistillCommand {
    struct Sweep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Distil at several sizes and find the smallest distilled set that is good enough.",
            discussion: """
                Runs the distillation once for every size in `--images-per-class` (with the \
                same options as `run`), writes each run's files into `<out>/ipc-K/`, and \
                summarises them beside the baselines of the same size in sweep.csv, sweep.md \
                and sweep.svg (test accuracy against images per class). With \
                `--target-accuracy`, it prints the smallest size whose test accuracy reaches it. \
                With `--network`, networks trained from scratch on each distilled set and \
                baseline add a column (as `distill eval --network`; each size's protocol and \
                results in ipc-K/network-eval.json). As for `run`, options left unset take the defaults of `--model`.

                Examples:
                  distill sweep --out out-sweep-all
                  distill sweep --images-per-class 1,5,10 --target-accuracy 92 --out out-92
                  distill sweep --images-per-class 1,2,5 --steps 100 --out sweep-quick
                """)

        @OptionGroup var options: DistillOptions

        @Option(parsing: .unconditional, help: "The sizes to try, as a comma-separated list of images per class.")
        var imagesPerClass = SizeList(sizes: [1, 2, 5, 10, 20, 50])

        @Option(parsing: .unconditional, help: ArgumentHelp(TargetAccuracyText.help))
        var targetAccuracy: Double?

        @Option(help: "The folder to write the sweep into; created if missing.")
        var out = "out-sweep"

        @Flag(help: "Print only errors and the results: the ceiling's line, one line per size as it finishes (and one for its networks with --network), the files written and, with --target-accuracy, the smallest size reaching it; not the steps' lines, the baselines' announcements, the networks' progress or a large or long sweep's estimates.")
        var quiet = false

        @Flag(help: "Delete an earlier sweep's outputs found in --out (its summaries and every ipc-K folder's run) before starting; without it such a folder is refused.")
        var replace = false

        @OptionGroup(title: "Network evaluation") var networkOptions: NetworkOptions

        @Option(help: ArgumentHelp("On or off, a value unlike run's flag --baselines: also train the model on random real images and class means or k-means centroids of each size, and once on all the training data (for nngp and ntk a class-balanced subset of 10,000 images), for comparison.", valueName: "on|off"))
        var baselines = Switch.on

        func validate() throws {
            try refuseEmptyPath("--out", out)
            guard !imagesPerClass.sizes.isEmpty, imagesPerClass.sizes.allSatisfy({ $0 >= 1 }) else {
                throw ValidationError("--images-per-class: expected a list of sizes of at least 1, found '\(imagesPerClass.sizes)'")
            }
            if let repeated = Dictionary(grouping: imagesPerClass.sizes, by: { $0 }).filter({ $0.value.count > 1 }).keys.min() {
                throw ValidationError("--images-per-class lists \(repeated) more than once (\(imagesPerClass.sizes.map(String.init).joined(separator: ","))): each size is one run in its own folder ipc-\(repeated); list every size once.")
            }
            try options.refuseUnreadSettings(imagesPerClass: imagesPerClass.sizes[0])
            if let target = targetAccuracy {
                try refuseSubnormal([("--target-accuracy", target)])
                guard isPositiveNormal(target), target <= 100 else {
                    throw ValidationError("--target-accuracy: expected a fraction in (0, 1] or a percentage in (1, 100], found '\(target)'")
                }
            }
        }

        /// The start of the command that runs one size again, for its report.html
        /// (`RerunCommand`): the executable, then `--baselines` when the sweep
        /// trained them and `--quiet`; the size's settings come from its configuration.
        var rerunCommand: [String] {
            [CommandLine.arguments.first ?? "distill"] + (baselines.isOn ? ["--baselines"] : []) + (quiet ? ["--quiet"] : [])
        }

        /// The target as a fraction in (0, 1].
        var targetFraction: Double? { targetAccuracy.map { $0 > 1 ? $0 / 100 : $0 } }

        func run() throws {
            var received: Int32 = 0
            try reportingFailure { () throws(CLIError) in received = try execute() }
            if received != 0 { throw ExitCode(128 + received) }
        }

        /// Runs the sweep; returns the signal that stopped it (0 if none).
        private func execute() throws(CLIError) -> Int32 {
            // A signal before the first size's session guards it ends the sweep with one line.
            SignalsBeforeRun.install(while: "loading the dataset \(options.data)")
            let dataset = try runStep { () throws(RunError) in try LoadedDataset(path: options.data, options: options.dataOptions.datasetOptions) }
            SignalsBeforeRun.install(while: "preparing the sweep, before its first run")
            // Refuse, before any work, a folder another process writes into or that
            // holds an earlier sweep's outputs (unless --replace); then hold its lock.
            try checkSizes(dataset)
            let sweepFolder = SweepFolder(out: out, sizes: imagesPerClass.sizes)
            try sweepFolder.check(replace: replace)
            // Check every size before the first run and before creating `--out`: its
            // images and its memory; then announce a large or long sweep (`DurationEstimate`).
            let threshold = try runStep { () throws(RunError) in try DurationEstimate.threshold() }
            var durations: [(imagesPerClass: Int, estimate: DurationEstimate)] = []
            var largest: ResourceEstimate?
            for size in imagesPerClass.sizes {
                let configuration = options.configuration(imagesPerClass: size)
                let distiller = try runStep { () throws(RunError) in try makeDistiller(dataset, configuration: configuration) }
                let memory = ResourceEstimate(train: dataset.train.count, features: dataset.shape.features, classes: dataset.classes,
                                              configuration: configuration)
                try runStep { () throws(RunError) in try memory.check(imagesPerClass: size) }
                if memory.bytes > largest?.bytes ?? -1 { largest = memory }
                if !quiet { durations.append((size, DurationEstimate.measure(distiller, train: dataset.train))) }
            }
            if !quiet {
                if let announcement = largest?.announcement { printError("At its largest size: " + announcement) }
                if let announcement = DurationEstimate.sweepAnnouncement(durations, threshold: threshold) { printError(announcement) }
            }
            let networks = try networkEvaluator(dataset)
            let lock = try sweepFolder.claim(replace: replace)
            defer { withExtendedLifetime(lock) {} }
            var rows: [SweepRow] = []
            let ceilingSize = CeilingSize(model: options.modelOptions.model, train: dataset.train)
            let ceilingReport = SweepReport(rows: [], target: nil, ceilingTrainingImages: ceilingSize.isAll ? nil : ceilingSize.images)
            // The ceiling, with the outer loss its training loss was measured with.
            var fullData: (result: BaselineResult, outerLoss: KernelOuterLoss)?
            for size in imagesPerClass.sizes {
                // Standard output closed while the last size finished (`sweep --quiet | head -1`):
                // stop before this one, as its first step would, rather than leave it begun.
                if let last = rows.last?.imagesPerClass, ClosedOutput.failed {
                    for line in ["Stopped (standard output closed) before the run of \(size) per class."] + stopSummary(size: last, complete: rows.map(\.imagesPerClass)) {
                        printError(line)
                    }
                    return SIGPIPE
                }
                let folder = sweepFolder.folder(size)
                // The same guarded run as `distill run`: guards, checkpoints, signals.
                let request = DistillationSession.Request(configuration: options.configuration(imagesPerClass: size), data: options.data,
                                                          dataOptions: options.dataOptions.datasetOptions, out: folder, commandLine: quotedCommandLine,
                                                          replace: replace)
                let session = try runStep { () throws(RunError) in try DistillationSession(request, dataset: dataset) }
                let progress = ProgressLines(log: { if !quiet { print($0) } })
                let shape = dataset.shape
                // report.html as `distill run` writes it, in the same set as the size's outputs.
                let display = try RunDisplay.sweepSize(dataset: dataset, out: folder)
                let outputs = RunOutputs(folder: folder, shape: shape), rerun = rerunCommand
                let result = try runStep { () throws(RunError) in
                    try session.run(observers: [progress] + display.observers, grid: { @Sendable distiller in
                        try DistilledPicture.grid(DistilledPicture.pixels(distiller), configuration: distiller.configuration,
                                                  classes: distiller.classes, height: shape.height, width: shape.width,
                                                  channels: shape.channels, zoom: 4)
                    }, extras: { outcome in try display.extraFiles(outcome, outputs: outputs, zoom: 4, command: rerun) })
                }
                var outcome = result.outcome
                // A signal stops the sweep after this size's step: no baselines, ceiling or later size.
                if session.signals.received != 0 {
                    interrupted(session.signals.received, size: size, result: result, folder: folder, done: rows.map(\.imagesPerClass))
                    return session.signals.received
                }
                var compared: [BaselineResult] = []
                if baselines.isOn {
                    // The ceiling, trained once for the sweep with the first size's baselines (it takes
                    // minutes), and again for a size whose outer loss differs (the NTK's mse from 20 per
                    // class), so that each row's ceiling training loss is on that row's loss.
                    let outerLoss = outcome.distiller.configuration.outerLoss
                    let reused = fullData.flatMap { $0.outerLoss == outerLoss ? $0.result : nil }
                    let pending = Self.baselineNames(imagesPerClass: size, withCeiling: reused == nil)
                    // A signal now stops before the next baseline; the run itself is complete.
                    session.signals.afterSteps(
                        acknowledgement: "stopping once the baseline being trained ends (a ceiling: at its next L-BFGS iteration or next block of its kernel matrix, Cholesky factorisation or evaluation); \(size) per class's run is complete in \(folder), its baselines will not be recorded... (a second Ctrl-C or SIGTERM stops at once)\n",
                        second: "stopping now; \(size) per class's run is complete in \(folder), its baselines were not recorded.\n"
                            + stopSummary(size: size, complete: rows.map(\.imagesPerClass) + [size], baselinesMissing: true)
                                .joined(separator: "\n") + "\n")
                    if !quiet {
                        print(reused == nil
                              ? Self.ceilingAnnouncement(model: options.modelOptions.model, size: ceilingSize, set: ceilingReport.ceilingSet)
                              : "Training the baselines of this size (\(pending.joined(separator: " and ")); the ceiling was trained once, with the first size's)...")
                    }
                    let signals = session.signals
                    compared = try runStep { () throws(RunError) in
                        try DistillRun.baselines(dataset, configuration: outcome.distiller.configuration, fullData: reused,
                                                 stopRequested: { signals.received != 0 })
                    }
                    if session.signals.received != 0 {
                        // This size's run is complete; its baselines, some of them not trained, are not recorded.
                        let notTrained = Array(pending.dropFirst(compared.count))
                        interrupted(session.signals.received, size: size, result: result, folder: folder, done: rows.map(\.imagesPerClass),
                                    notTrained: notTrained)
                        return session.signals.received
                    }
                    if reused == nil, let ceiling = compared.first(where: { $0.name == "full_data" }) {
                        print("Ceiling: \(ceiling.model) on \(ceilingReport.ceilingSet) at L2 \(fullDataCeilingL2): test accuracy \(format(100 * ceiling.testAccuracy, 2))%, \(NumberText.duration(ceiling.seconds)).")
                    }
                    fullData = compared.first { $0.name == "full_data" }.map { ($0, outerLoss) }
                    outcome.metrics.baselines = compared
                    // metrics.json and report.html again, with the baselines, as one set.
                    let report = try display.report(outcome, outputs: outputs, command: rerun,
                                                    files: display.writtenNames(outputs: result.files))
                    do { try outputs.writeMetrics(outcome.metrics, alongside: [report]) } catch { throw CLIError(error) }
                }
                if session.signals.received != 0 {
                    // It came while the baselines were written: this size is complete, with them.
                    interrupted(session.signals.received, size: size, result: result, folder: folder, done: rows.map(\.imagesPerClass),
                                measured: true)
                    return session.signals.received
                }
                let m = outcome.metrics
                var row = SweepRow(imagesPerClass: size, testAccuracy: m.testAccuracy, trainLoss: m.trainLoss,
                                   correlation: m.readability?.meanClassMeanCorrelation, seconds: m.seconds, baselines: compared)
                print("\(size) per class: test accuracy \(format(100 * m.testAccuracy, 2))%, train loss \(format(m.trainLoss, 4)), \(NumberText.duration(m.seconds)) of distillation.")
                if let networks {
                    session.signals.afterSteps(
                        acknowledgement: "stopping once the networks of \(size) per class are trained and tested; its run\(baselines.isOn ? " and baselines are" : " is") complete in \(folder)... (a second Ctrl-C or SIGTERM stops at once)\n",
                        second: "stopping now; \(size) per class's run\(baselines.isOn ? " and baselines are" : " is") complete in \(folder), its network evaluation is not.\n"
                            + stopSummary(size: size, complete: rows.map(\.imagesPerClass) + [size]).joined(separator: "\n") + "\n")
                    row.networks = try evaluateNetworks(networks, folder: folder, imagesPerClass: size,
                                                        seed: outcome.distiller.configuration.seed)
                }
                rows.append(row)
                if session.signals.received != 0 {
                    interrupted(session.signals.received, size: size, result: result, folder: folder, done: rows.dropLast().map(\.imagesPerClass),
                                measured: true)
                    return session.signals.received
                }
            }
            let report = SweepReport(rows: rows, target: targetFraction, ceilingTrainingImages: ceilingReport.ceilingTrainingImages,
                                     network: networks?.title)
            do {
                try OutputFile.write(report.csv, to: out + "/sweep.csv")
                try OutputFile.write(report.markdown, to: out + "/sweep.md")
                try OutputFile.write(report.chart().svg(), to: out + "/" + SweepReport.chartFileName)
            } catch { throw CLIError(error) }
            print("Wrote \(out)/sweep.csv, \(out)/sweep.md, \(out)/\(SweepReport.chartFileName) and one run folder per size (\(out)/ipc-K/, each with its \(ReportPage.fileName)).")
            if let target = targetFraction {
                if let best = report.smallestReaching(target) {
                    print("The smallest size reaching \(format(100 * target, 2))% test accuracy: \(counted(best.imagesPerClass, "image")) per class (\(format(100 * best.testAccuracy, 2))%).")
                } else {
                    print("No size reached \(format(100 * target, 2))% test accuracy; the best was \(format(100 * (rows.map(\.testAccuracy).max() ?? 0), 2))%.")
                }
            }
            return 0
        }

        /// Says what a signal that stopped the sweep during the run of `size` left and
        /// how to go on: the sizes complete (`done`, and `size` when its run
        /// finished), the command that continues `size` when it stopped early, and
        /// the sweep that produces the sizes not run (a sweep does not resume: its
        /// folder now holds run outputs, so the rest goes into another --out).
        /// `notTrained`: the baselines of `size` a signal during them left
        /// untrained (`baselineNames`); nil when it did not come during them.
        private func interrupted(_ signal: Int32, size: Int, result: DistillationSession.Result, folder: String, done: [Int],
                                 measured: Bool = false, notTrained: [String]? = nil) {
            let reason = signal == SIGINT ? "Interrupted (SIGINT)" : signal == SIGTERM ? "Stopped (SIGTERM)"
                : signal == SIGPIPE ? "Stopped (standard output closed)" : "Stopped"
            let steps = result.outcome.distiller.configuration.steps, step = result.outcome.distiller.step
            var complete = done
            var lines: [String] = []
            if result.stoppedEarly {
                lines.append("\(reason) during \(size) per class, after step \(step) of \(steps); \(folder) keeps its outputs and checkpoint: continue it with: distill run --resume \(folder)")
            } else {
                complete.append(size)
                let baselineText: String
                if measured {
                    baselineText = "."
                } else if let notTrained, !notTrained.isEmpty {
                    baselineText = " during its baselines; they were not recorded (not trained: \(notTrained.joined(separator: ", ")))."
                } else if notTrained != nil {
                    baselineText = " as its baselines ended; they were not recorded."
                } else {
                    baselineText = "; its baselines were not trained."
                }
                lines.append("\(reason) after the run of \(size) per class finished (\(counted(steps, "step")), in \(folder))" + baselineText)
            }
            // Standard output has no reader after a broken pipe: the account goes to standard error.
            for line in lines + stopSummary(size: size, complete: complete, baselinesMissing: notTrained != nil) {
                if signal == SIGPIPE { printError(line) } else { print(line) }
            }
        }

        /// The lines that end a stopped sweep's account: the sizes complete, the
        /// sweep that produces those after `size` (none is run) and, when
        /// `baselinesMissing` (stopped during `size`'s baselines), `size` again for
        /// its baselines, and the summaries not written.
        func stopSummary(size: Int, complete: [Int], baselinesMissing: Bool = false) -> [String] {
            var lines: [String] = []
            let notRun = imagesPerClass.sizes.drop(while: { $0 != size }).dropFirst().map(String.init)
            lines.append(complete.isEmpty ? "No size is complete." : "Complete: \(complete.map { "\($0) per class (\(out)/ipc-\($0))" }.joined(separator: ", ")).")
            let again = (baselinesMissing ? [String(size)] : []) + notRun
            if !again.isEmpty {
                let missing = baselinesMissing ? "\(size) per class has no baselines" + (notRun.isEmpty ? ". " : "; not run: \(notRun.joined(separator: ", ")) per class. ")
                    : "Not run: \(notRun.joined(separator: ", ")) per class. "
                lines.append(missing + "A sweep does not resume; for \(again.count == 1 ? "it" : "them"), run the same command with --images-per-class \(again.joined(separator: ",")) and another --out.")
            }
            lines.append("sweep.csv, sweep.md and \(SweepReport.chartFileName) were not written.")
            return lines
        }
    }
}

extension DistillCommand.Sweep {
    /// The line printed before the baselines of the first size, which train the
    /// ceiling: the model, on which images, and for the NNGP and NTK models (one
    /// Cholesky factorisation of the kernel matrix) its size and memory.
    static func ceilingAnnouncement(model: String, size: CeilingSize, set: String, baselines: String = "the baselines of this size") -> String {
        let start = "Training \(baselines) and the ceiling (\(model) on \(set) at L2 \(fullDataCeilingL2))"
        guard let bytes = size.kernelBytes(model: model) else { return start + "..." }
        // 10,000 images on MNIST: 25 s in all on the 2-core machine when idle, 40 s loaded (2026-11-30).
        let long = size.images >= 5000 ? "; up to a minute or two on 2 cores" : ""
        return start + ": one Cholesky factorisation of its \(size.images) x \(size.images) kernel matrix (about \(ResourceEstimate.text(Double(bytes))) of memory), then the kernel against every training and test image\(long)..."
    }

    /// The baselines a size trains, in `DistillRun.baselines`'s order: random real
    /// images, class means (1 per class) or k-means centroids, and the ceiling
    /// when this size trains it (the sweep's first).
    static func baselineNames(imagesPerClass: Int, withCeiling: Bool) -> [String] {
        ["random real images", imagesPerClass == 1 ? "class means" : "k-means centroids"] + (withCeiling ? ["the ceiling"] : [])
    }

    /// Checks, before any work, that the training set can supply every size of
    /// `--images-per-class`: the random-real and k-means baselines (with
    /// `--baselines on`) and `--init real` take that many real images of every class.
    ///
    /// - Throws: `CLIError` naming sweep's options, the size and the class that is short.
    func checkSizes(_ dataset: LoadedDataset) throws(CLIError) {
        let counts = dataset.train.classCounts
        guard let fewest = counts.min(), let c = counts.firstIndex(of: fewest) else { return }
        let list = imagesPerClass.sizes.map(String.init).joined(separator: ",")
        let fitting = imagesPerClass.sizes.filter { $0 <= fewest }
        let advice = fitting.isEmpty ? "sizes of at most \(fewest)" : "sizes of at most \(fewest) (--images-per-class \(fitting.map(String.init).joined(separator: ",")))"
        for size in imagesPerClass.sizes where size > fewest {
            if baselines.isOn {
                throw CLIError("--images-per-class \(list) with --baselines on: the random-real and k-means baselines of \(size) per class need \(size) training images of every class, but class \(dataset.className(c)) has \(fewest); give \(advice), or --baselines off")
            }
            if options.configuration(imagesPerClass: size).initialisation == .real {
                let initText = options.initialisation != nil ? "--init real" : "--model \(options.modelOptions.model) (whose default is --init real)"
                throw CLIError("--images-per-class \(list) with \(initText): \(size) per class needs \(size) training images of every class, but class \(dataset.className(c)) has \(fewest); give \(advice), or --init noise or mean")
            }
        }
    }
}

/// A comma-separated list of sizes, e.g. `1,2,5,10`.
struct SizeList: ExpressibleByArgument, Equatable {
    var sizes: [Int]

    init(sizes: [Int]) { self.sizes = sizes }

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        var sizes: [Int] = []
        for part in parts {
            guard let size = Int(part.trimmingCharacters(in: .whitespaces)) else { return nil }
            sizes.append(size)
        }
        self.sizes = sizes
    }

    var defaultValueDescription: String { sizes.map(String.init).joined(separator: ",") }
}
