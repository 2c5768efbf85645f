import Distill
import DistillDatasets
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The signal that asked the run to stop (SIGINT or SIGTERM), or 0.
let stopSignal = Atomic<Int32>(0)

/// Turns SIGINT and SIGTERM into a request to stop after the current step,
/// so that the run can save a checkpoint and its outputs before exiting.
/// A second signal of the same kind ends the process at once.
public final class StopOnSignal: DistillationObserver {
    public init() {
        stopSignal.store(0, ordering: .relaxed)
        // A parent may have blocked them (the mask survives exec); a blocked
        // signal would never reach the handler.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { received in
                if stopSignal.exchange(received, ordering: .relaxed) != 0 {
                    signal(received, SIG_DFL)
                    raise(received)
                }
            }
        }
    }

    deinit {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    public var received: Int32 { stopSignal.load(ordering: .relaxed) }

    public func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        received != 0 ? .stop : .proceed
    }
}

/// Stops the run when it goes wrong: a non-finite loss, gradient or image
/// (the state before that step is kept as the last good one), or solves that
/// keep missing their tolerance (following a wrong gradient is worse than stopping).
public final class DivergenceGuard: DistillationObserver {
    public let maximumConsecutiveMisses: Int
    public private(set) var consecutiveMisses = 0
    /// Why the run was stopped, if it was.
    public private(set) var failure: String?
    /// The distiller before the step that went wrong.
    public private(set) var lastGood: Distiller?
    private var previous: Distiller?

    public init(maximumConsecutiveMisses: Int = 5) {
        self.maximumConsecutiveMisses = maximumConsecutiveMisses
    }

    public func started(_ distiller: Distiller, dataset: LoadedDataset) {
        previous = distiller
    }

    public func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        let finite = record.trainLoss.isFinite && record.innerGradientNorm.isFinite && record.linearSolveResidual.isFinite
            && distiller.images.values.allSatisfy(\.isFinite) && distiller.labels.values.allSatisfy(\.isFinite) && distiller.l2.isFinite
        if !finite {
            failure = "step \(record.step) produced a non-finite loss, gradient or image (train loss \(record.trainLoss)); try a smaller --learning-rate"
            lastGood = previous
            return .stop
        }
        consecutiveMisses = (record.innerConverged && record.linearSolveConverged) ? 0 : consecutiveMisses + 1
        if consecutiveMisses >= maximumConsecutiveMisses {
            failure = "the inner solve or the linear solve missed its tolerance \(consecutiveMisses) steps in a row (last: inner |F| = \(scientificText(record.innerGradientNorm)), linear solve residual \(scientificText(record.linearSolveResidual))); stopping rather than following a wrong gradient. Try a larger --l2 or looser tolerances"
            lastGood = distiller
            return .stop
        }
        previous = distiller
        return .proceed
    }
}

/// Writes a checkpoint every `every` steps.
public final class PeriodicCheckpoint: DistillationObserver {
    public let every: Int
    public let out: String
    public let data: String
    public let dataFiles: [String: String]
    /// The dataset's loading options, recorded for `--resume`.
    public let dataOptions: DatasetOptions
    /// The first error writing a checkpoint (the run stops; the error is reported).
    public private(set) var error: (any Error)?

    public init(every: Int, out: String, data: String, dataFiles: [String: String], dataOptions: DatasetOptions = DatasetOptions()) {
        self.every = every
        self.out = out
        self.data = data
        self.dataFiles = dataFiles
        self.dataOptions = dataOptions
    }

    public func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        guard every > 0, record.step % every == 0 else { return .proceed }
        do {
            try Checkpoint.write(distiller, history: history, data: data, dataFiles: dataFiles, dataOptions: dataOptions, to: out)
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
