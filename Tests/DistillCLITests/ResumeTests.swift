import DistillRun
import Foundation
import Testing
import DistillIO
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// Nothing lost, everything repeatable: checkpoints, resume, signals, reproducibility.
@Suite(.serialized) struct ResumeTests {
    /// A MNIST subset small enough for hundreds of steps in a second or two.
    static func dataset(in scratch: ScratchFolder) throws -> String {
        let data = scratch.path + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try RunEndToEndTests.writeSubset(to: data, train: 600, test: 200)
        return data
    }

    /// The files that must be bit-identical, and metrics.json without its timings.
    static func fingerprint(_ out: String) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for name in ["distilled-images-idx3-float", "distilled-labels-idx2-float", "distilled-labels-idx1-ubyte", "distilled.png"] {
            files[name] = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/" + name)))
        }
        var metrics = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json")))
        metrics.seconds = 0; metrics.secondsPerStep = 0; metrics.loadSeconds = 0; metrics.commandLine = ""
        metrics.resumedWith = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        files["metrics.json"] = [UInt8](try encoder.encode(metrics))
        // history.csv without its seconds column.
        let history = try String(contentsOfFile: out + "/history.csv", encoding: .utf8)
        files["history.csv"] = Array(history.split(separator: "\n").map { line in
            var fields = line.split(separator: ",", omittingEmptySubsequences: false)
            fields.remove(at: 6)
            return fields.joined(separator: ",")
        }.joined(separator: "\n").utf8)
        return files
    }

    @Test func theSameSeedGivesTheSameBytes() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = try Self.dataset(in: scratch)
        for name in ["a", "b"] {
            try DistillCommand.Run.parse(["--data", data, "--out", scratch.path + "/" + name, "--steps", "20", "--quiet"]).run()
        }
        #expect(try Self.fingerprint(scratch.path + "/a") == Self.fingerprint(scratch.path + "/b"))
        let other = scratch.path + "/c"
        try DistillCommand.Run.parse(["--data", data, "--out", other, "--steps", "20", "--seed", "1", "--init", "real", "--quiet"]).run()
        #expect(try Self.fingerprint(scratch.path + "/a")["distilled-images-idx3-float"] != Self.fingerprint(other)["distilled-images-idx3-float"])
    }

    @Test func aStoppedAndResumedRunEqualsOneNeverStopped() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = try Self.dataset(in: scratch)
        let straight = scratch.path + "/straight", split = scratch.path + "/split"
        let common = ["--data", data, "--steps", "30", "--checkpoint-every", "4", "--quiet"]
        try DistillCommand.Run.parse(common + ["--out", straight]).run()
        try DistillCommand.Run.parse(common + ["--out", split, "--stop-after-step", "13"]).run()
        let stopped = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: split + "/metrics.json")))
        #expect(stopped.steps == 13)
        // Resume takes the saved options (and their --steps when none is given).
        try DistillCommand.Run.parse(["--resume", split, "--quiet"]).run()
        #expect(try Self.fingerprint(straight) == Self.fingerprint(split))
    }

    /// metrics.json's command_line stays the command that started the run, read
    /// back from the checkpoint; the commands that resumed it are resumed_with,
    /// in order (absent before any resume).
    @Test func metricsNameTheStartingCommandAndTheResumes() throws {
        let s = try RunFaultTests.Scratch("resume-commands")
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        func metrics() throws -> [String: Any] { try RunFaultTests.metrics(out) }
        let started = try runDistill(["--data", s.data.path, "--out", out, "--steps", "6", "--stop-after-step", "2", "--quiet"])
        #expect(started.status == 0, "\(started.stderr)")
        let original = try #require(try metrics()["command_line"] as? String)
        // The program by its name, not the path it was started by (the build folder's).
        #expect(original == "distill run --data \(s.data.path) --out \(out) --steps 6 --stop-after-step 2 --quiet", "\(original)")
        #expect(try metrics()["resumed_with"] == nil)
        for (i, extra) in [["--stop-after-step", "4"], []].enumerated() {
            let resumed = try runDistill(["--resume", out, "--quiet"] + extra)
            #expect(resumed.status == 0, "\(resumed.stderr)")
            #expect(try metrics()["command_line"] as? String == original)
            let resumes = try #require(try metrics()["resumed_with"] as? [String])
            #expect(resumes.count == i + 1)
            #expect(resumes.first == "distill run --resume \(out) --quiet --stop-after-step 4", "\(resumes)")
            if i == 1 { #expect(resumes.last == "distill run --resume \(out) --quiet", "\(resumes)") }
        }
        #expect(try metrics()["steps"] as? Int == 6)
    }

    @Test func resumingWithAStopStepAlreadyReachedIsRefused() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = try Self.dataset(in: scratch)
        let out = scratch.path + "/out"
        try DistillCommand.Run.parse(["--data", data, "--out", out, "--steps", "10", "--stop-after-step", "4", "--quiet"]).run()
        let before = try Self.fingerprint(out)
        for stop in ["3", "4"] {
            #expect(throws: (any Error).self) {
                try DistillCommand.Run.parse(["--resume", out, "--stop-after-step", stop, "--quiet"]).run()
            }
        }
        #expect(try Self.fingerprint(out) == before)
        try DistillCommand.Run.parse(["--resume", out, "--stop-after-step", "6", "--quiet"]).run()
        let metrics = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json")))
        #expect(metrics.steps == 6)
    }

    @Test func resumingFromAFolderWithoutACheckpointFails() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let command = try DistillCommand.Run.parse(["--resume", scratch.path, "--quiet"])
        #expect(throws: (any Error).self) { try command.run() }
    }

    @Test func resumingOnChangedDataFails() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = try Self.dataset(in: scratch)
        let out = scratch.path + "/out"
        try DistillCommand.Run.parse(["--data", data, "--out", out, "--steps", "10", "--stop-after-step", "4", "--quiet"]).run()
        try RunEndToEndTests.writeSubset(to: data, train: 999, test: 300)
        #expect(throws: (any Error).self) { try DistillCommand.Run.parse(["--resume", out, "--quiet"]).run() }
    }

    /// SIGINT in the middle of a run: status 130, a checkpoint and outputs, a
    /// resume hint; resuming finishes with the same bytes as a run never stopped,
    /// for every inner model (their warm starts have different shapes).
    @Test(arguments: [(SIGINT, ["--model", "logistic"]), (SIGTERM, ["--model", "logistic"]),
                      (SIGINT, ["--model", "ridge"]), (SIGINT, ["--model", "kernel-ridge"]),
                      (SIGINT, ["--hypergradient", "unrolled", "--unroll-steps", "20"])])
    func aSignalSavesEverythingAndTheRunResumesExactly(signal sig: Int32, model: [String]) throws {
        let scratch = try ScratchFolder("signal\(sig)\(model.joined())")
        defer { scratch.cleanUp() }
        let data = try Self.dataset(in: scratch)
        let executable = try #require(distillExecutable)
        let out = scratch.path + "/interrupted", straight = scratch.path + "/straight"
        let common = ["--data", data, "--steps", "150", "--checkpoint-every", "10"] + model

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["run"] + common + ["--out", out]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until it is stepping (its first checkpoint, at step 10), then interrupt.
        let firstCheckpoint = Checkpoint.folder(in: out) + "/checkpoint.json"
        while !FileManager.default.fileExists(atPath: firstCheckpoint) && process.isRunning { usleep(2_000) }
        kill(process.processIdentifier, sig)
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 128 + sig)
        #expect(printed.contains("Continue with: distill run --resume \(out)"))
        let stopped = try JSONDecoder().decode(RunMetrics.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json")))
        #expect(stopped.steps > 0 && stopped.steps < 150, "interrupted at step \(stopped.steps)")

        try DistillCommand.Run.parse(["--resume", out, "--quiet"]).run()
        try DistillCommand.Run.parse(common + ["--out", straight, "--quiet"]).run()
        #expect(try Self.fingerprint(straight) == Self.fingerprint(out))
    }
}
