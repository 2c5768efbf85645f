import Distill
import DistillDatasets
import DistillIO
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The signal that asked the run to stop (SIGINT or SIGTERM), or 0.
let stopSignal = Atomic<Int32>(0)
/// Whether a checkpoint writer waits for the first signal (see `StopOnSignal`).
let signalWriterReady = Atomic<Bool>(false)
/// Whether the first signal's work was handed to the writer thread (once: by the
/// handler, or by `writeOnFirstSignal` for a signal that came before it).
let signalWorkPosted = Atomic<Bool>(false)
/// Whether the first signal's handler has registered its checkpoint work: a
/// second signal, which may arrive on another thread while the first handler
/// still runs, waits for it (else it could end the process before that work
/// was registered, leaving no checkpoint).
let firstSignalHandled = Atomic<Bool>(false)

/// Posted by the signal handler on the first signal (`sem_post` is async-signal-safe).
nonisolated(unsafe) let signalSemaphore: UnsafeMutablePointer<sem_t> = {
    let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    sem_init(semaphore, 0, 0)
    return semaphore
}()

/// The bytes of `text`, in a buffer the signal handler may read (never freed:
/// a handler may still be reading a replaced one).
func signalLineBuffer(_ text: String) -> UnsafeMutableBufferPointer<UInt8> {
    let bytes = Array(text.utf8)
    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bytes.count)
    _ = buffer.initialize(from: bytes)
    return buffer
}

/// Whether a progress line is drawn on the terminal without its newline, with
/// standard error on a terminal too (`OpenProgressLine`): the signal handler then
/// ends that line before writing its own, so that its line does not glue onto it.
let progressLineOpen = Atomic<Bool>(false)

/// A newline, prepared for the signal handler.
nonisolated(unsafe) let newlineBytes = signalLineBuffer("\n")

/// Writes `bytes` on standard error from the signal handler (async-signal-safe:
/// an atomic exchange and write(2)), after a newline that ends an open progress
/// line (`OpenProgressLine`).
func writeSignalLine(_ bytes: UnsafeMutableBufferPointer<UInt8>, to fd: Int32 = 2) {
    if progressLineOpen.exchange(false, ordering: .sequentiallyConsistent) { _ = write(fd, newlineBytes.baseAddress, newlineBytes.count) }
    _ = write(fd, bytes.baseAddress, bytes.count)
}

/// The progress line a terminal shows while it is redrawn in place (`\r`, no
/// newline): marked open while drawn, so that the line a signal handler writes
/// (the stop's acknowledgement, the second signal's line) starts on a line of
/// its own; the next redraw then starts below that line.
public enum OpenProgressLine {
    /// Marks the line open; call before drawing it.
    public static func opened() { progressLineOpen.store(true, ordering: .sequentiallyConsistent) }

    /// Marks the line closed; returns whether it was open (false: a signal's line
    /// already ended it, so no newline is needed).
    @discardableResult
    public static func close() -> Bool { progressLineOpen.exchange(false, ordering: .sequentiallyConsistent) }
}

/// `StopOnSignal.closedOutputAcknowledgement`, prepared once.
nonisolated(unsafe) let closedOutputBytes = signalLineBuffer(StopOnSignal.closedOutputAcknowledgement)

/// The acknowledgement of the steps' phase, prepared once.
nonisolated(unsafe) let stepAcknowledgementBytes = signalLineBuffer(StopOnSignal.acknowledgement)

/// The acknowledgement written from the handler, prepared beforehand (the handler
/// only calls write(2)): `stepAcknowledgementBytes`, or the line of a phase after
/// the steps (`StopOnSignal.afterSteps`).
nonisolated(unsafe) var acknowledgementBytes: UnsafeMutableBufferPointer<UInt8> = stepAcknowledgementBytes

/// Written from the handler on the second signal, prepared beforehand by
/// `StopOnSignal.writeOnFirstSignal(folder:_:)` (the handler only calls write(2)).
nonisolated(unsafe) var secondSignalBytes: UnsafeMutableBufferPointer<UInt8>? = nil

/// What the checkpoint writer thread does when the first signal comes, and the
/// `StopOnSignal` that set it (its `ObjectIdentifier`): set by the live one, nil
/// when none is live.
let signalCheckpointJob = Mutex<(owner: ObjectIdentifier, job: @Sendable () -> Void)?>(nil)

/// Starts, once per process, the thread that writes the outputs and checkpoint
/// of the last finished step when the first signal comes (so that a second
/// signal, which ends the process at once, still leaves them).
let signalCheckpointThread: Void = {
    let thread = Thread {
        while true {
            while sem_wait(signalSemaphore) != 0 {}
            let job = signalCheckpointJob.withLock { $0?.job }
            job?()
            ExitDeferral.endPending()
        }
    }
    thread.name = "distill-signal-checkpoint"
    thread.start()
}()

/// The last finished state of a run and its history, shared with the checkpoint thread.
final class LatestState: Sendable {
    let value = Mutex<(Distiller, [StepRecord])?>(nil)
}

/// Turns SIGINT and SIGTERM into a request to stop after the current step,
/// so that the run can save a checkpoint and its outputs before exiting; a
/// closed standard output (`ClosedOutput`) stops it the same way, as SIGPIPE.
///
/// The first signal is acknowledged at once on standard error ("stopping
/// after this step...") and the outputs and checkpoint of the last finished
/// step are written on another thread (`writeOnFirstSignal`), as one set. A
/// second signal ends the process with status 128 + the signal as soon as
/// that set and any set of files being written are complete (`ExitDeferral`):
/// the folder always holds whole files, and every output of the last checkpoint.
/// A SIGINT ignored at the process's start stays ignored (`interruptIgnoredAtStart`);
/// before a session exists, `SignalsBeforeRun` handles the signals.
public final class StopOnSignal: DistillationObserver, @unchecked Sendable {
    /// Written to standard error when a second signal ends the run at once.
    public static func secondAcknowledgement(folder: String) -> String {
        "stopping now; \(folder) keeps the outputs and checkpoint of the last finished step: continue with: distill run --resume \(folder)\n"
    }

    /// Written to standard error when standard output is found closed (`ClosedOutput`).
    public static let closedOutputAcknowledgement = "standard output was closed (a broken pipe): stopping after this step, then writing the outputs and a checkpoint...\n"

    /// Written to standard error when the first signal arrives.
    public static let acknowledgement = "stopping after this step, then writing the outputs and a checkpoint... (a second Ctrl-C or SIGTERM stops sooner, keeping those of the last finished step)\n"

    /// The last finished state and its history, for the checkpoint at the first signal.
    private let latest = LatestState()
    /// Whether this instance installed the checkpoint job.
    private var writesCheckpoint = false

    public init() {
        stopSignal.store(0, ordering: .sequentiallyConsistent)
        firstSignalHandled.store(false, ordering: .sequentiallyConsistent)
        signalWorkPosted.store(false, ordering: .sequentiallyConsistent)
        acknowledgementBytes = stepAcknowledgementBytes
        _ = signalSemaphore
        _ = newlineBytes
        OpenProgressLine.close()
        // Replaces `SignalsBeforeRun`'s handler; a SIGINT ignored at the process's
        // start stays ignored (`interruptIgnoredAtStart`).
        installStopHandler { received in
            if stopSignal.compareExchange(expected: 0, desired: received, ordering: .sequentiallyConsistent).exchanged {
                if signalWriterReady.load(ordering: .sequentiallyConsistent) { postSignalWork() }
                firstSignalHandled.store(true, ordering: .sequentiallyConsistent)
                writeSignalLine(acknowledgementBytes)
            } else {
                while !firstSignalHandled.load(ordering: .sequentiallyConsistent) {}
                if let bytes = secondSignalBytes { writeSignalLine(bytes) }
                ExitDeferral.exitNowOrAfterWrites(status: 128 + received)
            }
        }
    }

    /// Saves the last finished step with `write` (its outputs and checkpoint)
    /// when the first signal comes, on another thread while the current step
    /// finishes; at once if the signal came before this call.
    ///
    /// A second signal then prints that the run stops and how to continue it
    /// from `folder`, and ends the process once `write` is done.
    public func writeOnFirstSignal(folder: String, _ write: @escaping @Sendable (Distiller, [StepRecord]) -> Void) {
        _ = signalCheckpointThread
        // A new buffer for each folder (a sweep's sizes each have one); an earlier
        // one is not freed, since a handler may still be reading it.
        secondSignalBytes = signalLineBuffer(Self.secondAcknowledgement(folder: folder))
        let latest = self.latest, owner = ObjectIdentifier(self)
        let job: @Sendable () -> Void = {
            if let (distiller, history) = latest.value.withLock({ $0 }) { write(distiller, history) }
        }
        let replaced = signalCheckpointJob.withLock { current in
            defer { current = (owner, job) }
            return current
        }
        // Released outside the lock: what an earlier job holds may take it as it ends.
        withExtendedLifetime(replaced) {}
        writesCheckpoint = true
        signalWriterReady.store(true, ordering: .sequentiallyConsistent)
        // A signal that came before the writer was ready.
        if received != 0 { postSignalWork() }
    }

    /// Switches to a phase after the steps, whose outputs are written (a sweep's
    /// baselines of a size): a first signal writes no checkpoint and is
    /// acknowledged with `acknowledgement` (the caller checks `received` where
    /// the phase can stop); a second one writes `second` and ends the process
    /// with status 128 + the signal once any set of files being written is
    /// complete. Both texts end with a newline.
    public func afterSteps(acknowledgement: String, second: String) {
        signalWriterReady.store(false, ordering: .sequentiallyConsistent)
        secondSignalBytes = signalLineBuffer(second)
        acknowledgementBytes = signalLineBuffer(acknowledgement)
    }

    /// Switches to the baselines of a run whose steps are done (`run --baselines`):
    /// the first signal is acknowledged with `acknowledgement` and still writes the
    /// set of the last finished step at once (without the baselines); the caller
    /// asks `received` between and within the baselines. A second one writes
    /// `second` and ends the process with status 128 + the signal once that set
    /// is complete. Both texts end with a newline.
    public func duringBaselines(acknowledgement: String, second: String) {
        secondSignalBytes = signalLineBuffer(second)
        acknowledgementBytes = signalLineBuffer(acknowledgement)
    }

    deinit {
        restoreStartingSignalDispositions()
        if writesCheckpoint {
            signalWriterReady.store(false, ordering: .sequentiallyConsistent)
            let owner = ObjectIdentifier(self)
            let removed = signalCheckpointJob.withLock { current in
                guard current?.owner == owner else { return nil as (owner: ObjectIdentifier, job: @Sendable () -> Void)? }
                defer { current = nil }
                return current
            }
            withExtendedLifetime(removed) {}
        }
    }

    public var received: Int32 { stopSignal.load(ordering: .sequentiallyConsistent) }

    /// Records the state a first signal checkpoints until a step finishes: the
    /// starting state, or a resumed run's state and its history (so that a
    /// signal that comes before the first step ends still leaves a checkpoint).
    public func seed(_ distiller: Distiller, history: [StepRecord]) {
        latest.value.withLock { $0 = (distiller, history) }
    }

    public func started(_ distiller: Distiller, dataset: LoadedDataset) {
        latest.value.withLock { $0 = (distiller, $0?.1 ?? []) }
    }

    /// Records the state a step reached, unless it is unusable (a non-finite
    /// image or label, an L2 strength out of bounds: `DivergenceGuard.isUsable`),
    /// whose outputs must not be written; the divergence guard then stops the run.
    public func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        if DivergenceGuard.isUsable(distiller) { latest.value.withLock { $0 = (distiller, history) } }
        if received == 0, ClosedOutput.failed { stopForClosedOutput() }
        return received != 0 ? .stop : .proceed
    }

    /// Stops the run as a first SIGPIPE would (`received` is SIGPIPE): standard
    /// output was closed, so the progress has no reader; the outputs and a
    /// checkpoint are written as for SIGTERM, and a second signal still ends the
    /// process at once. Does nothing when a signal came first.
    func stopForClosedOutput() {
        guard stopSignal.compareExchange(expected: 0, desired: SIGPIPE, ordering: .sequentiallyConsistent).exchanged else { return }
        if signalWriterReady.load(ordering: .sequentiallyConsistent) { postSignalWork() }
        firstSignalHandled.store(true, ordering: .sequentiallyConsistent)
        writeSignalLine(closedOutputBytes)
    }
}

/// Hands the first signal's work to the writer thread, once (async-signal-safe:
/// atomics and `sem_post`); an exit waits for it (`ExitDeferral`).
func postSignalWork() {
    guard signalWorkPosted.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged else { return }
    ExitDeferral.beginPending()
    sem_post(signalSemaphore)
}

/// Stops the run when it goes wrong, and keeps the last good state.
///
/// A step's record measures the state the step started from (its loss,
/// inner solve and linear solve are those of that state), so a state is
/// certified by the record of the step after it. The last good state is the
/// last one whose own record has a finite loss and gradient norms, whose
/// inner solve and linear solve met their tolerances, and whose images,
/// labels and L2 strength are usable (`isUsable`: finite, the L2 strength
/// positive, normal and at most `Distiller.largestUsableL2`).
///
/// The run is stopped by a step that produces a non-finite loss, gradient,
/// image, label or L2 strength, an L2 strength beyond
/// `Distiller.largestUsableL2` (a degenerate inner problem), or by solves that miss their tolerance
/// `maximumConsecutiveMisses` steps in a row (following a wrong gradient is
/// worse than stopping).
public final class DivergenceGuard: DistillationObserver {
    public let maximumConsecutiveMisses: Int
    public private(set) var consecutiveMisses = 0
    /// Why the run was stopped, if it was.
    public private(set) var failure: String?
    /// The last certified state (see the type's description); nil when no
    /// state of this process was certified.
    public private(set) var lastGood: Distiller?
    /// The state the latest step started from, not yet certified.
    private var previous: Distiller?

    public init(maximumConsecutiveMisses: Int = 5) {
        self.maximumConsecutiveMisses = maximumConsecutiveMisses
    }

    public func started(_ distiller: Distiller, dataset: LoadedDataset) {
        previous = Self.isUsable(distiller) ? distiller : nil
    }

    /// Whether `distiller`'s images, labels and L2 strength are usable: finite,
    /// and the L2 strength positive and normal (an L2 of 0 or a subnormal one
    /// leaves the inner problem without its strong convexity) and at most
    /// `distiller.largestUsableL2` (beyond it the inner model predicts a constant).
    public static func isUsable(_ distiller: Distiller) -> Bool {
        isUsableL2(distiller) && distiller.images.values.allSatisfy(\.isFinite) && distiller.labels.values.allSatisfy(\.isFinite)
    }

    static func isUsableL2(_ distiller: Distiller) -> Bool {
        distiller.l2.isFinite && distiller.l2 >= Double.leastNormalMagnitude && distiller.l2 <= distiller.largestUsableL2
    }

    /// Why an L2 strength within the normal numbers is not usable: `l2` is more
    /// than `largestUsableL2` (`l2Scale / ε`, ε = Float32's precision). The sentence the guard and the
    /// up-front check of `--l2` share.
    public static func degenerateL2Text(_ l2: Double, distiller: Distiller) -> String {
        let scale = distiller.model.l2Scale(images: distiller.images)
        return "an L2 strength of \(scientificText(l2)), more than \(scientificText(distiller.largestUsableL2)) (the \(distiller.model.name) inner problem's data scale \(scientificText(scale)) over Float32's precision 1.2e-7, the outer pass's), at which the inner model gives every image the same scores"
    }

    /// What is wrong after a step, and the option to change.
    static func fault(_ record: StepRecord, distiller: Distiller) -> String {
        let l2 = distiller.l2
        if !(record.trainLoss.isFinite && record.objective.isFinite) {
            return "a non-finite training loss (\(NumberText.shortest(record.trainLoss))); try a smaller --learning-rate"
        }
        if !(record.innerGradientNorm.isFinite && record.linearSolveResidual.isFinite) {
            return "a non-finite gradient (inner |F| \(NumberText.shortest(record.innerGradientNorm)), linear solve residual \(NumberText.shortest(record.linearSolveResidual))); try a smaller --learning-rate"
        }
        if !(l2.isFinite && l2 >= Double.leastNormalMagnitude) {
            return "an L2 strength of \(NumberText.shortest(l2)), outside the positive normal numbers the inner problem needs; try a smaller --l2-learning-rate"
        }
        if !isUsableL2(distiller) {
            return degenerateL2Text(l2, distiller: distiller) + "; try a smaller --l2-learning-rate"
        }
        if !distiller.images.values.allSatisfy(\.isFinite) {
            return "a non-finite pixel; try a smaller --learning-rate"
        }
        return "a non-finite label; try a smaller --label-learning-rate"
    }

    /// Whether `record` certifies the state its step started from.
    public static func certifies(_ record: StepRecord) -> Bool {
        record.trainLoss.isFinite && record.objective.isFinite && record.innerGradientNorm.isFinite
            && record.linearSolveResidual.isFinite && record.innerConverged && record.linearSolveConverged
    }

    public func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        if Self.certifies(record), let previous, previous.step == record.step - 1 { lastGood = previous }
        let finiteRecord = record.trainLoss.isFinite && record.objective.isFinite && record.innerGradientNorm.isFinite
            && record.linearSolveResidual.isFinite
        if !finiteRecord || !Self.isUsable(distiller) {
            failure = "step \(record.step) produced " + Self.fault(record, distiller: distiller)
            previous = nil
            return .stop
        }
        consecutiveMisses = (record.innerConverged && record.linearSolveConverged) ? 0 : consecutiveMisses + 1
        previous = distiller
        if consecutiveMisses >= maximumConsecutiveMisses {
            failure = "the inner solve or the linear solve missed its tolerance \(consecutiveMisses) steps in a row (last: inner |F| = \(scientificText(record.innerGradientNorm)), linear solve residual \(scientificText(record.linearSolveResidual))); stopping rather than following a wrong gradient. Try a larger --l2, a smaller --learning-rate or looser tolerances"
            return .stop
        }
        return .proceed
    }
}

/// Writes a checkpoint every `every` steps, until a signal asks the run to stop:
/// then the set the signal asks for (the outputs and checkpoint of the last
/// finished step) and the run's final set are the only ones written, so that
/// the checkpoint a second signal leaves is the one its outputs belong to.
public final class PeriodicCheckpoint: DistillationObserver {
    public let every: Int
    public let out: String
    public let data: String
    public let dataFiles: [String: String]
    /// The dataset's loading options, recorded for `--resume`.
    public let dataOptions: DatasetOptions
    /// The command's options the run keeps (`Checkpoint.Manifest.recordedOptions`).
    public let recordedOptions: [String: String]
    /// The commands that made the run (`Checkpoint.Manifest.commandLine`, `resumedWith`).
    public let commands: RunCommands?
    /// The first error writing a checkpoint (the run stops; the error is reported).
    public private(set) var error: (any Error)?

    public init(every: Int, out: String, data: String, dataFiles: [String: String], dataOptions: DatasetOptions = DatasetOptions(),
                recordedOptions: [String: String] = [:], commands: RunCommands? = nil) {
        self.recordedOptions = recordedOptions
        self.commands = commands
        self.every = every
        self.out = out
        self.data = data
        self.dataFiles = dataFiles
        self.dataOptions = dataOptions
    }

    public func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        guard every > 0, record.step % every == 0, stopSignal.load(ordering: .sequentiallyConsistent) == 0 else { return .proceed }
        do {
            try Checkpoint.write(distiller, history: history, data: data, dataFiles: dataFiles, dataOptions: dataOptions,
                                 recordedOptions: recordedOptions, commands: commands, to: out)
        } catch {
            writeErrorLine("error: cannot write the checkpoint: \(error)")
            self.error = error
            return .stop
        }
        return .proceed
    }
}

/// Stops after a given step (to split a run into sessions; see `--resume`).
public final class StopAfterStep: DistillationObserver {
    public let step: Int

    public init(step: Int) { self.step = step }

    public func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        record.step >= step ? .stop : .proceed
    }
}
