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
/// periodic checkpoints), then measure and write the outputs and the checkpoint
/// as one set.
///
/// Use: `init` (loads and checks; creates nothing), any further checks of the
/// caller's, `createOutputFolder()`, observers that need the folder, then `run`.
public final class DistillationSession {
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
        /// The command line recorded in metrics.json.
        public var commandLine: String

        public init(configuration: DistillerConfiguration, data: String, dataOptions: DatasetOptions = DatasetOptions(),
                    out: String, checkpointEvery: Int = 50,
                    stopAfterStep: Int? = nil, resume: Checkpoint? = nil, baselines: Bool = false, commandLine: String = "") {
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
    /// Whether the output folder existed before (a folder made for a run that
    /// writes nothing is removed again).
    private var outExisted = true
    /// Stops the run on SIGINT or SIGTERM; `received` tells which came.
    public let signals: StopOnSignal

    /// Loads the dataset and builds the distiller (restoring the checkpoint when
    /// resuming). Creates nothing: bad input never leaves a folder behind.
    ///
    /// - Throws: `RunError`, one line naming the file or option.
    public init(_ request: Request, dataset: LoadedDataset? = nil) throws(RunError) {
        var request = request
        if let checkpoint = request.resume {
            request.configuration = checkpoint.manifest.configuration
            request.data = checkpoint.manifest.data
            request.dataOptions = checkpoint.manifest.dataOptions ?? DatasetOptions()
        }
        self.request = request
        let loaded: LoadedDataset
        if let dataset { loaded = dataset } else { loaded = try LoadedDataset(path: request.data, options: request.dataOptions) }
        let dataset = loaded
        self.dataset = dataset
        var distiller = try makeDistiller(dataset, configuration: request.configuration)
        var history: [StepRecord] = []
        if let checkpoint = request.resume {
            guard checkpoint.manifest.dataFiles == dataset.fileHashes else {
                throw RunError("\(request.data): the dataset files differ from the ones the checkpoint in \(Checkpoint.folder(in: request.out)) was made with (SHA-256 mismatch); resuming would not continue the same run")
            }
            do { try distiller.restore(checkpoint.state) } catch { throw RunError(error) }
            history = checkpoint.manifest.history
        }
        self.distiller = distiller
        self.history = history
        signals = StopOnSignal()
    }

    /// Creates the output folder (and its parents) once every input is checked.
    ///
    /// - Throws: `RunError` naming the folder when it cannot be created.
    public func createOutputFolder() throws(RunError) {
        outExisted = access(request.out, F_OK) == 0
        do { try OutputFile.createDirectory(request.out) } catch { throw RunError(error) }
    }

    /// What a finished (or stopped) run left.
    public struct Result: Sendable {
        public let outcome: DistillationOutcome
        /// The output files written (names in the folder).
        public let files: [String]
        /// Whether the run stopped before its last step (signal or stop-after).
        public var stoppedEarly: Bool { outcome.distiller.step < outcome.distiller.configuration.steps }
    }

    /// Runs the remaining steps with the guards and `observers`, then writes the
    /// outputs (`grid` draws distilled.png) and the checkpoint.
    ///
    /// - Throws: `RunError` when the run diverged (the outputs of the last good
    ///   step are written first) or an output cannot be written (the folder is
    ///   left as it was).
    public func run(observers: [any DistillationObserver],
                    grid: (Distiller) throws -> PNGImage) throws(RunError) -> Result {
        let out = request.out, data = request.data
        if access(out, F_OK) != 0 { try createOutputFolder() }
        let guardian = DivergenceGuard()
        let periodic = PeriodicCheckpoint(every: request.checkpointEvery, out: out, data: data, dataFiles: dataset.fileHashes,
                                          dataOptions: dataset.dataset.options)
        var all: [any DistillationObserver] = observers + [guardian, periodic, signals]
        if let stop = request.stopAfterStep { all.append(StopAfterStep(step: stop)) }
        let (final, fullHistory) = runSteps(distiller, dataset: dataset, history: history, observers: all)

        let outputs = RunOutputs(folder: out, shape: dataset.shape)
        if let failure = guardian.failure {
            // Keep the last good state's outputs; the last good checkpoint stays as it was.
            if let good = guardian.lastGood {
                let goodHistory = Array(fullHistory.prefix(good.step))
                do {
                    try outputs.write(measure(good, history: goodHistory, dataset: dataset, data: data,
                                              commandLine: request.commandLine), grid: try grid(good))
                } catch {
                    throw RunError("\(failure). The outputs of the last good step (\(good.step)) could not be written either: \(error)")
                }
                throw RunError("\(failure). The outputs in \(out) are from the last good step (\(good.step)).")
            }
            throw RunError("\(failure). No step was good, so nothing was written.")
        }
        if let error = periodic.error { throw RunError("cannot write the checkpoint in \(Checkpoint.folder(in: out)): \(error)") }
        var outcome = measure(final, history: fullHistory, dataset: dataset, data: data, commandLine: request.commandLine)
        if request.baselines { outcome.metrics.baselines = try baselines(dataset, configuration: final.configuration) }
        do {
            try outputs.write(outcome, grid: try grid(final))
            try Checkpoint.write(final, history: fullHistory, data: data, dataFiles: dataset.fileHashes,
                                 dataOptions: dataset.dataset.options, to: out)
        } catch {
            // The outputs are written as a set or not at all: a folder made for them is empty.
            if !outExisted { rmdir(out) }
            throw RunError(error)
        }
        for observer in all { observer.finished(outcome) }
        return Result(outcome: outcome, files: outputs.files)
    }
}
