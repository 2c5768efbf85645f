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
        try run.output.fileHandleForReading.close()
        let errors = run.errors.fileHandleForReading.readDataToEndOfFile()
        run.process.waitUntilExit()
        let stderr = String(decoding: errors, as: UTF8.self)
        #expect(run.process.terminationReason == .exit, "killed by a signal: \(stderr)")
        #expect(run.process.terminationStatus == 128 + SIGPIPE, "\(stderr)")
        #expect(stderr.contains(StopOnSignal.closedOutputAcknowledgement), "\(stderr)")
        #expect(stderr.contains("Stopped (standard output closed) after step ") && stderr.contains("Continue with: distill run --resume \(out)"), "\(stderr)")
        let checkpoint = try Checkpoint.read(from: out)
        #expect(checkpoint.state.step >= 1 && checkpoint.state.step < Int(steps)!)
        #expect(try RunFaultTests.metrics(out)["steps"] as? Int == checkpoint.state.step)
        #expect(RunFaultTests.partialFiles(under: s.path).isEmpty)
    }
}
