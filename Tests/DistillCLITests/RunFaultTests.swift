import Distill
import DistillRun
import DistillIO
import Foundation
import Testing
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// Issue 11 ("No run lost, no output wrong"), through the real `distill`
/// executable on the small 4x4, 3-class dataset of `BadInputTests`.
@Suite struct RunFaultTests {
    /// A scratch folder with the small dataset in `data/`.
    struct Scratch {
        let scratch: ScratchFolder
        let data: DataFolder
        var path: String { scratch.path }

        init(_ name: String = #function) throws {
            scratch = try ScratchFolder(name)
            data = DataFolder(scratch: scratch.path)
            try data.writeSmallDataset()
        }
    }

    static func metrics(_ out: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json")))
        return try #require(object as? [String: Any])
    }

    static func partialFiles(under folder: String) -> [String] {
        (FileManager.default.enumerator(atPath: folder)?.compactMap { $0 as? String } ?? []).filter { $0.contains(".partial-") }
    }

    // MARK: 1. A loss past 9.2e18 does not trap

    @Test func aHugeL2LearningRateEndsWithAStatusNotATrap() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let result = try runDistill(["--data", s.data.path, "--out", s.path + "/out", "--steps", "20", "--l2-learning-rate", "100"])
        #expect(result.status == 0 || result.status == 1, "killed by a signal: \(result.stderr)")
        #expect(!result.stderr.contains("Fatal error"))
    }

    // MARK: 2. The last good state

    /// `--l2 1e-12`: the inner solve misses its tolerance from step 2 on, so the
    /// last good state is the starting one (certified by step 1's record).
    @Test func missedSolvesKeepTheLastCertifiedState() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let result = try runDistill(["--data", s.data.path, "--out", out, "--steps", "30", "--l2", "1e-12", "--quiet"])
        #expect(result.status == 1)
        // The warnings of each missed solve, then the error.
        let error = String(result.stderr.split(separator: "\n").last ?? "")
        #expect(error.hasPrefix("error: the inner solve or the linear solve missed its tolerance 5 steps in a row"))
        #expect((error + "\n").hasSuffix("The outputs and the checkpoint in \(out) are those of the last good state (step 0, the starting images): its loss, gradients and images were finite and its solves met their tolerances.\n"))
        #expect(try Self.metrics(out)["steps"] as? Int == 0)
        let checkpoint = try Checkpoint.read(from: out)
        #expect(checkpoint.state.step == 0)
        #expect(Self.partialFiles(under: s.path).isEmpty)
    }

    /// `--l2-learning-rate 1000`: the learned L2 leaves the positive normal numbers
    /// at step 1; the state kept has the starting L2, which eval accepts.
    @Test func anL2ThatLeavesItsBoundsIsADivergence() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let result = try runDistill(["--data", s.data.path, "--out", out, "--steps", "30", "--l2-learning-rate", "1000", "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: step 1 produced an L2 strength of inf, outside the positive normal numbers the inner problem needs; try a smaller --l2-learning-rate. The outputs and the checkpoint in \(out) are those of the last good state (step 0, the starting images): its loss, gradients and images were finite and its solves met their tolerances.\n")
        #expect(try Self.metrics(out)["learned_l2"] as? Double == 0.1)
        // The state kept is one eval accepts (an L2 of 0 was rejected there).
        let eval = try Self.distill(["eval", "--distilled", out, "--data", s.data.path])
        #expect(eval.status == 0, "\(eval.stderr)")
    }

    /// `--l2-learning-rate 10`: the learned L2 grows until the model gives every
    /// image the same scores (before, it settled at 7e15, 3.6e8 times the bound,
    /// with a train loss of log 3 and chance accuracy, and the run exited 0). Past
    /// `Distiller.largestUsableL2` it is a divergence: the last good state is kept.
    @Test func aLearnedL2BeyondTheDataScaleIsADivergence() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let result = try runDistill(["--data", s.data.path, "--out", out, "--steps", "20", "--l2-learning-rate", "10", "--quiet"])
        #expect(result.status == 1)
        let error = try #require(result.stderr.split(separator: "\n").last.map(String.init))
        let parts = try #require(try /^error: step (\d+) produced an L2 strength of (\S+), more than (\S+) \(the logistic inner problem's data scale (\S+) over Float32's precision 1.2e-7, the outer pass's\), at which the inner model gives every image the same scores; try a smaller --l2-learning-rate. The outputs and the checkpoint in (.+) are those of the last good state \(step (\d+)\): its loss/.firstMatch(in: error), "\(error)")
        let step = try #require(Int(parts.1)), l2 = try #require(Double(parts.2)), bound = try #require(Double(parts.3))
        let scale = try #require(Double(parts.4)), kept = try #require(Int(parts.6))
        #expect(l2 > bound && abs(bound / (scale / 1.1920929e-7) - 1) < 0.01)
        #expect(String(parts.5) == out && kept < step)
        let metrics = try Self.metrics(out)
        #expect(metrics["steps"] as? Int == kept)
        let keptL2 = try #require(metrics["learned_l2"] as? Double)
        #expect(keptL2 > 0 && keptL2 <= bound)
        #expect(try Checkpoint.read(from: out).state.step == kept)
    }

    /// A fixed `--l2` beyond the bound is refused before any work.
    @Test func anL2BeyondTheDataScaleIsRefusedBeforeTheRun() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let result = try runDistill(["--data", s.data.path, "--out", out, "--steps", "2", "--l2", "1e12", "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: --l2 1.00e+12: an L2 strength of 1.00e+12, more than "))
        #expect(result.stderr.hasSuffix(" at which the inner model gives every image the same scores (its hypergradient carries nothing about the data); use a smaller --l2\n"))
        #expect(!FileManager.default.fileExists(atPath: out))
        // Within it, the run goes.
        let fine = try runDistill(["--data", s.data.path, "--out", out, "--steps", "2", "--l2", "1e6", "--quiet"])
        #expect(fine.status == 0, "\(fine.stderr)")
        // The kernel models' bounds: 1 / ε for kernel-ridge (k(s, s) = 1), m / ε for
        // nngp and ntk (m = 3 images), ε = 2^-23.
        for (model, bound) in [("kernel-ridge", "8.39e+06"), ("nngp", "2.52e+07"), ("ntk", "2.52e+07")] {
            let refused = try runDistill(["--data", s.data.path, "--out", s.path + "/" + model, "--steps", "1", "--model", model,
                                          "--l2", "3e7", "--quiet"])
            #expect(refused.status == 1)
            #expect(refused.stderr.hasPrefix("error: --l2 3.00e+07: an L2 strength of 3.00e+07, more than \(bound) (the \(model) inner problem's data scale "), "\(refused.stderr)")
        }
    }

    /// Runs `distill arguments...` (any command).
    static func distill(_ arguments: [String]) throws -> DistillResult { try distillCommand(arguments) }

    // MARK: 3. Memory for the requested size

    @Test func aSizeThatDoesNotFitInMemoryIsRefusedNamingTheOption() throws {
        var configuration = DistillerConfiguration()
        configuration.model = "kernel-ridge"
        configuration.imagesPerClass = 5000
        // MNIST: 60,000 images of 784 pixels, 10 classes; m = 50,000 synthetic images.
        let estimate = ResourceEstimate(train: 60_000, features: 784, classes: 10, configuration: configuration)
        let m = 50_000.0, p = 784.0, n = 60_000.0, c = 10.0
        let synthetic: Double = 8 * m * p, model: Double = 8 * p * c + 2 * n * c, kernel: Double = 2 * n * m + 4 * m * m
        let doubles = synthetic + model + kernel
        #expect(estimate.bytes == 8 * doubles)
        #expect(throws: RunError.self) { try estimate.check(imagesPerClass: 5000, memory: 24 * 1_073_741_824) }
        do { try estimate.check(imagesPerClass: 5000, memory: 24 * 1_073_741_824) } catch {
            #expect(error.description == "--images-per-class 5000: the run would need about 121.6 GiB of memory, more than the 24.0 GiB of this machine; use a smaller --images-per-class")
        }
        #expect(estimate.announcement == "This run will hold about 121.6 GiB of memory beyond the dataset.")
        configuration.imagesPerClass = 1
        let small = ResourceEstimate(train: 60_000, features: 784, classes: 10, configuration: configuration)
        #expect(small.announcement == nil)
        try small.check(imagesPerClass: 1, memory: 24 * 1_073_741_824)
    }

    // MARK: 8. Written files hold what was computed

    @Test func floatIDXFilesWidenRatherThanOverflowOrFlushToZero() {
        #expect(RunOutputs.floatElements([0.5, -1e-3, 3e38]) == .float32([0.5, -1e-3, 3e38]))
        // Beyond Float's range: float64, not ±infinity.
        #expect(RunOutputs.floatElements([0.5, 1e39]) == .float64([0.5, 1e39]))
        #expect(RunOutputs.floatElements([-1e300]) == .float64([-1e300]))
        // Below Float's smallest subnormal: float64, not 0.
        #expect(RunOutputs.floatElements([1e-46, 1]) == .float64([1e-46, 1]))
        #expect(RunOutputs.floatElements([0, -0.0]) == .float32([0, -0.0]))
    }

    // MARK: 4. One run per folder

    /// A run stopped early can be continued, so its folder's refusal suggests
    /// --resume (which then continues it); without a checkpoint, nothing can be
    /// resumed and only --replace or another --out are suggested.
    @Test func aFolderHoldingAnUnfinishedRunSuggestsResumingIt() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let first = try runDistill(["--data", s.data.path, "--out", out, "--steps", "4", "--stop-after-step", "2", "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try runDistill(["--data", s.data.path, "--out", out, "--steps", "1", "--quiet"])
        #expect(second.status == 1)
        #expect(second.stderr == "error: \(out): the folder holds another run's outputs, stopped at step 2 of 4 (metrics.json, history.csv, distilled.png, distilled-images-idx3-float, distilled-labels-idx1-ubyte, distilled-labels-idx2-float, report.html, checkpoint); pass --replace to delete them and write this run's, continue that run with --resume \(out), or choose another --out\n")
        let resumed = try runDistill(["--resume", out, "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")

        try FileManager.default.removeItem(atPath: out + "/checkpoint")
        let third = try runDistill(["--data", s.data.path, "--out", out, "--steps", "1", "--quiet"])
        #expect(third.stderr == "error: \(out): the folder holds another run's outputs (metrics.json, history.csv, distilled.png, distilled-images-idx3-float, distilled-labels-idx1-ubyte, distilled-labels-idx2-float, report.html); pass --replace to delete them and write this run's, or choose another --out\n")
    }

    @Test func aFolderHoldingAnotherRunIsRefusedUnlessReplaced() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let first = try runDistill(["--data", s.data.path, "--out", out, "--steps", "2", "--snapshot-every", "1", "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let metrics = try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))
        let second = try runDistill(["--data", s.data.path, "--out", out, "--steps", "1", "--quiet"])
        #expect(second.status == 1)
        // The first run finished: --resume has nothing to continue, so it is not suggested.
        #expect(second.stderr == "error: \(out): the folder holds a finished run (2 of 2 steps; metrics.json, history.csv, distilled.png, distilled-images-idx3-float, distilled-labels-idx1-ubyte, distilled-labels-idx2-float, report.html, progress.png, snapshots, checkpoint); choose another --out for this run, or pass --replace to delete that run's files and write this one's (to run that one longer instead: distill run --resume \(out) --steps N, with N above 2)\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json")) == metrics)

        // --replace removes every file of the old run, progress.png and snapshots/ included.
        let third = try runDistill(["--data", s.data.path, "--out", out, "--steps", "1", "--quiet", "--replace"])
        #expect(third.status == 0, "\(third.stderr)")
        let left = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(left == [".distill-lock", "checkpoint", "distilled-images-idx3-float", "distilled-labels-idx1-ubyte",
                         "distilled-labels-idx2-float", "distilled.png", "history.csv", "metrics.json", "report.html"])
        #expect(try Self.metrics(out)["steps"] as? Int == 1)
    }

    @Test func aSecondRunIntoALockedFolderIsRefused() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // This process holds the folder's lock, as a running distill does.
        let fd = open(out + "/.distill-lock", O_RDWR | O_CREAT, 0o644)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        let result = try runDistill(["--data", s.data.path, "--out", out, "--steps", "1", "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: \(out): another distill run (process \(getpid())) is writing into this folder; wait for it to end or choose another --out\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out) == [".distill-lock"])
    }

    // MARK: 5 and 9. Interrupting; lines appear as the run goes

    /// A running `distill run` whose standard output and error are read as they come.
    final class LiveRun {
        let process = Process()
        let output = Pipe(), errors = Pipe()

        init(_ arguments: [String], command: String = "run") throws {
            let executable = try #require(distillExecutable)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = [command] + arguments
            process.standardOutput = output
            process.standardError = errors
            try process.run()
        }

        /// Reads `pipe` until a whole line has come; nil at the end of the stream.
        func line(from pipe: Pipe) -> String? {
            var bytes: [UInt8] = []
            var byte: UInt8 = 0
            let fd = pipe.fileHandleForReading.fileDescriptor
            while read(fd, &byte, 1) == 1 {
                if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
                bytes.append(byte)
            }
            return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
        }

        func finish() -> (status: Int32?, stdout: String, stderr: String) {
            let rest = output.fileHandleForReading.readDataToEndOfFile()
            let errorRest = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationReason == .exit ? process.terminationStatus : nil,
                    String(decoding: rest, as: UTF8.self), String(decoding: errorRest, as: UTF8.self))
        }
    }

    /// Printed to a pipe, the opening line arrives while the run is still going
    /// (standard output is line buffered), then the first signal is acknowledged
    /// at once on standard error and the run stops after its step with status 130,
    /// its outputs and a checkpoint.
    @Test func linesArriveAsTheRunGoesAndTheFirstSignalIsAcknowledged() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let run = try LiveRun(["--data", s.data.path, "--out", out, "--steps", "1000000", "--checkpoint-every", "0"])
        let first = run.line(from: run.output)
        #expect(first?.hasPrefix("Distilling 12 training images of 4x4 pixels, 3 classes") == true, "\(first ?? "nil")")
        #expect(run.process.isRunning, "the line came only when the process ended")
        kill(run.process.processIdentifier, SIGINT)
        // A million steps may be announced as long before step 1 (`DurationEstimate`).
        var acknowledgement = run.line(from: run.errors)
        if acknowledgement?.hasPrefix("Estimated time: the 1000000 steps of this run") == true { acknowledgement = run.line(from: run.errors) }
        #expect(acknowledgement == String(StopOnSignal.acknowledgement.dropLast()))
        let end = run.finish()
        #expect(end.status == 130, "\(end.stderr)")
        #expect(end.stdout.contains("Continue with: distill run --resume \(out)"))
        let checkpoint = try Checkpoint.read(from: out)
        #expect(checkpoint.state.step >= 1 && checkpoint.state.step < 1_000_000)
        // Why it stopped comes first; the summary does not claim the run is done.
        let interrupted = try #require(end.stdout.range(of: "Interrupted (SIGINT) after step \(checkpoint.state.step) of 1000000;"))
        let summary = try #require(end.stdout.range(of: "Ran \(checkpoint.state.step) of the 1000000 steps in "))
        #expect(interrupted.lowerBound < summary.lowerBound && !end.stdout.contains("Done: "), "\(end.stdout)")
        #expect(try Self.metrics(out)["steps"] as? Int == checkpoint.state.step)
        #expect(Self.partialFiles(under: s.path).isEmpty)
    }

    /// The closing summary and report.html list every name the run leaves in
    /// its folder, and only those: the checkpoint/ folder used to be missing.
    @Test(arguments: [[], ["--snapshot-every", "1"]])
    func theSummaryListsEveryFileWritten(extra: [String]) throws {
        let s = try Scratch("summary\(extra.count)")
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let result = try runDistill(["--data", s.data.path, "--out", out, "--steps", "2"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        let prefix = "  files in \(out)/  "
        let line = try #require(result.stdout.split(separator: "\n").map(String.init).first { $0.hasPrefix(prefix) })
        let listed = line.dropFirst(prefix.count).components(separatedBy: ", ")
        var present: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: out) where name != ".distill-lock" {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: out + "/" + name, isDirectory: &isFolder)
            present.append(isFolder.boolValue ? name + "/" : name)
        }
        #expect(listed.contains("checkpoint/"))
        #expect(listed.sorted() == present.sorted(), "listed \(listed), written \(present)")
        let report = try String(contentsOfFile: out + "/" + RunFiles.report, encoding: .utf8)
        for name in present { #expect(report.contains("<li><a href=\"\(name)\">"), "report.html does not list \(name)") }
    }

    /// A run stopped by --stop-after-step says so before its summary, which says
    /// how many of the steps ran instead of "Done"; a finished run says "Done".
    @Test func aRunStoppedEarlySaysSoBeforeItsSummary() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let stopped = try runDistill(["--data", s.data.path, "--out", out, "--steps", "10", "--stop-after-step", "3"])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let reason = try #require(stopped.stdout.range(of: "Stopped after step 3 of 10; the checkpoint is in "))
        let summary = try #require(stopped.stdout.range(of: "Ran 3 of the 10 steps in "))
        #expect(reason.lowerBound < summary.lowerBound && !stopped.stdout.contains("Done: "), "\(stopped.stdout)")
        #expect(stopped.stdout.contains("the run is not finished."))
        let resumed = try runDistill(["--resume", out])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("Done: ") && !resumed.stdout.contains("Ran ") && !resumed.stdout.contains("Stopped after"), "\(resumed.stdout)")
        // Its totals are every session's, and it says so, with this session's steps and time.
        let done = try #require(resumed.stdout.split(separator: "\n").first { $0.hasPrefix("Done: ") })
        #expect(done.range(of: #"^Done: 10 steps in [0-9.]+ [m\#u{00B5}]?s of distillation \(the steps alone, without test-accuracy checks or saving; median step [0-9.]+ [m\#u{00B5}]s\), every session's; this one ran steps 4 to 10 in [0-9.]+ [m\#u{00B5}]?s\.$"#,
                           options: .regularExpression) != nil, "\(done)")
        #expect(!stopped.stdout.contains("every session's"))
    }

    /// A signal during a sweep's first size stops the sweep after that size's
    /// step: status 130, no baselines, ceiling or later size, no summaries, and
    /// it says what was kept and how to go on.
    @Test func aSignalStopsASweepAfterTheCurrentSizesStep() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/sweep"
        let run = try LiveRun(["--data", s.data.path, "--out", out, "--images-per-class", "1,2", "--steps", "1000000"],
                              command: "sweep")
        let first = run.line(from: run.output)
        #expect(first?.hasPrefix("Distilling") == true, "\(first ?? "nil")")
        kill(run.process.processIdentifier, SIGINT)
        let end = run.finish()
        #expect(end.status == 130, "\(end.stdout)\(end.stderr)")
        let checkpoint = try Checkpoint.read(from: out + "/ipc-1")
        let step = checkpoint.state.step
        #expect(step >= 1 && step < 1_000_000)
        let lines = end.stdout.split(separator: "\n").map(String.init)
        #expect(lines.suffix(4) == [
            "Interrupted (SIGINT) during 1 per class, after step \(step) of 1000000; \(out)/ipc-1 keeps its outputs and checkpoint: continue it with: distill run --resume \(out)/ipc-1",
            "No size is complete.",
            "Not run: 2 per class. A sweep does not resume; for it, run the same command with --images-per-class 2 and another --out.",
            "sweep.csv, sweep.md and \(SweepReport.chartFileName) were not written.",
        ], "\(end.stdout)")
        #expect(!end.stdout.contains("Ceiling:"))
        #expect(!FileManager.default.fileExists(atPath: out + "/ipc-2") && !FileManager.default.fileExists(atPath: out + "/sweep.csv"))
        #expect(try Self.metrics(out + "/ipc-1")["baselines"] == nil)
        #expect(Self.partialFiles(under: s.path).isEmpty)
        // The suggested command continues it.
        let resumed = try runDistill(["--resume", out + "/ipc-1", "--stop-after-step", "\(step + 1)", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    /// Two signals in a row: the process ends with status 130, and the folder
    /// holds every file a stopped run leaves (report.html and progress.png
    /// included: they used to be missing), all of the last checkpoint's step,
    /// written for the first signal, and no half-written file, even though no
    /// periodic checkpoint was due. On 600 MNIST images with the NTK model at 30
    /// per class a step takes about half a second, so the second signal usually
    /// comes while a step is still running.
    @Test func aSecondSignalLeavesTheCompleteOutputsOfTheLastCheckpoint() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = try ResumeTests.dataset(in: scratch)
        let out = scratch.path + "/out", stopped = scratch.path + "/stopped"
        // A snapshot every step: none may be left of a step after the checkpoint's.
        let options = ["--data", data, "--model", "ntk", "--images-per-class", "30", "--snapshot-every", "1"]
        let run = try LiveRun(options + ["--out", out, "--steps", "1000000", "--checkpoint-every", "0"])
        _ = run.line(from: run.output)
        kill(run.process.processIdentifier, SIGINT)
        // Two signals sent back to back can reach the process as one: send the
        // second once the first is acknowledged (it may then reach another
        // thread while the first handler is still running).
        var acknowledged = false
        while let line = run.line(from: run.errors) {
            if line + "\n" == StopOnSignal.acknowledgement { acknowledged = true; break }
        }
        #expect(acknowledged)
        kill(run.process.processIdentifier, SIGINT)
        let end = run.finish()
        #expect(end.status == 130, "\(end.stderr)")
        // Either the second signal ended the run (and said how to continue), or
        // the step had already ended and the run stopped as for one signal.
        #expect(end.stderr.contains(StopOnSignal.secondAcknowledgement(folder: out))
                || end.stdout.contains("Continue with: distill run --resume \(out)"), "\(end.stdout)\(end.stderr)")
        #expect(Self.partialFiles(under: scratch.path).isEmpty)

        // Every file of a run stopped by --stop-after-step.
        let reference = try runDistill(options + ["--out", stopped, "--steps", "10", "--stop-after-step", "1", "--quiet"])
        #expect(reference.status == 0, "\(reference.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files == (try FileManager.default.contentsOfDirectory(atPath: stopped).sorted()))
        #expect(files == [".distill-lock", "checkpoint", "distilled-images-idx3-float", "distilled-labels-idx1-ubyte",
                          "distilled-labels-idx2-float", "distilled.png", "history.csv", "metrics.json", "progress.png",
                          "report.html", "snapshots"])

        // All of one step: the checkpoint's.
        let checkpoint = try Checkpoint.read(from: out)
        let step = checkpoint.state.step
        #expect(step < 1_000_000)
        #expect(try Self.metrics(out)["steps"] as? Int == step)
        let history = try String(contentsOfFile: out + "/" + RunFiles.history, encoding: .utf8)
        #expect(history.split(separator: "\n").count == step + 1)
        let report = try String(contentsOfFile: out + "/" + RunFiles.report, encoding: .utf8)
        #expect(report.contains("<tr><th>steps</th><td>\(step)</td></tr>"))
        #expect(FileManager.default.fileExists(atPath: out + "/snapshots/" + SnapshotWriter.fileName(step: step)))
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: out + "/snapshots").sorted()
        #expect(snapshots == (0...step).map { SnapshotWriter.fileName(step: $0) }, "checkpoint at step \(step)")
        let images = try IDX.read(contentsOf: out + "/" + RunFiles.images)
        #expect(images.elements == .float32(checkpoint.state.images.values.map { Float($0) }))

        // And it resumes.
        let resumed = try runDistill(["--resume", out, "--stop-after-step", "\(step + 1)", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.metrics(out)["steps"] as? Int == step + 1)
    }

    // MARK: 6. Resuming from elsewhere

    @Test func aMovedDatasetIsGivenAgainAndOptionsThatCannotChangeAreRefused() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        // Started with a relative --data from the scratch folder.
        let executable = try #require(distillExecutable)
        let start = Process()
        start.executableURL = URL(fileURLWithPath: executable)
        start.arguments = ["run", "--data", "data", "--out", "out", "--steps", "10", "--stop-after-step", "4", "--quiet"]
        start.currentDirectoryURL = URL(fileURLWithPath: s.path)
        start.standardOutput = FileHandle.nullDevice
        try start.run()
        start.waitUntilExit()
        #expect(start.terminationStatus == 0)
        let moved = s.path + "/moved"
        try FileManager.default.moveItem(atPath: s.data.path, toPath: moved)

        let lost = try runDistill(["--resume", out, "--quiet"])
        #expect(lost.status == 1)
        #expect(lost.stderr == "error: \(s.data.path): the dataset the checkpoint in \(out)/checkpoint was made with is not there any more; give its new place with --data (its files' SHA-256 are checked)\n")

        let changed = try runDistill(["--resume", out, "--data", moved, "--learning-rate", "0.5", "--quiet"])
        #expect(changed.status == 1)
        #expect(changed.stderr == "error: --learning-rate 0.5: a resumed run keeps the settings it was started with (--learning-rate 0.02); leave --learning-rate out, or start a new run into another --out\n")

        let tooFew = try runDistill(["--resume", out, "--data", moved, "--steps", "3", "--quiet"])
        #expect(tooFew.stderr == "error: --steps 3: a resumed run can only be extended, and this one was started with --steps 10 (its checkpoint is at step 4); give --steps 10 or more, or leave --steps out (--stop-after-step ends a session sooner)\n")

        let extended = try runDistill(["--resume", out, "--data", moved, "--steps", "12", "--quiet"])
        #expect(extended.status == 0, "\(extended.stderr)")
        #expect(try Self.metrics(out)["steps"] as? Int == 12)

        // Other bytes under the same names: refused by their checksums.
        try s.data.writeSmallDataset()
        try s.data.write(IDXArray(shape: [6], elements: .ubyte([1, 1, 2, 0, 1, 2])), to: "t10k-labels-idx1-ubyte")
        let other = try runDistill(["--resume", out, "--data", s.data.path, "--steps", "13", "--quiet"])
        #expect(other.status == 1)
        #expect(other.stderr.hasPrefix("error: \(s.data.path): the dataset files differ from the ones the checkpoint"))
    }

    /// Every file under `folder` (recursively) and its bytes.
    static func folderBytes(_ folder: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let names = try #require(FileManager.default.enumerator(atPath: folder)).compactMap { $0 as? String }
        for name in names {
            var isFolder: ObjCBool = false
            let path = folder + "/" + name
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
                files[name] = try Data(contentsOf: URL(fileURLWithPath: path))
            }
        }
        return files
    }

    /// `--steps` on resume only extends a run (fewer steps than it was started
    /// with would change the schedule of the steps already taken, and used to
    /// shorten the run silently), and a finished run is not resumed without more
    /// steps (it used to run no step and rewrite its outputs): both are refused
    /// with one sentence and leave the folder byte for byte as it was.
    @Test func stepsOnResumeOnlyExtendAndAFinishedRunIsLeftAlone() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        let out = s.path + "/out"
        let stopped = try runDistill(["--data", s.data.path, "--out", out, "--steps", "10", "--stop-after-step", "4", "--quiet"])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let before = try Self.folderBytes(out)
        #expect(before["metrics.json"] != nil && before["checkpoint/checkpoint.json"] != nil)
        for steps in ["3", "6", "9"] {
            let shorter = try runDistill(["--resume", out, "--steps", steps, "--quiet"])
            #expect(shorter.status == 1)
            #expect(shorter.stderr == "error: --steps \(steps): a resumed run can only be extended, and this one was started with --steps 10 (its checkpoint is at step 4); give --steps 10 or more, or leave --steps out (--stop-after-step ends a session sooner)\n")
        }
        #expect(try Self.folderBytes(out) == before)

        let finished = try runDistill(["--resume", out, "--quiet"])
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(try Self.metrics(out)["steps"] as? Int == 10)
        let done = try Self.folderBytes(out)
        let refusal = "error: \(out): the run in this folder finished (10 of 10 steps), so there is nothing to resume; to run it longer, give more steps: distill run --resume \(out) --steps N, with N above 10\n"
        for extra in [[], ["--steps", "10"], ["--stop-after-step", "12"], ["--threads", "1"]] {
            let again = try runDistill(["--resume", out, "--quiet"] + extra)
            #expect(again.status == 1, "\(extra)")
            #expect(again.stderr == refusal, "\(extra)")
        }
        let fewer = try runDistill(["--resume", out, "--steps", "5", "--quiet"])
        #expect(fewer.stderr == "error: --steps 5: a resumed run can only be extended, and this one was started with --steps 10 (its checkpoint is at step 10); give --steps 11 or more (it finished)\n")
        #expect(try Self.folderBytes(out) == done)

        // More steps extend it.
        let extended = try runDistill(["--resume", out, "--steps", "12", "--quiet"])
        #expect(extended.status == 0, "\(extended.stderr)")
        #expect(try Self.metrics(out)["steps"] as? Int == 12)
        #expect(try Checkpoint.read(from: out).state.step == 12)
    }

    // MARK: 7. Labels that are not 0..C-1

    /// The labels file of a run holds the dataset's own label values (issue 11
    /// point 7: "outputs and reports use the original values"), through a stop and
    /// a resume; eval reads them back as the same classes, and convert keeps them.
    @Test func labelValuesOneThreeSevenAreWrittenAndReadBack() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        try s.data.write(IDXArray(shape: [12], elements: .ubyte((0..<12).map { [1, 3, 7][$0 % 3] })), to: "train-labels-idx1-ubyte")
        try s.data.write(IDXArray(shape: [6], elements: .ubyte((0..<6).map { [1, 3, 7][$0 % 3] })), to: "t10k-labels-idx1-ubyte")
        let out = s.path + "/out"
        let stopped = try runDistill(["--data", s.data.path, "--out", out, "--steps", "3", "--images-per-class", "2",
                                      "--stop-after-step", "1", "--quiet"])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(try IDX.read(contentsOf: out + "/" + RunFiles.classLabels) == IDXArray(shape: [6], elements: .ubyte([1, 1, 3, 3, 7, 7])))
        let resumed = try runDistill(["--resume", out, "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try IDX.read(contentsOf: out + "/" + RunFiles.classLabels) == IDXArray(shape: [6], elements: .ubyte([1, 1, 3, 3, 7, 7])))
        let metrics = try Self.metrics(out)
        #expect(metrics["class_values"] as? [Int] == [1, 3, 7] && metrics["class_names"] as? [String] == ["1", "3", "7"])

        // eval maps the values back to the run's classes: the same readability as the run measured.
        let runCorrelation = try #require(((metrics["readability"] as? [String: Any])?["class_mean_correlation"] as? [String: Any])?["mean"] as? Double)
        try FileManager.default.removeItem(atPath: out + "/" + RunFiles.softLabels)
        let eval = try Self.distillOutput(["eval", "--distilled", out, "--data", s.data.path, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        #expect(report["labels"] as? String == RunFiles.classLabels)
        // (The file holds the images as float32, the run measured them as Double.)
        let evalCorrelation = try #require(((report["readability"] as? [String: Any])?["class_mean_correlation"] as? [String: Any])?["mean"] as? Double)
        #expect(abs(evalCorrelation - runCorrelation) < 1e-6)
        // A value the dataset does not have is refused, naming the values it has.
        try IDX.write(IDXArray(shape: [6], elements: .ubyte([1, 1, 2, 3, 7, 7])), to: out + "/" + RunFiles.classLabels)
        let stray = try Self.distill(["eval", "--distilled", out, "--data", s.data.path])
        #expect(stray.status == 1)
        #expect(stray.stderr == "error: \(out)/\(RunFiles.classLabels): label 2 is 2: expected one of the dataset's label values (1, 3, 7)\n")

        // convert keeps the values; a run on the converted folder writes them too.
        let converted = s.path + "/converted"
        let convert = try Self.distill(["convert", "--data", s.data.path, "--out", converted, "--quiet"])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(try IDX.read(contentsOf: converted + "/train-labels-idx1-ubyte") == IDX.read(contentsOf: s.data.file("train-labels-idx1-ubyte")))
        #expect(try IDX.read(contentsOf: converted + "/t10k-labels-idx1-ubyte") == IDX.read(contentsOf: s.data.file("t10k-labels-idx1-ubyte")))
        let again = try runDistill(["--data", converted, "--out", s.path + "/again", "--steps", "1", "--quiet"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try IDX.read(contentsOf: s.path + "/again/" + RunFiles.classLabels) == IDXArray(shape: [3], elements: .ubyte([1, 3, 7])))
    }

    /// Label values beyond a byte: the labels file widens to int32 rather than wrap.
    @Test func labelValuesBeyondAByteAreWrittenAsInt32() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        try s.data.write(IDXArray(shape: [12], elements: .int32((0..<12).map { [2, 300, 70_000][$0 % 3] })), to: "train-labels-idx1-ubyte")
        try s.data.write(IDXArray(shape: [6], elements: .int32((0..<6).map { [2, 300, 70_000][$0 % 3] })), to: "t10k-labels-idx1-ubyte")
        let out = s.path + "/out"
        let result = try runDistill(["--data", s.data.path, "--out", out, "--steps", "1", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try IDX.read(contentsOf: out + "/" + RunFiles.classLabels) == IDXArray(shape: [3], elements: .int32([2, 300, 70_000])))
        let eval = try Self.distill(["eval", "--distilled", out, "--data", s.data.path])
        #expect(eval.status == 0, "\(eval.stderr)")
    }

    /// Runs `distill arguments...`; returns its status, standard output and standard error.
    static func distillOutput(_ arguments: [String]) throws -> DistillResult { try distillCommand(arguments) }

    @Test func labelValuesOneThreeSevenAreTheClassesUnderEveryInit() throws {
        let s = try Scratch()
        defer { s.scratch.cleanUp() }
        try s.data.write(IDXArray(shape: [12], elements: .ubyte((0..<12).map { [1, 3, 7][$0 % 3] })), to: "train-labels-idx1-ubyte")
        try s.data.write(IDXArray(shape: [6], elements: .ubyte((0..<6).map { [1, 3, 7][$0 % 3] })), to: "t10k-labels-idx1-ubyte")
        for initialisation in ["noise", "mean", "real"] {
            let out = s.path + "/out-" + initialisation
            let result = try runDistill(["--data", s.data.path, "--out", out, "--steps", "2", "--init", initialisation, "--quiet"])
            #expect(result.status == 0, "\(initialisation): \(result.stderr)")
            #expect(try Self.metrics(out)["class_names"] as? [String] == ["1", "3", "7"])
            #expect(try Self.metrics(out)["classes"] as? Int == 3)
        }
    }
}
