import DistillIO
import DistillNumerics
import DistillRun
import Foundation
import Testing
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// Signals during a sweep's baselines, after a size's run finished, through the
/// real `distill` executable: the sweep stops before the next baseline (never
/// starting the ceiling or a later size), acknowledges it in words true of that
/// phase, and a second signal never suggests resuming the finished run.
@Suite struct SweepSignalTests {
    /// 12,000 noise images of 28x28 in 3 classes: the logistic ceiling on them
    /// (L-BFGS on all of them) keeps the baselines going for a while after their
    /// announcement, so that a signal sent when it appears comes during them.
    static func writeLargerDataset(_ data: DataFolder) throws {
        try FileManager.default.createDirectory(atPath: data.path, withIntermediateDirectories: true)
        var generator = SplitMix64(seed: 7)
        func pixels(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) } }
        let train = 12000, test = 600
        try data.write(IDXArray(shape: [train, 28, 28], elements: .ubyte(pixels(train * 784))), to: "train-images-idx3-ubyte")
        try data.write(IDXArray(shape: [train], elements: .ubyte((0..<train).map { UInt8($0 % 3) })), to: "train-labels-idx1-ubyte")
        try data.write(IDXArray(shape: [test, 28, 28], elements: .ubyte(pixels(test * 784))), to: "t10k-images-idx3-ubyte")
        try data.write(IDXArray(shape: [test], elements: .ubyte((0..<test).map { UInt8($0 % 3) })), to: "t10k-labels-idx1-ubyte")
    }

    /// Writes the larger dataset into `scratch`, starts `distill sweep --images-per-class 1,2`
    /// on it into `out` (`<scratch>/sweep`) and waits for the first size's baselines to be announced.
    static func sweepInItsBaselines(_ scratch: ScratchFolder) throws -> (run: RunFaultTests.LiveRun, out: String) {
        let data = DataFolder(scratch: scratch.path)
        try writeLargerDataset(data)
        let out = scratch.path + "/sweep"
        let run = try RunFaultTests.LiveRun(["--data", data.path, "--out", out, "--images-per-class", "1,2",
                                             "--steps", "2"], command: "sweep")
        while let line = run.line(from: run.output) {
            if line.hasPrefix("Training the baselines of this size and the ceiling") { break }
        }
        return (run, out)
    }

    /// One signal: status 143, an acknowledgement that names this phase (not
    /// "after this step"), no ceiling line, no later size, and the account of
    /// what is complete and what is not.
    @Test func aSignalDuringTheBaselinesStopsBeforeTheNextOne() throws {
        let scratch = try ScratchFolder(#function)
        defer { scratch.cleanUp() }
        let (run, out) = try Self.sweepInItsBaselines(scratch)
        #expect(run.process.isRunning)
        kill(run.process.processIdentifier, SIGTERM)
        let end = run.finish()
        #expect(end.status == 143, "\(end.stdout)\(end.stderr)")
        #expect(end.stderr.contains("stopping once the baseline being trained ends (a ceiling: at its next L-BFGS iteration or next block of its kernel matrix, Cholesky factorisation or evaluation); 1 per class's run is complete in \(out)/ipc-1, its baselines will not be recorded... (a second Ctrl-C or SIGTERM stops at once)\n"), "\(end.stderr)")
        #expect(!end.stderr.contains(StopOnSignal.acknowledgement))
        #expect(!end.stdout.contains("Ceiling:"), "\(end.stdout)")
        let lines = end.stdout.split(separator: "\n").map(String.init)
        let first = try #require(lines.suffix(4).first)
        #expect(try /^Stopped \(SIGTERM\) after the run of 1 per class finished \(2 steps, in .*\/ipc-1\) (during its baselines; they were not recorded \(not trained: [a-z ,]+\)|as its baselines ended; they were not recorded)\.$/.wholeMatch(in: first) != nil, "\(first)")
        #expect(Array(lines.suffix(3)) == [
            "Complete: 1 per class (\(out)/ipc-1).",
            "1 per class has no baselines; not run: 2 per class. A sweep does not resume; for them, run the same command with --images-per-class 1,2 and another --out.",
            "sweep.csv, sweep.md and \(SweepReport.chartFileName) were not written.",
        ], "\(end.stdout)")
        #expect(try RunFaultTests.metrics(out + "/ipc-1")["baselines"] == nil)
        #expect(!FileManager.default.fileExists(atPath: out + "/ipc-2") && !FileManager.default.fileExists(atPath: out + "/sweep.csv"))
    }

    /// Two signals: the process ends at once with the second's status, says what
    /// is complete and what to do for the rest, and never suggests
    /// `distill run --resume` for the finished run (it would be refused).
    @Test func aSecondSignalDuringTheBaselinesGivesAdviceThatWorks() throws {
        let scratch = try ScratchFolder(#function)
        defer { scratch.cleanUp() }
        let (run, out) = try Self.sweepInItsBaselines(scratch)
        // Two different signals, which the kernel does not merge into one.
        kill(run.process.processIdentifier, SIGTERM)
        kill(run.process.processIdentifier, SIGINT)
        let end = run.finish()
        #expect(end.status == 130, "\(end.stdout)\(end.stderr)")
        #expect(end.stderr.hasSuffix("""
            stopping now; 1 per class's run is complete in \(out)/ipc-1, its baselines were not recorded.
            Complete: 1 per class (\(out)/ipc-1).
            1 per class has no baselines; not run: 2 per class. A sweep does not resume; for them, run the same command with --images-per-class 1,2 and another --out.
            sweep.csv, sweep.md and \(SweepReport.chartFileName) were not written.

            """), "\(end.stderr)")
        #expect(!end.stderr.contains("--resume") && !end.stdout.contains("--resume"), "\(end.stdout)\(end.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/ipc-2"))
    }
}
