import Testing
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
