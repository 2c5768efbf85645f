import ArgumentParser
import Distill
import DistillIO
import DistillRun
#if canImport(Glibc)
import Glibc
#endif

extension DistillCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Distil a dataset folder into a few synthetic images per class (the default command).",
            discussion: """
                Reads a dataset folder (MNIST-named IDX files, raw or gzip; class folders of \
                PNG files; CIFAR-10 or CIFAR-100 binary files: see `--data`), \
                learns `--images-per-class` synthetic images for every class, and writes the \
                grid as a PNG, the images and labels as IDX, a per-step history.csv, a \
                metrics.json and a report.html to open in a browser into `--out`. \
                The defaults depend on `--model`: an option left unset takes the model's \
                default (each option's help lists them), and metrics.json records the values used.

                Examples:
                  distill run --out out-run
                  distill run --images-per-class 5 --steps 600 --out out-5
                  distill run --init real --seed 7 --l2 0.01 --out out-real-l2
                  distill run --eval-every 20 --snapshot-every 20 --out out-watch
                """)

        @OptionGroup var options: DistillOptionGroup<RunDataDefault>

        @Option(parsing: .unconditional, help: "How many synthetic images to learn for each class.")
        var imagesPerClass = DistillerConfiguration().imagesPerClass

        @Option(help: "The folder to write the results into; created if missing. (default: out, or the --resume folder)")
        var out: String?

        @Option(parsing: .unconditional, help: "Save a checkpoint every this many steps (0: only at the end), to resume an interrupted run.")
        var checkpointEvery = 50

        @Option(help: ArgumentHelp("Continue the run whose --out folder is this, from its checkpoint, with the options it was started with.", valueName: "dir"))
        var resume: String?

        @Option(parsing: .unconditional, help: "Stop after this step, saving a checkpoint and the outputs; continue later with --resume.")
        var stopAfterStep: Int?

        @Option(parsing: .unconditional, help: "How many times each pixel is enlarged in distilled.png.")
        var zoom = 4

        @Flag(help: "Print only errors and the final summary.")
        var quiet = false

        @Flag(help: "Delete the files of another run found in --out (every output, progress.png, snapshots/ and checkpoint/) before starting; without it such a folder is refused.")
        var replace = false

        @Flag(help: "A flag (sweep's --baselines takes on or off): also train the same model on random real images, class means or k-means centroids of the same size, and on all the training data (about 15 s more on MNIST; for nngp and ntk a class-balanced subset of 10,000 images, the largest one Cholesky factorisation handles in under a minute: up to a minute or two and about 3.3 GB more), and record them in metrics.json and report.html.")
        var baselines = false

        @OptionGroup(title: "Watching the run") var display: DisplayOptions

        /// Where the results go.
        var outputFolder: String { out ?? resume ?? "out" }

        func validate() throws {
            try refuseEmptyPath("--out", out)
            try refuseEmptyPath("--resume", resume)
            guard checkpointEvery >= 0 else { throw ValidationError("--checkpoint-every: expected 0 or more, found '\(checkpointEvery)'") }
            if let stop = stopAfterStep, stop < 1 { throw ValidationError("--stop-after-step: expected at least 1, found '\(stop)'") }
            guard imagesPerClass >= 1 else { throw ValidationError("--images-per-class: expected at least 1, found '\(imagesPerClass)'") }
            guard (1...64).contains(zoom) else { throw ValidationError("--zoom: expected a value between 1 and 64, found '\(zoom)'") }
            // A resumed run keeps its own settings (compared in `ResumeOptions`).
            if resume == nil {
                try options.refuseUnreadSettings(imagesPerClass: imagesPerClass)
                let steps = distillerConfiguration.steps
                if let stop = stopAfterStep, stop > steps {
                    throw ValidationError("--stop-after-step \(stop) has no effect: the run ends at step \(steps) (--steps \(steps)); give a step up to \(steps), or --steps \(stop) or more.")
                }
            }
        }

        var distillerConfiguration: DistillerConfiguration {
            options.configuration(imagesPerClass: imagesPerClass)
        }

        func run() throws {
            var received: Int32 = 0
            try reportingFailure { () throws(CLIError) in received = try execute() }
            if received != 0 { throw ExitCode(128 + received) }
        }

        /// Runs the session; returns the signal that stopped it (0 if none).
        private func execute() throws(CLIError) -> Int32 {
            let out = outputFolder
            // Another run writing into the folder is refused before anything is read or announced.
            if let pid = OutputFolderLock.holder(of: out) {
                throw CLIError(OutputFolderLock.heldMessage(out, pid: pid))
            }
            // A signal before the session guards the run ends it with one line (nothing is written before).
            if let resume { SignalsBeforeRun.install(while: "reading the checkpoint in \(Checkpoint.folder(in: resume))") }
            let checkpoint = try resume.map { dir throws(CLIError) in try runStep { () throws(RunError) in try Checkpoint.read(from: dir) } }
            // On resume the checkpoint's dataset, unless --data gives its new place.
            let data = checkpoint.flatMap { options.dataOptions.dataGiven ? nil : $0.manifest.data } ?? options.data
            SignalsBeforeRun.install(while: "loading the dataset \(data)")
            if let checkpoint, let stop = stopAfterStep, stop <= checkpoint.state.step {
                try runStep { () throws(RunError) in
                    throw RunError("--stop-after-step \(stop): the checkpoint in \(Checkpoint.folder(in: resume ?? out)) is already at step \(checkpoint.state.step); give a later step, or leave --stop-after-step out")
                }
            }
            // On resume, the options the run keeps come from its checkpoint (`ResumeRules`).
            var display = self.display, resumedZoom = self.zoom
            if let checkpoint {
                let given = ResumeRules.given(Array(CommandLine.arguments.dropFirst()))
                try runStep { () throws(RunError) in
                    try ResumeRules.check(given: given, requested: ResumeRules.recordedOptions(snapshotEvery: display.snapshotEvery, classNames: display.classNames, zoom: resumedZoom),
                                          requestedData: options.dataOptions.datasetOptions, checkpoint: checkpoint)
                }
                if let recorded = checkpoint.manifest.recordedOptions {
                    display.snapshotEvery = recorded["snapshot-every"].flatMap { Int($0) }
                    display.classNames = recorded["class-names"]
                    resumedZoom = recorded["zoom"].flatMap { Int($0) } ?? resumedZoom
                }
            }
            let request = DistillationSession.Request(
                configuration: distillerConfiguration, data: options.data, dataOptions: options.dataOptions.datasetOptions, out: out, checkpointEvery: checkpointEvery,
                stopAfterStep: stopAfterStep, resume: checkpoint, baselines: baselines, commandLine: quotedCommandLine,
                replace: replace, resumeFolder: resume, dataGiven: options.dataOptions.dataGiven,
                recordedOptions: ResumeRules.recordedOptions(snapshotEvery: display.snapshotEvery, classNames: display.classNames, zoom: resumedZoom),
                givenOptions: Set(ResumeRules.given(Array(CommandLine.arguments.dropFirst())).map { "--" + $0 }))
            let session = try runStep { () throws(RunError) in try DistillationSession(request) }
            let configuration = session.request.configuration
            if let stop = stopAfterStep, stop > configuration.steps {
                try runStep { () throws(RunError) in
                    throw RunError("--stop-after-step \(stop) has no effect: the resumed run ends at step \(configuration.steps); give a step up to \(configuration.steps), or --steps \(stop) or more")
                }
            }
            let classNames = try display.names(classes: session.dataset.classes, datasetNames: session.dataset.dataset.classNames)
            if let checkpoint, !quiet {
                print("Resuming from step \(checkpoint.state.step) of \(configuration.steps) with the options the run was started with.")
            }
            let shape = session.dataset.shape, zoom = resumedZoom
            let grid = { @Sendable (distiller: Distiller) throws -> PNGImage in
                try DistilledPicture.grid(DistilledPicture.pixels(distiller), configuration: distiller.configuration,
                                          classes: distiller.classes, height: shape.height, width: shape.width,
                                          channels: shape.channels, zoom: zoom)
            }
            // Everything the run will need is checked before step 1.
            let largestZoom = DistilledPicture.largestZoom(configuration, classes: session.dataset.classes, height: shape.height,
                                                           width: shape.width, channels: shape.channels)
            let pictureOptions = largestZoom >= 1 ? "--zoom (at most \(largestZoom) at this size) or --images-per-class" : "--images-per-class (even --zoom 1 is too large)"
            try runStep { () throws(RunError) in try session.checkPicture(naming: pictureOptions, grid) }
            if display.snapshotEvery != nil {
                let sheet = ContactSheet(frames: [], configuration: configuration, classes: session.dataset.classes, height: shape.height,
                                         width: shape.width, channels: shape.channels, zoom: zoom)
                do { try sheet.checkSize(frames: SnapshotWriter.defaultSheetFrames) } catch {
                    try runStep { () throws(RunError) in
                        throw RunError("\(RunDisplay.progress) (--snapshot-every) cannot be made at this size (\(error)); leave out --snapshot-every")
                    }
                }
            }
            // A large or long run is announced before it starts: its memory, and
            // its time from copies of the first step (`DurationEstimate`).
            let threshold = try runStep { () throws(RunError) in try DurationEstimate.threshold() }
            if !quiet {
                if let announcement = session.estimate.announcement { printError(announcement) }
                let duration = DurationEstimate.measure(session.distiller, train: session.dataset.train)
                if let announcement = duration.runAnnouncement(threshold: threshold) { printError(announcement) }
            }
            try runStep { () throws(RunError) in try session.createOutputFolder() }
            let watch = try RunDisplay(display, quiet: quiet, dataset: session.dataset, out: out, zoom: zoom, classNames: classNames)
            let outputs = RunOutputs(folder: out, shape: shape), command = CommandLine.arguments
            // The outputs, report.html (and progress.png) and the checkpoint: one set.
            // The baselines take from seconds to minutes (a kernel ceiling): announced as they start.
            let model = configuration.model, train = session.dataset.train, quiet = self.quiet
            let result = try runStep { () throws(RunError) in
                try session.run(observers: watch.observers, grid: grid, extras: { outcome in
                    try watch.extraFiles(outcome, outputs: outputs, zoom: zoom, command: command)
                }, beforeBaselines: {
                    guard !quiet else { return }
                    let size = CeilingSize(model: model, train: train)
                    let set = SweepReport(rows: [], target: nil, ceilingTrainingImages: size.isAll ? nil : size.images).ceilingSet
                    watch.printFinal(Sweep.ceilingAnnouncement(model: model, size: size, set: set, baselines: "the baselines"))
                })
            }
            // Why the run stopped before its last step (a signal, or --stop-after-step) comes first, then the summary.
            let received = session.signals.received
            let reason = received == SIGINT ? "Interrupted (SIGINT)" : received == SIGTERM ? "Stopped (SIGTERM)"
                : received == SIGPIPE ? "Stopped (standard output closed)" : "Stopped"
            if result.stoppedEarly {
                // Standard output has no reader after a broken pipe: the way to continue goes to standard error.
                (received == SIGPIPE ? printError : watch.printFinal)("\(reason) after step \(result.outcome.distiller.step) of \(configuration.steps); the checkpoint is in \(Checkpoint.folder(in: out)). Continue with: distill run --resume \(out)")
            } else if received != 0 && baselines {
                // The steps are done (nothing to resume); the baselines were stopped and are not recorded.
                // The same command alone is refused (the folder holds a finished run): --replace or another --out.
                watch.printFinal("\(reason) after the run's last step (\(configuration.steps)), so its baselines were not recorded; the outputs and checkpoint in \(out) are the run's (to have the baselines, run the same command again with --replace, which also runs its steps again, or with another --out).")
            }
            watch.printSummary(result.outcome, folder: out, files: watch.writtenNames(outputs: result.files),
                               resumedFrom: checkpoint?.state.step)
            return received
        }
    }
}
