import Distill
import DistillDatasets
import DistillIO
import DistillImages
#if canImport(Glibc)
import Glibc
#endif

/// One guarded distillation into an output folder, as `distill run` and
/// `distill sweep` do it: load and check everything, create the folder, run the
/// steps under the guards (divergence and missed solves, signals, stop-after,
/// periodic checkpoints), then measure and write the outputs, the caller's
/// extra files (report.html...) and the checkpoint as one set.
///
/// The first SIGINT or SIGTERM writes that same set for the last finished
/// step, on another thread while the current step ends, so that a second
/// signal, which ends the process once the set is written, leaves the complete
/// outputs of the last checkpoint (see `StopOnSignal`).
///
/// Use: `init` (loads and checks; creates nothing), any further checks of the
/// caller's, `createOutputFolder()`, observers that need the folder, then `run`.
public final class DistillationSession: @unchecked Sendable {
    /// What to run.
    public struct Request: Sendable {
        public var configuration: DistillerConfiguration
        /// The dataset location (`--data`).
        public var data: String
        /// How the dataset is loaded (`--test-fraction`, `--split-seed`, `--label-set`).
        public var dataOptions: DatasetOptions
        /// The output folder.
        public var out: String
        /// Save a checkpoint every this many steps (0: only at the end).
        public var checkpointEvery: Int
        /// Stop after this step, saving everything (nil: run to the end).
        public var stopAfterStep: Int?
        /// The checkpoint to continue from (its configuration and data win).
        public var resume: Checkpoint?
        /// Also train the baselines of the same size and record them.
        public var baselines: Bool
        /// This command's line, quoted for a shell: recorded in metrics.json and
        /// the checkpoints as the run's command, or as one that resumed it (`RunCommands`).
        public var commandLine: String
        /// Remove the files of another run found in `out` before starting (`--replace`);
        /// without it such a folder is refused.
        public var replace: Bool
        /// The folder the checkpoint was read from when resuming (its run's files may stay).
        public var resumeFolder: String?
        /// Whether `data` was given by the user: when resuming, it replaces the
        /// checkpoint's dataset path (a moved dataset; its checksums must match).
        public var dataGiven: Bool
        /// The command's own options the run keeps, recorded in its checkpoints
        /// (`Checkpoint.Manifest.recordedOptions`); the caller resolves them on resume.
        public var recordedOptions: [String: String]
        /// The long option names the user gave (`--seed`), for `ResumeOptions`; nil: unknown.
        public var givenOptions: Set<String>?

        public init(configuration: DistillerConfiguration, data: String, dataOptions: DatasetOptions = DatasetOptions(),
                    out: String, checkpointEvery: Int = 50,
                    stopAfterStep: Int? = nil, resume: Checkpoint? = nil, baselines: Bool = false, commandLine: String = "",
                    replace: Bool = false, resumeFolder: String? = nil, dataGiven: Bool = false,
                    recordedOptions: [String: String] = [:], givenOptions: Set<String>? = nil) {
            self.givenOptions = givenOptions
            self.recordedOptions = recordedOptions
            self.dataGiven = dataGiven
            self.replace = replace
            self.resumeFolder = resumeFolder
            self.configuration = configuration
            self.data = data
            self.dataOptions = dataOptions
            self.out = out
            self.checkpointEvery = checkpointEvery
            self.stopAfterStep = stopAfterStep
            self.resume = resume
            self.baselines = baselines
            self.commandLine = commandLine
        }
    }

    public let request: Request
    public let dataset: LoadedDataset
    /// The distiller as it starts (restored from the checkpoint when resuming).
    public let distiller: Distiller
    /// The steps taken before (when resuming).
    public let history: [StepRecord]
    /// The command that started the run and those that resumed it, this one included.
    public let commands: RunCommands
    /// The memory the run is estimated to need (checked against the machine's in `init`).
    public let estimate: ResourceEstimate
    /// The dataset's absolute path, recorded in checkpoints (a resume from another directory finds it).
    public let absoluteData: String
    /// Whether the output folder existed before (a folder made for a run that
    /// writes nothing is removed again).
    private var outExisted = true
    /// Stops the run on SIGINT or SIGTERM; `received` tells which came.
    public let signals: StopOnSignal
    /// The output folder's lock, held from `createOutputFolder()` to the end of the session.
    private var lock: OutputFolderLock?

    /// Loads the dataset and builds the distiller (restoring the checkpoint when
    /// resuming). Creates nothing: bad input never leaves a folder behind.
    ///
    /// - Throws: `RunError`, one line naming the file or option.
    public init(_ request: Request, dataset: LoadedDataset? = nil) throws(RunError) {
        var request = request
        if let checkpoint = request.resume {
            request.configuration = try ResumeOptions.configuration(
                saved: checkpoint.manifest.configuration, step: checkpoint.state.step, requested: request.configuration,
                given: request.givenOptions)
            // A finished run has nothing to resume: running no step would only rewrite its outputs.
            if checkpoint.state.step >= request.configuration.steps {
                let folder = request.resumeFolder ?? request.out
                throw RunError("\(folder): the run in this folder finished (\(checkpoint.state.step) of \(checkpoint.manifest.configuration.steps) steps), so there is nothing to resume; to run it longer, give more steps: distill run --resume \(folder) --steps N, with N above \(checkpoint.state.step)")
            }
            if !request.dataGiven {
                request.data = checkpoint.manifest.data
                if dataset == nil && access(request.data, F_OK) != 0 {
                    throw RunError("\(request.data): the dataset the checkpoint in \(Checkpoint.folder(in: request.resumeFolder ?? request.out)) was made with is not there any more; give its new place with --data (its files' SHA-256 are checked)")
                }
            }
            request.dataOptions = checkpoint.manifest.dataOptions ?? DatasetOptions()
        }
        self.request = request
        commands = RunCommands(command: request.commandLine, resuming: request.resume)
        absoluteData = Self.absolutePath(request.data)
        let loaded: LoadedDataset
        if let dataset { loaded = dataset } else if let checkpoint = request.resume, request.dataGiven {
            // A dataset given again on resume is read with the run's recorded data options; one
            // that cannot be read so is not the run's dataset, whatever the reader's complaint.
            do { loaded = try LoadedDataset(path: request.data, options: request.dataOptions) } catch {
                throw RunError("--data \(request.data): expected the dataset this run was started with (\(checkpoint.manifest.data), read with its recorded options), found one that cannot be read so: \(error)")
            }
        } else { loaded = try LoadedDataset(path: request.data, options: request.dataOptions) }
        let dataset = loaded
        self.dataset = dataset
        var distiller = try makeDistiller(dataset, configuration: request.configuration)
        if request.baselines { try checkBaselineSizes(dataset, imagesPerClass: request.configuration.imagesPerClass) }
        if request.resume == nil, distiller.l2 > distiller.largestUsableL2 {
            throw RunError("--l2 \(scientificText(distiller.l2)): " + DivergenceGuard.degenerateL2Text(distiller.l2, distiller: distiller)
                           + " (its hypergradient carries nothing about the data); use a smaller --l2")
        }
        estimate = ResourceEstimate(train: dataset.train.count, features: dataset.shape.features, classes: dataset.classes,
                                    configuration: request.configuration)
        try estimate.check(imagesPerClass: request.configuration.imagesPerClass)
        var history: [StepRecord] = []
        if let checkpoint = request.resume {
            try checkpoint.manifest.recordedDataset.checkFiles(of: dataset, loadedFrom: request.data,
                                                               madeBy: "the checkpoint in \(Checkpoint.folder(in: request.out))",
                                                               consequence: "resuming would not continue the same run")
            do { try distiller.restore(checkpoint.state) } catch { throw RunError(error) }
            history = checkpoint.manifest.history
        }
        self.distiller = distiller
        self.history = history
        signals = StopOnSignal()
        signals.seed(distiller, history: history)
    }

    /// Checks, before any step, that the picture of the synthetic images
    /// (drawn by `grid`, as `run` will draw distilled.png) can be made.
    ///
    /// - Throws: `RunError` naming `option` (the setting to change) and the size.
    public func checkPicture(naming option: String, _ grid: (Distiller) throws -> PNGImage) throws(RunError) {
        do { _ = try grid(distiller) } catch {
            throw RunError("\(RunFiles.grid) cannot be made at this size (\(error)); use a smaller \(option)")
        }
    }

    /// Creates the output folder (and its parents) once every input is checked,
    /// takes its lock (one run per folder at a time), and checks that it holds
    /// no other run's files (removing them with `request.replace`). Does nothing
    /// when called again.
    ///
    /// - Throws: `RunError` naming the folder when it cannot be created or
    ///   written, another run holds it, or it holds another run's files.
    public func createOutputFolder() throws(RunError) {
        guard lock == nil else { return }
        let out = request.out
        outExisted = access(out, F_OK) == 0
        do { try OutputFile.createDirectory(out) } catch { throw RunError(error) }
        let lock: OutputFolderLock
        do { lock = try OutputFolderLock(out) } catch {
            if !outExisted { rmdir(out) }
            throw error
        }
        let continuing = request.resume != nil && request.resumeFolder.map { Self.sameFolder($0, out) } == true
        let found = OutputFolderLock.runFiles(in: out)
        if !continuing && !found.isEmpty {
            guard request.replace else { throw RunError(OccupiedFolder(out, files: found).runRefusal) }
            try OutputFolderLock.removeRun(in: out)
        }
        self.lock = lock
    }

    /// `path` made absolute (symbolic links resolved); `path` itself when it cannot be resolved.
    static func absolutePath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether two paths name the same folder.
    static func sameFolder(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        guard stat(a, &x) == 0, stat(b, &y) == 0 else { return a == b }
        return x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    /// Removes the folder made for this run when it is left without outputs.
    private func removeFolderIfMadeForThisRun() {
        guard !outExisted else { return }
        lock?.removeFile()
        rmdir(request.out)
    }

    /// Files a caller writes beside the outputs, made for an outcome: their names
    /// in the output folder (`snapshots/step-00012.png` for one in a subfolder)
    /// and bytes. Called on the main thread for the run's end, and on another
    /// thread for the set a first signal asks for (see `run`).
    public typealias ExtraFiles = @Sendable (DistillationOutcome) throws -> [(name: String, bytes: [UInt8])]

    /// Draws distilled.png for a state.
    public typealias GridPicture = @Sendable (Distiller) throws -> PNGImage

    /// Writes the outputs of `outcome` (`grid` draws distilled.png), `extras`
    /// and the checkpoint of `state` as one set (`Checkpoint.write`, with
    /// `precedence`). `state` is the distiller `outcome` was measured from: its
    /// warm start is the one the next step would have had (measuring solves
    /// the inner problem again, from it), so that a resumed run continues bit for bit.
    ///
    /// - Throws: the file that cannot be written or the picture that cannot be made (nothing is changed then).
    private func writeSet(_ outcome: DistillationOutcome, state: Distiller, grid: GridPicture, extras: ExtraFiles?,
                          precedence: Checkpoint.Precedence) throws {
        let out = request.out
        var files = try RunOutputs(folder: out, shape: dataset.shape).contents(outcome, grid: try grid(outcome.distiller))
        files += try extras?(outcome).map { (path: out + "/" + $0.name, bytes: $0.bytes) } ?? []
        try Checkpoint.write(state, history: outcome.history, data: absoluteData, dataFiles: dataset.fileHashes,
                             dataOptions: dataset.dataset.options, recordedOptions: request.recordedOptions, commands: commands,
                             to: out, alongside: files, precedence: precedence)
    }

    /// What a finished (or stopped) run left.
    public struct Result: Sendable {
        public let outcome: DistillationOutcome
        /// The output files written (names in the folder), without the caller's extra files.
        public let files: [String]
        /// Whether the run stopped before its last step (signal or stop-after).
        public var stoppedEarly: Bool { outcome.distiller.step < outcome.distiller.configuration.steps }
    }

    /// Written to standard error when the first signal comes during the baselines.
    public static let baselineAcknowledgement = "stopping the baselines (the one being trained at its next check: a ceiling's L-BFGS iteration or next block of its kernel matrix, Cholesky factorisation or evaluation); the run's steps are done, its outputs and checkpoint are written without the baselines... (a second Ctrl-C or SIGTERM stops at once)\n"

    /// Written to standard error when a second signal ends the run during its baselines.
    public static func baselineSecondAcknowledgement(folder: String) -> String {
        "stopping now; the run's steps are done: \(folder) keeps its outputs and checkpoint, without the baselines.\n"
    }

    /// Runs the remaining steps with the guards and `observers`, then writes the
    /// outputs (`grid` draws distilled.png), `extras` and the checkpoint as one set.
    /// With `request.baselines`, the baselines are trained before that set is
    /// written (`beforeBaselines` is called as they start), unless a signal
    /// stopped the steps; a signal during them stops them and the set is written
    /// without them (the first signal writes it at once, as during the steps).
    ///
    /// The first signal writes that set for the last finished step at once, on
    /// another thread (without the baselines, which take long): the folder a
    /// second signal leaves holds every output of the last checkpoint. A later
    /// step's set, written when the current step ends, replaces it.
    ///
    /// - Throws: `RunError` when the run diverged (the outputs of the last good
    ///   step are written first) or an output cannot be written (the folder is
    ///   left as it was).
    public func run(observers: [any DistillationObserver], grid: @escaping GridPicture,
                    extras: ExtraFiles? = nil, beforeBaselines: () -> Void = {}) throws(RunError) -> Result {
        let out = request.out, data = request.data
        try createOutputFolder()
        let dataset = self.dataset, commands = self.commands
        // Weak: the job outlives the session only until the next session's replaces it.
        signals.writeOnFirstSignal(folder: out) { [weak self] distiller, history in
            guard let self else { return }
            let outcome = measure(distiller, history: history, dataset: dataset, data: data, commands: commands)
            do { try writeSet(outcome, state: distiller, grid: grid, extras: extras, precedence: .unlessLaterOrSameStepOutputs) } catch {
                writeErrorLine("error: cannot write the outputs and checkpoint of step \(distiller.step) in \(out): \(error)")
            }
        }
        let guardian = DivergenceGuard()
        let periodic = PeriodicCheckpoint(every: request.checkpointEvery, out: out, data: absoluteData, dataFiles: dataset.fileHashes,
                                          dataOptions: dataset.dataset.options, recordedOptions: request.recordedOptions,
                                          commands: commands)
        // After a signal, the caller's observers see no further step: nothing of a
        // step later than the set being kept is written or printed (snapshots,
        // test-accuracy lines); the step that ends the run reaches them through
        // the set written below (`extras`) and `finished`.
        let gated: [any DistillationObserver] = observers.map { UntilSignal($0, signals: signals) }
        // After `signals`, which records each step as the one a first signal keeps
        // before a caller's observer writes anything of it.
        var all: [any DistillationObserver] = [guardian, periodic, signals] + gated
        if let stop = request.stopAfterStep { all.append(StopAfterStep(step: stop)) }
        let (final, fullHistory) = runSteps(distiller, dataset: dataset, history: history, observers: all)

        let outputs = RunOutputs(folder: out, shape: dataset.shape)
        if let failure = guardian.failure {
            // Keep the last good state: its outputs and its checkpoint, as one set.
            guard let good = guardian.lastGood else {
                removeFolderIfMadeForThisRun()
                throw RunError("\(failure). No state of this run was good (the first step already failed), so nothing was written.")
            }
            let goodHistory = Array(fullHistory.prefix(good.step))
            let which = good.step == 0 ? "step 0, the starting images" : "step \(good.step)"
            do {
                try writeSet(measure(good, history: goodHistory, dataset: dataset, data: data, commands: commands),
                             state: good, grid: grid, extras: extras, precedence: .always)
            } catch {
                throw RunError("\(failure). The outputs of the last good state (\(which)) could not be written either: \(error)")
            }
            throw RunError("\(failure). The outputs and the checkpoint in \(out) are those of the last good state (\(which)): its loss, gradients and images were finite and its solves met their tolerances.")
        }
        if let error = periodic.error { throw RunError("cannot write the checkpoint in \(Checkpoint.folder(in: out)): \(error)") }
        var outcome = measure(final, history: fullHistory, dataset: dataset, data: data, commands: commands)
        // The baselines, unless a signal stopped the steps; a signal during them stops
        // them (`stopRequested`), and the set is written without them.
        if request.baselines && signals.received == 0 {
            signals.duringBaselines(acknowledgement: Self.baselineAcknowledgement, second: Self.baselineSecondAcknowledgement(folder: out))
            beforeBaselines()
            let signals = self.signals
            let trained = try baselines(dataset, configuration: final.configuration, stopRequested: { signals.received != 0 })
            if signals.received == 0 { outcome.metrics.baselines = trained }
        }
        do {
            try writeSet(outcome, state: final, grid: grid, extras: extras, precedence: .unlessLater)
        } catch {
            // The outputs are written as a set or not at all: a folder made for them is empty.
            removeFolderIfMadeForThisRun()
            throw RunError(error)
        }
        for observer in all { observer.finished(outcome) }
        return Result(outcome: outcome, files: outputs.files)
    }
}

/// Forwards each step to `observer` until a signal has come (see `StopOnSignal`):
/// the step during which SIGINT or SIGTERM arrived, and any later one, are not
/// shown to it, since a second signal may end the process before that step's set
/// is written and would leave its snapshot or printed accuracy ahead of the checkpoint.
final class UntilSignal: DistillationObserver {
    let observer: any DistillationObserver
    let signals: StopOnSignal

    init(_ observer: any DistillationObserver, signals: StopOnSignal) {
        self.observer = observer
        self.signals = signals
    }

    func started(_ distiller: Distiller, dataset: LoadedDataset) { observer.started(distiller, dataset: dataset) }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        guard signals.received == 0 else { return .proceed }
        return observer.stepped(record, distiller: distiller, history: history)
    }

    func finished(_ outcome: DistillationOutcome) { observer.finished(outcome) }
}
