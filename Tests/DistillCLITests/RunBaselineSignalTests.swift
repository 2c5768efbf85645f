import DistillRun
import Foundation
import Testing
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// Signals during `distill run --baselines`'s baselines, after its last step,
/// through the real `distill` executable: the baselines stop (the one being
/// trained at its next check), the run's outputs and checkpoint are written
/// without them, and the process ends with the usual one line and status.
/// (They used to run to their end, minutes for a kernel ceiling, unannounced.)
@Suite struct RunBaselineSignalTests {
    /// Starts `distill run --baselines --steps 2` on `SweepSignalTests`' larger
    /// dataset into `<scratch>/out`, waits for the baselines' announcement, sends
    /// `signals` and hands the ended process's status and output, and `out`, to `check`.
    static func signalInItsBaselines(_ name: String, _ signals: [Int32],
                                     check: ((status: Int32?, stdout: String, stderr: String), String, [String]) throws -> Void) throws {
        let scratch = try ScratchFolder(name)
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try SweepSignalTests.writeLargerDataset(data)
        let out = scratch.path + "/out"
        let arguments = ["--data", data.path, "--out", out, "--steps", "2", "--baselines"]
        let run = try RunFaultTests.LiveRun(arguments)
        var announced = false
        while let line = run.line(from: run.output) {
            if line.hasPrefix("Training the baselines and the ceiling (logistic on all the training data") { announced = true; break }
        }
        #expect(announced)
        for signal in signals { kill(run.process.processIdentifier, signal) }
        try check(run.finish(), out, arguments)
    }

    @Test func aSignalDuringTheBaselinesStopsThemAndKeepsTheRun() throws {
        try Self.signalInItsBaselines(#function, [SIGTERM]) { end, out, arguments in
            #expect(end.status == 143, "\(end.stdout)\(end.stderr)")
            #expect(end.stderr.contains(DistillationSession.baselineAcknowledgement), "\(end.stderr)")
            #expect(!end.stderr.contains(StopOnSignal.acknowledgement))
            #expect(end.stdout.contains("Stopped (SIGTERM) after the run's last step (2), so its baselines were not recorded; the outputs and checkpoint in \(out) are the run's (to have the baselines, run the same command again with --replace, which also runs its steps again, or with another --out).\nDone: 2 steps"), "\(end.stdout)")
            #expect(!end.stdout.contains("--resume"), "\(end.stdout)")
            let metrics = try RunFaultTests.metrics(out)
            #expect(metrics["baselines"] == nil && metrics["steps"] as? Int == 2)
            // The advice works: the same command with --replace records the baselines
            // (the same command alone is refused: the folder holds a finished run).
            let again = try runDistill(arguments + ["--replace", "--quiet"])
            #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
            #expect(try RunFaultTests.metrics(out)["baselines"] != nil)
        }
    }

    /// Two signals: the process ends at once with the second's status, and does
    /// not suggest resuming the finished run (it would be refused).
    @Test func aSecondSignalDuringTheBaselinesEndsAtOnce() throws {
        // Two different signals, which the kernel does not merge into one.
        try Self.signalInItsBaselines(#function, [SIGTERM, SIGINT]) { end, out, _ in
            // The second signal's exit (130) races the run's own end after the first
            // (143): stopping the logistic ceiling at its next L-BFGS iteration is quick.
            #expect(end.status == 130 || end.status == 143, "\(end.stdout)\(end.stderr)")
            #expect(end.stderr.hasSuffix(DistillationSession.baselineSecondAcknowledgement(folder: out)), "\(end.stderr)")
            #expect(!end.stderr.contains("--resume") && !end.stdout.contains("--resume"), "\(end.stdout)\(end.stderr)")
        }
    }
}
