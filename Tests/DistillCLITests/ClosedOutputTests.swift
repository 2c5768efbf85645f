import DistillRun
import Foundation
import Testing
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// Standard output closed under a run (`distill run | head`): the process used
/// to die of SIGPIPE (status 141) silently, leaving a folder with only a
/// checkpoint and a lock. It now stops after the step as for SIGTERM: the
/// outputs and a checkpoint are written, the folder can be resumed, and
/// standard error says so.
@Suite struct ClosedOutputTests {
    /// Closes `run`'s standard output as `head` would, waits for it, and returns its
    /// standard error, having checked that it exited (not killed) with status 141 and
    /// acknowledged the closed output.
    static func closeOutputAndWait(_ run: RunFaultTests.LiveRun) throws -> String {
        try run.output.fileHandleForReading.close()
        let errors = run.errors.fileHandleForReading.readDataToEndOfFile()
        run.process.waitUntilExit()
        let stderr = String(decoding: errors, as: UTF8.self)
        #expect(run.process.terminationReason == .exit, "killed by a signal: \(stderr)")
        #expect(run.process.terminationStatus == 128 + SIGPIPE, "\(stderr)")
        #expect(stderr.contains(StopOnSignal.closedOutputAcknowledgement), "\(stderr)")
        return stderr
    }
    /// JSON lines: one a step, so the closed pipe is found at the next step.
    @Test func aClosedPipeStopsTheRunAfterItsStepAndKeepsItsOutputs() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let steps = "1000000"
        let run = try RunFaultTests.LiveRun(["--data", s.data.path, "--out", out, "--steps", steps, "--checkpoint-every", "0", "--log-format", "json"])
        // Read the opening line, then close the pipe as `head -1` would.
        let first = run.line(from: run.output)
        #expect(first?.hasPrefix("{") == true, "\(first ?? "nil")")
        let stderr = try Self.closeOutputAndWait(run)
        #expect(stderr.contains("Stopped (standard output closed) after step ") && stderr.contains("Continue with: distill run --resume \(out)"), "\(stderr)")
        let checkpoint = try Checkpoint.read(from: out)
        #expect(checkpoint.state.step >= 1 && checkpoint.state.step < Int(steps)!)
        #expect(try RunFaultTests.metrics(out)["steps"] as? Int == checkpoint.state.step)
        #expect(RunFaultTests.partialFiles(under: s.path).isEmpty)
    }

    /// `distill sweep | head -1`: the sweep stops during its first size as `run`
    /// does (status 141, the account on standard error), that size's folder keeps
    /// its outputs and checkpoint and resumes with `run --resume`, and no later
    /// size is run.
    @Test func aClosedPipeStopsTheSweepDuringASizeAndKeepsItsOutputs() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/sweep"
        // Plain lines at step 1 and every 2,000 steps: the closed pipe is found at the first after it closes.
        let run = try RunFaultTests.LiveRun(["--data", s.data.path, "--out", out, "--images-per-class", "1,2", "--steps", "20000"],
                                            command: "sweep")
        let first = run.line(from: run.output)
        #expect(first?.hasPrefix("Distilling 12 training images of 4x4 pixels") == true, "\(first ?? "nil")")
        let stderr = try Self.closeOutputAndWait(run)
        #expect(stderr.contains("Stopped (standard output closed) during 1 per class, after step ")
                && stderr.contains("continue it with: distill run --resume \(out)/ipc-1\n"), "\(stderr)")
        #expect(stderr.contains("No size is complete.\nNot run: 2 per class. A sweep does not resume;"), "\(stderr)")
        let checkpoint = try Checkpoint.read(from: out + "/ipc-1")
        #expect(checkpoint.state.step >= 1 && checkpoint.state.step < 20000)
        #expect(try RunFaultTests.metrics(out + "/ipc-1")["steps"] as? Int == checkpoint.state.step)
        #expect(!FileManager.default.fileExists(atPath: out + "/ipc-2") && !FileManager.default.fileExists(atPath: out + "/sweep.csv"))
        #expect(RunFaultTests.partialFiles(under: s.path).isEmpty)
        let next = checkpoint.state.step + 1
        let resumed = try runDistill(["--resume", out + "/ipc-1", "--stop-after-step", "\(next)", "--quiet"])
        #expect(resumed.status == 0 && resumed.stdout.contains("Ran \(next) of the 20000 steps in "), "\(resumed.stdout)\(resumed.stderr)")
    }

    /// `distill sweep --quiet | head -1` closed as a size finished (its ceiling's
    /// line and its own the last written): the sweep stops before the next size,
    /// which it used to begin and leave stopped after one step, with status 141
    /// and the account on standard error.
    @Test func aSweepWhoseOutputClosedAsASizeFinishedStopsBeforeTheNext() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/sweep"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(distillExecutable))
        process.arguments = ["sweep", "--data", s.data.path, "--out", out, "--images-per-class", "1,2", "--steps", "3", "--quiet"]
        // A pipe without a reader from the start: the first line (the ceiling's, after size 1's baselines) fails.
        let output = Pipe(), errors = Pipe()
        try output.fileHandleForReading.close()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 128 + SIGPIPE, "\(stderr)")
        #expect(stderr == """
            Stopped (standard output closed) before the run of 2 per class.
            Complete: 1 per class (\(out)/ipc-1).
            Not run: 2 per class. A sweep does not resume; for it, run the same command with --images-per-class 2 and another --out.
            sweep.csv, sweep.md and sweep.svg were not written.

            """, "\(stderr)")
        #expect(try RunFaultTests.metrics(out + "/ipc-1")["baselines"] != nil)
        #expect(!FileManager.default.fileExists(atPath: out + "/ipc-2") && !FileManager.default.fileExists(atPath: out + "/sweep.csv"))
    }
}
