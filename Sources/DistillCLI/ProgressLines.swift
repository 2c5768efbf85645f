import Distill
import DistillRun

/// Plain progress lines: one at the start, about ten during the run, and a
/// warning whenever a solve misses its tolerance. A step's line gives the loss
/// and accuracy it started from, before its update ("train loss before the
/// step"); the test accuracy lines and the summary measure the set after it.
final class ProgressLines: DistillationObserver {
    let log: (String) -> Void

    init(log: @escaping (String) -> Void) { self.log = log }

    func started(_ distiller: Distiller, dataset: LoadedDataset) {
        log(startLine(distiller, dataset: dataset))
    }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        let steps = distiller.configuration.steps
        if record.step % max(1, steps / 10) == 0 || record.step == 1 {
            // With --batch, the step's loss and accuracy are its batch's. Both are those the
            // step started from, before its update (the summary's are the final set's).
            let loss = distiller.configuration.batch == nil ? "train loss" : "batch loss"
            log("step \(record.step)/\(steps)  \(loss) before the step \(format(record.trainLoss, 4))  accuracy \(format(100 * record.trainAccuracy, 2))%  inner \(record.innerIterations) it, |F| \(scientific(record.innerGradientNorm))  linear solve \(record.linearSolveIterations) it, residual \(scientific(record.linearSolveResidual))")
        }
        if let warning = toleranceWarning(record) { printError(warning) }
        return .proceed
    }
}
