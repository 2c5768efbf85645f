import Distill
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The signal that asked the run to stop (SIGINT or SIGTERM), or 0.
let stopSignal = Atomic<Int32>(0)

/// Turns SIGINT and SIGTERM into a request to stop after the current step,
/// so that the run can save a checkpoint and its outputs before exiting.
/// A second signal of the same kind ends the process at once.
final class StopOnSignal: DistillationObserver {
    init() {
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

    var received: Int32 { stopSignal.load(ordering: .relaxed) }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        received != 0 ? .stop : .proceed
    }
}

/// Stops the run when it goes wrong: a non-finite loss, gradient or image
/// (the state before that step is kept as the last good one), or solves that
/// keep missing their tolerance (following a wrong gradient is worse than stopping).
final class DivergenceGuard: DistillationObserver {
    let maximumConsecutiveMisses: Int
    private(set) var consecutiveMisses = 0
    /// Why the run was stopped, if it was.
    private(set) var failure: String?
    /// The distiller before the step that went wrong.
    private(set) var lastGood: Distiller?
    private var previous: Distiller?

    init(maximumConsecutiveMisses: Int = 5) {
        self.maximumConsecutiveMisses = maximumConsecutiveMisses
    }

    func started(_ distiller: Distiller, dataset: LoadedDataset) {
        previous = distiller
    }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        let finite = record.trainLoss.isFinite && record.innerGradientNorm.isFinite && record.cgResidual.isFinite
            && distiller.images.values.allSatisfy(\.isFinite) && distiller.labels.values.allSatisfy(\.isFinite) && distiller.l2.isFinite
        if !finite {
            failure = "step \(record.step) produced a non-finite loss, gradient or image (train loss \(record.trainLoss)); try a smaller --learning-rate"
            lastGood = previous
            return .stop
        }
        consecutiveMisses = (record.innerConverged && record.cgConverged) ? 0 : consecutiveMisses + 1
        if consecutiveMisses >= maximumConsecutiveMisses {
            failure = "the inner or CG solve missed its tolerance \(consecutiveMisses) steps in a row (last: inner |F| = \(scientific(record.innerGradientNorm)), CG residual \(scientific(record.cgResidual))); stopping rather than following a wrong gradient. Try a larger --l2 or looser tolerances"
            lastGood = distiller
            return .stop
        }
        previous = distiller
        return .proceed
    }
}

/// Writes a checkpoint every `every` steps.
final class PeriodicCheckpoint: DistillationObserver {
    let every: Int
    let out: String
    let data: String
    let dataFiles: [String: String]
    /// The first error writing a checkpoint (the run goes on; the error is reported).
    private(set) var error: (any Error)?

    init(every: Int, out: String, data: String, dataFiles: [String: String]) {
        self.every = every
        self.out = out
        self.data = data
        self.dataFiles = dataFiles
    }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        guard every > 0, record.step % every == 0 else { return .proceed }
        do {
            try Checkpoint.write(distiller, history: history, data: data, dataFiles: dataFiles, to: out)
        } catch {
            printError("error: cannot write the checkpoint: \(error)")
            self.error = error
            return .stop
        }
        return .proceed
    }
}

/// Stops after a given step (to split a run into sessions; see `--resume`).
final class StopAfterStep: DistillationObserver {
    let step: Int

    init(step: Int) { self.step = step }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        record.step >= step ? .stop : .proceed
    }
}
