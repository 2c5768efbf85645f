import Testing
@testable import Distill
import DistillRun
@testable import DistillCLI

/// A finished progress line has no ETA ("ETA 0.0 ms" was shown at the last step).
@Suite struct FinishedProgressLineTests {
    @Test func theLastStepShowsNoETA() {
        let last = ProgressFields(step: 300, steps: 300, elapsed: 12.5, eta: 0, loss: 0.6292, innerIterations: 4, test: (0.8809, 300))
        #expect(!last.line(width: 200).contains("ETA"), "\(last.line(width: 200))")
        let before = ProgressFields(step: 299, steps: 300, elapsed: 12.5, eta: 0.04, loss: 0.6292, innerIterations: 4, test: (0.8809, 299))
        #expect(before.line(width: 200).contains("ETA 40.0 ms"), "\(before.line(width: 200))")
    }
}

/// The bar keeps its width to the end: the last line, which has no ETA, used to
/// widen it (12 characters in a 300-step run at 80 columns, 14 in a 60-step run)
/// and to bring back the inner iterations.
@Suite struct ProgressBarWidthTests {
    private func record(_ step: Int) -> StepRecord {
        StepRecord(step: step, trainLoss: 0.2785, objective: 0.2785, l2: 0.1, trainAccuracy: 0.9, innerIterations: 0,
                   innerGradientNorm: 1e-7, innerConverged: true, linearSolveIterations: 9, linearSolveResidual: 1e-9,
                   linearSolveConverged: true, seconds: 0.02)
    }

    /// The bar's width in `line` (0: no bar).
    private func barWidth(_ line: String) -> Int {
        line.split(separator: " ").first { $0.hasPrefix("[") }.map(\.count) ?? 0
    }

    @Test(arguments: [40, 60, 70, 80, 100, 120])
    func theBarNeverGrowsBackUpToTheLastStep(columns: Int) {
        for steps in [1, 2, 3, 7, 10, 11, 30, 60, 99, 100, 101, 300, 600, 999, 1000, 5000, 100_000] {
            let live = LiveProgressLine(write: { _ in }, now: { 0 }, columns: columns)
            var widths: [Int] = [], lines: [String] = []
            for step in 1...steps where step == 1 || step == steps || step % max(1, steps / 50) == 0 {
                // 0.02 s a step, the ETA shrinking to nothing at the last step.
                let line = live.line(record(step), steps: steps, elapsed: 0.02 * Double(step))
                #expect(line.count <= columns - 1)
                widths.append(barWidth(line))
                lines.append(line)
            }
            for (before, after) in zip(widths, widths.dropFirst()) where before > 0 {
                #expect(after == 0 || after <= before, "\(steps) steps at \(columns) columns: \(lines)")
            }
            // The last line shows no field the one before it had dropped.
            if lines.count >= 2, !lines[lines.count - 2].contains("inner") { #expect(!lines.last!.contains("inner"), "\(lines.suffix(2))") }
        }
    }
}
